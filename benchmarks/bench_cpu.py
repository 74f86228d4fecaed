"""The client's CPU per item: 10,000 terminations through the composer, ``auto_batch`` awaits and the job.

The portal is the emulator in a child process with limits off, so ``time.process_time()`` around the
client counts the client's work only (its parsing, encoding, asyncio and aiohttp), not the portal's.
Each way runs ``--runs`` times on fresh instances; the best run is shown (load only ever adds to it).

    python benchmarks/bench_cpu.py                       # 10,000 items, best of 3
    python benchmarks/bench_cpu.py --profile composer    # and the top of a cProfile of one run
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import pstats
import time
from collections.abc import Awaitable, Callable

from _harness import PortalProcess

from bitrix_bizproc import BizprocClient
from bitrix_bizproc.jobs import terminate_workflows


async def by_composer(client: BizprocClient, ids: list[str], template: str) -> int:
    async with client.batch() as batch:
        for wf in ids:
            batch.workflows.terminate(wf)
    return sum(not c.ok for c in batch.results)


async def by_awaits(client: BizprocClient, ids: list[str], template: str) -> int:
    outcomes = await asyncio.gather(*(client.workflows.terminate(wf) for wf in ids), return_exceptions=True)
    return sum(o is not True for o in outcomes)


async def by_job(client: BizprocClient, ids: list[str], template: str) -> int:
    report = await terminate_workflows(client, filter={"TEMPLATE_ID": template})
    return len(report.failures) + (report.matched != len(ids))


Way = Callable[[BizprocClient, list[str], str], Awaitable[int]]
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
    template = str(portal.template_id(name))
    do, auto_batch = WAYS[way]
    portal.plan(None)  # zeroes the counters
    gc.collect()
    async with BizprocClient.from_webhook(portal.webhook_url, limiter=None, auto_batch=auto_batch) as client:
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
    parser.add_argument("--only", choices=sorted(WAYS), action="append")
    parser.add_argument("--profile", choices=sorted(WAYS), help="print a cProfile of one more run")
    args = parser.parse_args()
    with PortalProcess() as portal:
        for way in args.only or list(WAYS):
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
