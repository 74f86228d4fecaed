"""The client's CPU per item: 10,000 terminations through the composer, ``auto_batch`` awaits and the job.

The portal is the emulator in a child process with limits off, so ``time.process_time()`` around the
client counts the client's work only (its parsing, encoding, asyncio and aiohttp), not the portal's.
``raw`` is the floor: the same batches sent with aiohttp and ``json`` alone; what a way spends above it
is ours. Each way runs ``--runs`` times on fresh instances; the best run is shown (load only adds to it).

    python benchmarks/bench_cpu.py                       # 10,000 items, best of 3
    python benchmarks/bench_cpu.py --profile composer    # and the top of a cProfile of one run
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import pstats
import time
from collections.abc import Awaitable, Callable

import aiohttp
from _harness import PortalProcess
from bench_side_by_side import by_awaits, by_composer, by_job  # the same ways, measured for CPU here

from bitrix_bizproc import BizprocClient


async def by_raw(url: str, ids: list[str]) -> int:
    """The floor: aiohttp and json alone, 50 commands a request, 64 requests in flight (as the composer)."""
    failed = 0
    lanes = asyncio.Semaphore(64)

    async def send(session: aiohttp.ClientSession, part: list[str]) -> None:
        nonlocal failed
        cmd = {f"c{n}": f"bizproc.workflow.terminate?ID={wf}" for n, wf in enumerate(part)}
        async with lanes, session.post(url + "batch", json={"halt": 0, "cmd": cmd}) as response:
            answer = json.loads(await response.read())
        failed += len(part) - sum(v is True for v in answer["result"]["result"].values())

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(send(session, ids[i : i + 50]) for i in range(0, len(ids), 50)))
    return failed


Way = Callable[[BizprocClient, list[str], int], Awaitable[int]]
WAYS: dict[str, tuple[Way, bool]] = {
    "composer": (by_composer, False),
    "auto_batch": (by_awaits, True),
    "job": (by_job, False),
}


async def one_run(
    portal: PortalProcess, way: str, n: int, run: int, profile: cProfile.Profile | None
) -> tuple[float, int]:
    """CPU seconds of the client for one run of ``way`` over ``n`` new instances, and its requests."""
    name = f"cpu-{way}-{run}"
    ids = portal.add_instances(n, template=name)
    template = portal.template_id(name)
    portal.plan(None)  # zeroes the counters
    gc.collect()
    if way == "raw":
        started = time.process_time()
        failed = await by_raw(portal.webhook_url, ids)
        seconds = time.process_time() - started
    else:
        do, auto_batch = WAYS[way]
        async with BizprocClient.from_webhook(
            portal.webhook_url, limiter=None, auto_batch=auto_batch
        ) as client:
            if profile is not None:
                profile.enable()
            started = time.process_time()
            failed = await do(client, ids, template)
            seconds = time.process_time() - started
            if profile is not None:
                profile.disable()
    if failed:
        raise SystemExit(f"{way}: {failed} of {n} failed")
    return seconds, portal.counters()["requests"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=sorted([*WAYS, "raw"]), action="append")
    parser.add_argument("--profile", choices=sorted(WAYS), help="print a cProfile of one more run")
    args = parser.parse_args()
    with PortalProcess() as portal:
        for way in args.only or [*WAYS, "raw"]:
            runs = [asyncio.run(one_run(portal, way, args.items, run, None)) for run in range(args.runs)]
            best, requests = min(runs)
            per_item = best / args.items * 1e6
            print(f"{way:<11} {per_item:6.1f} us CPU per item (best of {args.runs}; {requests} requests)")
        if args.profile:
            profile = cProfile.Profile()
            asyncio.run(one_run(portal, args.profile, args.items, args.runs, profile))
            pstats.Stats(profile).sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    main()
