"""Walk 100,000 rows by each paging strategy on the emulated portal, side by side in one run.

The portal's bucket is the standard shape sped up 50x (burst 50, drain 100/s) on both sides, and every
answer is delayed by a latency model (``--base`` seconds plus ``--per-command`` per command run). For each
strategy it prints rows/s, requests, the portal's rejections, the ideal time given the bucket and the
latency (efficiency = ideal / measured), and the walk's peak traced memory at a tenth of the rows and at
all of them (flat = it does not grow with the rows).

    .venv/bin/python benchmarks/bench_paging.py            # 100,000 rows
    .venv/bin/python benchmarks/bench_paging.py --quick    # 10,000 rows
"""

from __future__ import annotations

import argparse
import asyncio
import math
import time
import tracemalloc
from typing import Any

import attrs

from bitrix_bizproc import BizprocClient, BucketSpec
from bitrix_bizproc.emulator import EmulatedPortal, Plan, PortalConfig

INSTANCES = "bizproc.workflow.instances"
TASKS = "bizproc.task.list"
RATE, BURST = 100.0, 50
JITTER = 1.5 / 50  # the client's default jitter allowance, sped up like the bucket
MAX_BUFFERED_PAGES = 200  # the Paginator default: 4 batches of 50 pages ahead
DEAL = ("crm", "CCrmDocumentDeal", "DEAL")
# Keyset does not apply to workflow instances (string IDs, no start=-1); tasks show it.
WALKS = [(INSTANCES, "sequential"), (INSTANCES, "parallel"), (TASKS, "parallel"), (TASKS, "keyset")]


@attrs.frozen
class Run:
    """One timed walk."""

    rows: int
    seconds: float
    requests: int
    commands: int
    rejections: int
    peak_mb: float | None  # when memory was traced during the timed walk


def seed(portal: EmulatedPortal, rows: int) -> None:
    """``rows`` running instances, each with one open task."""
    state = portal.state
    template = state.add_template("bench", DEAL)
    for workflow in state.add_instances(rows, template_id=template.id):
        state.add_task(workflow, 1, {"activity": "ApproveActivity"})


async def walk(client: BizprocClient, method: str, strategy: str, limit: int | None, check: bool) -> int:
    """Walk the list; count (and with ``check``, verify unique) rows."""
    seen: set[Any] = set()
    count = 0
    async for row in client.paginate(method, {"select": ["ID"]}, strategy=strategy, limit=limit):
        count += 1
        if check:
            seen.add(row["ID"])
    if check and len(seen) != count:
        raise AssertionError(f"{method}/{strategy}: {count - len(seen)} rows yielded twice")
    return count


async def timed(
    portal: EmulatedPortal, client: BizprocClient, method: str, strategy: str, rows: int, *, trace: bool
) -> Run:
    """One walk over every row, timed, with the portal's counters (and traced memory with ``trace``)."""
    portal.reset_limits()
    await asyncio.sleep(BURST / RATE)  # let the client's own bucket drain too
    portal.counters.reset()
    if trace:
        tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        started = time.perf_counter()
        count = await walk(client, method, strategy, None, check=not trace)
        seconds = time.perf_counter() - started
        peak = (tracemalloc.get_traced_memory()[1] - base) / 1e6 if trace else None
    finally:
        tracemalloc.stop()
    if count != rows:
        raise AssertionError(f"{method}/{strategy}: walked {count} of {rows} rows")
    c = portal.counters
    return Run(count, seconds, c.requests, c.commands, sum(c.rejections.values()), peak)


async def peak_mb(
    portal: EmulatedPortal, client: BizprocClient, method: str, strategy: str, rows: int
) -> float:
    """Peak traced memory of a walk of ``rows`` rows (the portal's own answers included), MB."""
    portal.reset_limits()
    await asyncio.sleep(BURST / RATE)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        await walk(client, method, strategy, rows, check=False)
        return (tracemalloc.get_traced_memory()[1] - base) / 1e6
    finally:
        tracemalloc.stop()


def ideal_seconds(strategy: str, run: Run, base: float, per_command: float) -> float:
    """The least time the bucket and the latency allow for this walk's requests and commands."""
    bucket = max(0, run.requests - BURST) / RATE
    if strategy == "parallel":  # the first page, then rounds of batches, as many in flight as buffered
        batches = run.requests - 1
        ahead = MAX_BUFFERED_PAGES // 50
        per_batch = (run.commands - 1) / max(1, batches)
        latency = base + per_command + math.ceil(batches / ahead) * (base + per_command * per_batch)
    else:  # each request waits for the one before
        latency = run.requests * base + run.commands * per_command
    return max(bucket, latency)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="10,000 rows instead of 100,000")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--base", type=float, default=0.050, help="latency per request, seconds")
    parser.add_argument("--per-command", type=float, default=0.002, help="latency per command, seconds")
    args = parser.parse_args()
    rows = args.rows or (10_000 if args.quick else 100_000)

    config = PortalConfig(plan=Plan.custom(rate=RATE, burst=BURST))
    async with EmulatedPortal(config) as portal:
        started = time.perf_counter()
        seed(portal, rows)
        print(f"seeded {rows:,} instances and tasks in {time.perf_counter() - started:.1f} s")
        portal.faults.set_latency(base=args.base, per_command=args.per_command)
        spec = BucketSpec(rate=RATE, burst=BURST, jitter_allowance=JITTER)
        async with BizprocClient.from_webhook(portal.webhook_url, limiter=spec) as client:
            for method in (INSTANCES, TASKS):  # build the portal's sorted views before timing
                await client.call(method, {"select": ["ID"], "order": {"ID": "ASC"}, "start": 0})
            print(
                f"bucket: burst {BURST}, drain {RATE:.0f}/s (standard x50); latency {args.base * 1000:.0f} ms"
                f" + {args.per_command * 1000:.0f} ms/cmd; peak MB traced at {rows // 10:,} / {rows:,} rows"
            )
            header = (
                f"{'method':<28}{'strategy':<12}{'rows/s':>10}{'seconds':>9}{'requests':>9}{'rejected':>9}"
                f"{'ideal s':>9}{'effic.':>8}{'MB@10%':>8}{'MB@100%':>9}"
            )
            print(header)
            print("-" * len(header))
            for method, strategy in WALKS:
                # A sequential walk waits on latency: memory is traced during the timed walk itself.
                trace = strategy == "sequential"
                await walk(client, method, strategy, 120, check=False)  # imports and connections warm
                run = await timed(portal, client, method, strategy, rows, trace=trace)
                small = await peak_mb(portal, client, method, strategy, rows // 10)
                full = (
                    run.peak_mb
                    if run.peak_mb is not None
                    else await peak_mb(portal, client, method, strategy, rows)
                )
                ideal = ideal_seconds(strategy, run, args.base, args.per_command)
                print(
                    f"{method:<28}{strategy:<12}{run.rows / run.seconds:>10,.0f}{run.seconds:>9.2f}"
                    f"{run.requests:>9}{run.rejections:>9}{ideal:>9.2f}{ideal / run.seconds:>8.2f}"
                    f"{small:>8.1f}{full:>9.1f}",
                    flush=True,
                )


if __name__ == "__main__":
    asyncio.run(main())
