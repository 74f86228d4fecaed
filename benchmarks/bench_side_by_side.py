"""This client, fast_bitrix24 and a raw aiohttp floor, side by side in one run against one portal.

The portal is the emulator in a child process (an independent server with its own core), with a bucket of
burst 50 draining 100/s (the standard plan sped up 50x) and a latency added to every answer. Each case runs
``--runs`` times (3); the table shows medians and ratios measured in the same run:

- walk 100,000 instances at 0.2 s and at 0.05 s latency: seconds, ratio to the raw floor, peak memory
  (``tracemalloc``, a separate traced walk: the portal's memory is not in it);
- terminate 10,000 instances through the job, the batch composer and ``auto_batch`` awaits: efficiency =
  ideal / measured, the ideal being the bucket's floor for 200 batches of 50 ((200 - 50) / 100 = 1.5 s);
  the portal's rejections; fast_bitrix24's ``call`` for contrast;
- 1,000 concurrent awaited calls: requests and rejections the portal counted;
- 10,000 sequential calls, limits off: wall time as a ratio to raw aiohttp + json (interleaved rounds).

The raw floor knows the bucket and the list in advance: it reads the first page, then sends every other
page in batches of 50 at once (the burst allows it) and counts the rows as answers arrive.

    python benchmarks/bench_side_by_side.py            # the issue's sizes, 3 runs
    python benchmarks/bench_side_by_side.py --quick    # 10x smaller, 1 run

fast_bitrix24 is optional (``pip install '.[bench]'``); without it its column says "n/a".
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import time
import tracemalloc
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import attrs
from _harness import PortalProcess, gated_gather

from bitrix_bizproc import BizprocClient, BucketSpec
from bitrix_bizproc.jobs import Progress, terminate_workflows

try:  # benchmark-only, optional
    from fast_bitrix24 import BitrixAsync
except ImportError:  # pragma: no cover
    BitrixAsync = None

RATE, BURST = 100.0, 50
SPEC = BucketSpec(rate=RATE, burst=BURST, jitter_allowance=1.5 / 50)  # the default allowance, sped up too
INSTANCES = "bizproc.workflow.instances"
TERMINATE = "bizproc.workflow.terminate"
PAGE = 50


@attrs.frozen
class Sample:
    """One timed run of one side of one case."""

    seconds: float
    requests: int = 0
    rejections: int = 0
    failed: int = 0
    mb: float | None = None
    listing: float | None = None  # the job's listing phase, s (it must end before the first termination)


def median(samples: list[Sample], field: str) -> float:
    values = [getattr(s, field) for s in samples if getattr(s, field) is not None]
    return statistics.median(values) if values else float("nan")


# -- sides of the walk ----------------------------------------------------------------------------
async def _post(http: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> Any:
    async with http.post(url, data=json.dumps(body), headers={"Content-Type": "application/json"}) as r:
        data = json.loads(await r.read())
    if "error" in data:
        raise RuntimeError(data["error"])
    return data


async def raw_walk(url: str) -> int:
    """The floor: first page, then every other page in batches of 50, all sent at once."""
    async with aiohttp.ClientSession() as http:
        first = await _post(http, url + INSTANCES, {"start": 0, "order": {"ID": "ASC"}})
        rows, total = len(first["result"]), int(first["total"])
        starts = list(range(PAGE, total, PAGE))
        batches = [starts[i : i + 50] for i in range(0, len(starts), 50)]

        async def batch(chunk: list[int]) -> int:
            cmd = {
                f"s{s}": INSTANCES + "?" + urllib.parse.urlencode({"start": s, "order[ID]": "ASC"})
                for s in chunk
            }
            data = await _post(http, url + "batch", {"halt": 0, "cmd": cmd})
            return sum(len(page) for page in data["result"]["result"].values())

        for done in asyncio.as_completed([batch(c) for c in batches]):
            rows += await done
    return rows


async def our_walk(url: str, **options: Any) -> int:
    async with BizprocClient.from_webhook(url, limiter=SPEC) as client:
        count = 0
        async for _row in client.paginate(INSTANCES, {}, **options):
            count += 1
        return count


async def our_walk_200(url: str) -> int:
    """A read-ahead of 200 pages: 4 batches in flight, the fixed window before the adaptive one."""
    return await our_walk(url, max_buffered_pages=200)


async def fast_walk(url: str) -> int:
    bx = BitrixAsync(url, verbose=False, request_pool_size=BURST, requests_per_second=RATE)
    return len(await bx.get_all(INSTANCES))


WALKERS: dict[str, Callable[[str], Awaitable[int]]] = {
    "raw": raw_walk,
    "ours": our_walk,
    "ours, 200 pages ahead": our_walk_200,
    "fast_bitrix24": fast_walk,
}


async def timed_walk(portal: PortalProcess, side: str, rows: int) -> Sample:
    """One timed walk of every instance."""
    portal.plan(RATE, BURST)
    gc.collect()
    started = time.perf_counter()
    count = await WALKERS[side](portal.webhook_url)
    seconds = time.perf_counter() - started
    if count != rows:
        raise AssertionError(f"{side} walked {count} of {rows} rows")
    c = portal.counters()
    return Sample(seconds, c["requests"], sum(c["rejections"].values()))


async def traced_walk(portal: PortalProcess, side: str) -> float:
    """The peak memory (MB, traced) of one walk."""
    portal.plan(RATE, BURST)
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        await WALKERS[side](portal.webhook_url)
        return (tracemalloc.get_traced_memory()[1] - base) / 1e6
    finally:
        tracemalloc.stop()


async def walk_case(
    portal: PortalProcess, sides: list[str], rows: int, latency: float, runs: int
) -> dict[str, list[Sample]]:
    """``runs`` rounds of every side in turn (the order rotating), then one traced walk each for memory."""
    portal.latency(latency)
    out: dict[str, list[Sample]] = {side: [] for side in sides}
    for run in range(runs):
        for side in sides[run % len(sides) :] + sides[: run % len(sides)]:
            out[side].append(await timed_walk(portal, side, rows))
    for side in sides:
        out[side][0] = attrs.evolve(out[side][0], mb=await traced_walk(portal, side))
    portal.latency(0.0)
    return out


# -- termination --------------------------------------------------------------------------------
JOB_LISTINGS: list[float] = []  # each job run's listing seconds, taken by ``terminate_case``


async def by_job(client: BizprocClient, ids: list[str], template_id: int) -> int:
    started = time.perf_counter()
    listed: list[float] = []

    def progress(p: Progress) -> None:
        if p.phase != "listing" and not listed:
            listed.append(time.perf_counter() - started)

    report = await terminate_workflows(client, filter={"TEMPLATE_ID": template_id}, progress=progress)
    JOB_LISTINGS.extend(listed[:1])
    return len(report.failures) + (report.matched != len(ids))


async def by_composer(client: BizprocClient, ids: list[str], template_id: int) -> int:
    async with client.batch() as batch:
        for wf in ids:
            batch.workflows.terminate(wf)
    return sum(not c.ok for c in batch.results)


async def by_awaits(client: BizprocClient, ids: list[str], template_id: int) -> int:
    outcomes = await asyncio.gather(*(client.workflows.terminate(wf) for wf in ids), return_exceptions=True)
    return sum(o is not True for o in outcomes)


Way = Callable[[BizprocClient, list[str], int], Awaitable[int]]
WAYS: dict[str, tuple[Way, bool]] = {
    "job": (by_job, False),
    "composer": (by_composer, False),
    "auto_batch awaits": (by_awaits, True),
}


async def fast_terminate(url: str, ids: list[str], concurrent: bool) -> int:
    """fast_bitrix24: one ``call`` with every ID (it batches), or every call awaited at once."""
    bx = BitrixAsync(url, verbose=False, request_pool_size=BURST, requests_per_second=RATE)
    try:
        if concurrent:
            outcomes = await asyncio.gather(
                *(bx.call(TERMINATE, {"ID": wf}) for wf in ids), return_exceptions=True
            )
            return sum(isinstance(o, BaseException) for o in outcomes)
        await bx.call(TERMINATE, [{"ID": wf} for wf in ids])
        return 0
    except Exception:  # it aborts the whole call on an error
        return -1


async def terminate_case(
    portal: PortalProcess, side: str, n: int, runs: int, *, concurrent: bool = False
) -> list[Sample]:
    samples: list[Sample] = []
    for run in range(runs):
        name = f"{side}-{n}-{run}-{concurrent}"
        ids = portal.add_instances(n, template=name)
        template_id = portal.template_id(name)
        portal.plan(RATE, BURST)
        gc.collect()
        started = time.perf_counter()
        if side == "fast_bitrix24":
            failed = await fast_terminate(portal.webhook_url, ids, concurrent)
        else:
            way, auto_batch = WAYS[side]
            async with BizprocClient.from_webhook(
                portal.webhook_url, limiter=SPEC, auto_batch=auto_batch
            ) as client:
                failed = await way(client, ids, template_id)
        seconds = time.perf_counter() - started
        c = portal.counters()
        listing = JOB_LISTINGS.pop() if side == "job" and JOB_LISTINGS else None
        samples.append(Sample(seconds, c["requests"], sum(c["rejections"].values()), failed, listing=listing))
    return samples


async def _asyncio_start_once(n: int) -> float:
    loop = asyncio.get_running_loop()
    first: asyncio.Future[float] = loop.create_future()
    gc.collect()
    started = time.perf_counter()
    gate, gathered = gated_gather(n)
    loop.call_soon(lambda: first.set_result(time.perf_counter() - started))
    seconds = await first
    gate.set_result(None)
    await gathered
    return seconds


async def asyncio_start(n: int, runs: int) -> float:
    """Seconds asyncio alone takes to start ``n`` gathered coroutines (median of ``runs``).

    No awaits-based path can send its first request sooner: every awaited call runs its first step before
    the event loop gets back to anything scheduled after the ``gather``.
    """
    return statistics.median([await _asyncio_start_once(n) for _ in range(runs)])


# -- sequential calls, limits off ---------------------------------------------------------------
METHOD, PARAMS = "user.get", {"FILTER": {"ID": 1}}


async def sequential_case(portal: PortalProcess, n: int, runs: int) -> dict[str, list[Sample]]:
    """Every side in interleaved rounds of ``n // 10`` calls; one sample per side per run."""
    portal.plan(None)
    url = portal.webhook_url
    out: dict[str, list[Sample]] = {}
    async with aiohttp.ClientSession() as http, BizprocClient.from_webhook(url, limiter="off") as client:
        bx = (
            # respect_velocity_policy=False fails on any answer with time.operating (KeyError in 1.8.14):
            # limits "off" is a pool and a rate too large to matter.
            BitrixAsync(url, verbose=False, request_pool_size=10**6, requests_per_second=1e6, client=http)
            if BitrixAsync
            else None
        )

        async def raw() -> object:
            return (await _post(http, url + METHOD, PARAMS))["result"]

        async def ours_call() -> object:
            return (await client.call(METHOD, PARAMS)).result

        async def ours_typed() -> object:
            return await client.users.get(1)

        async def fast() -> object:
            assert bx is not None
            return await bx.call(METHOD, PARAMS)

        sides: dict[str, Callable[[], Awaitable[object]]] = {
            "raw": raw,
            "ours call": ours_call,
            "ours typed": ours_typed,
        }
        if bx is not None:
            sides["fast_bitrix24"] = fast
        for one in sides.values():  # warm up
            for _ in range(100):
                await one()
        rounds = 10
        for _ in range(runs):
            totals = dict.fromkeys(sides, 0.0)
            for r in range(rounds):
                order = list(sides) if r % 2 == 0 else list(reversed(sides))
                for name in order:
                    gc.collect()
                    started = time.perf_counter()
                    for _ in range(n // rounds):
                        await sides[name]()
                    totals[name] += time.perf_counter() - started
            for name, seconds in totals.items():
                out.setdefault(name, []).append(Sample(seconds))
    return out


# -- the table ----------------------------------------------------------------------------------
def walk_rows(results: dict[str, list[Sample]], rows: int, latency: float) -> list[str]:
    floor = median(results["raw"], "seconds")
    lines = []
    for side, samples in results.items():
        s = median(samples, "seconds")
        mb = samples[0].mb
        lines.append(
            f"walk {rows:,} @ {latency * 1000:.0f} ms | {side:<21} | {s:6.2f} s | {s / floor:5.2f}x raw | "
            f"{mb:6.1f} MB | {median(samples, 'requests'):5.0f} req | "
            f"{median(samples, 'rejections'):4.0f} rej"
        )
    return lines


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="10x smaller, 1 run")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--latency", type=float, default=0.0, help="latency of the non-walk cases, s")
    parser.add_argument("--only", default="walk,terminate,concurrent,sequential")
    args = parser.parse_args()
    runs = args.runs or (1 if args.quick else 3)
    rows, n_term, n_conc, n_seq = (
        (10_000, 5_000, 1_000, 1_000) if args.quick else (100_000, 10_000, 1_000, 10_000)
    )
    only = set(args.only.split(","))
    sides = ["raw", "ours", "ours, 200 pages ahead"] + (["fast_bitrix24"] if BitrixAsync else [])
    lines: list[str] = []
    with PortalProcess() as portal:
        if "walk" in only:
            portal.add_instances(rows, template="walk")
            for latency in (0.2, 0.05):
                results = await walk_case(portal, sides, rows, latency, runs)
                lines += walk_rows(results, rows, latency)
                print("\n".join(lines[-len(sides) :]), flush=True)
            # the walked instances stay: later cases filter by their own template
        portal.latency(args.latency)
        if "terminate" in only:
            ideal = max(n_term / 50 - BURST, 0) / RATE
            for side in [*WAYS, *(["fast_bitrix24"] if BitrixAsync else [])]:
                samples = await terminate_case(portal, side, n_term, runs)
                s = median(samples, "seconds")
                lines.append(
                    f"terminate {n_term:,} | {side:<18} | {s:6.2f} s | efficiency {ideal / s:5.3f} | "
                    f"{median(samples, 'requests'):5.0f} req | {median(samples, 'rejections'):4.0f} rej | "
                    f"{median(samples, 'failed'):5.0f} failed"
                )
                print(lines[-1], flush=True)
                if side == "job":  # its own floor: no termination may leave before the listing is complete
                    listing = median(samples, "listing")
                    lines.append(
                        f"terminate {n_term:,} | job: listing {listing:.2f} s, then the bucket's "
                        f"{ideal:.2f} s: efficiency against that floor {(listing + ideal) / s:5.3f}"
                    )
                    print(lines[-1], flush=True)
            start = await asyncio_start(n_term, runs)
            lines.append(
                f"terminate {n_term:,} | asyncio alone starts {n_term:,} gathered coroutines in "
                f"{start * 1000:.0f} ms: awaits reach at most efficiency {ideal / (ideal + start):5.3f}"
            )
            print(lines[-1], flush=True)
        if "concurrent" in only:
            for side in ["auto_batch awaits", *(["fast_bitrix24"] if BitrixAsync else [])]:
                samples = await terminate_case(portal, side, n_conc, runs, concurrent=True)
                lines.append(
                    f"{n_conc:,} concurrent awaits | {side:<18} | {median(samples, 'seconds'):6.2f} s | "
                    f"{median(samples, 'requests'):5.0f} req | {median(samples, 'rejections'):4.0f} rej | "
                    f"{median(samples, 'failed'):5.0f} failed"
                )
                print(lines[-1], flush=True)
        if "sequential" in only:
            seq = await sequential_case(portal, n_seq, runs)
            raw = median(seq["raw"], "seconds")
            for side, samples in seq.items():
                s = median(samples, "seconds")
                lines.append(
                    f"{n_seq:,} sequential calls, limits off | {side:<14} | {s:6.2f} s | {s / raw:5.2f}x raw"
                )
                print(lines[-1], flush=True)
    print(f"\nbucket burst {BURST}, drain {RATE:.0f}/s; {runs} run(s), medians")
    print("\n".join(lines))


if __name__ == "__main__":
    asyncio.run(main())
