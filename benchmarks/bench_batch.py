"""Terminate workflow instances three ways on the emulated portal, side by side in one run.

The bucket is the standard shape sped up 50x (burst 50, drain 100/s) on both sides. The ways:

1. the composer: ``async with client.batch() as b:`` one ``b.workflows.terminate`` per instance;
2. coalescing: every instance's ``await client.workflows.terminate(id)`` at once, ``auto_batch=True``;
3. the baseline: the same concurrent awaited calls without batching (a tenth of the instances).

For each it prints instances/s, requests, the portal's rejections, the ideal time
``(requests - burst) / drain`` (floored at 0) and efficiency = ideal / measured (targets for 1 and 2:
>= 0.95 and no rejections).

    .venv/bin/python benchmarks/bench_batch.py            # 10,000 instances (1,000 for the baseline)
    .venv/bin/python benchmarks/bench_batch.py --quick    # 2,000 (200)
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable

import attrs

from bitrix_bizproc._client import BizprocClient
from bitrix_bizproc.emulator import EmulatedPortal, Plan, PortalConfig
from bitrix_bizproc.protocol.limits import BucketSpec

RATE, BURST = 100.0, 50
DEAL = ("crm", "CCrmDocumentDeal", "DEAL")


@attrs.frozen
class Run:
    """One timed way of terminating instances."""

    name: str
    instances: int
    seconds: float
    requests: int
    rejections: int
    failed: int

    @property
    def ideal(self) -> float:
        """The bucket's floor: what is over the burst drains at RATE."""
        return max(self.requests - BURST, 0) / RATE

    @property
    def efficiency(self) -> float:
        """Ideal time over measured time (1.0 = the bucket was the only limit)."""
        return self.ideal / self.seconds if self.ideal else 1.0


async def by_composer(client: BizprocClient, ids: list[str]) -> int:
    """One composer for everything; returns the number of failed commands."""
    async with client.batch() as batch:
        for wf in ids:
            batch.workflows.terminate(wf)
    return sum(not c.ok for c in batch.results)


async def by_awaiting(client: BizprocClient, ids: list[str]) -> int:
    """Every call awaited concurrently; returns the number of failed calls."""
    outcomes = await asyncio.gather(*(client.workflows.terminate(wf) for wf in ids), return_exceptions=True)
    return sum(o is not True for o in outcomes)


Way = Callable[[BizprocClient, list[str]], Awaitable[int]]


async def measure(portal: EmulatedPortal, name: str, n: int, way: Way, *, auto_batch: bool) -> Run:
    """Seed ``n`` instances, empty the portal's bucket, and time ``way`` on a fresh client."""
    ids = [w.id for w in portal.state.add_instances(n)]
    portal.reset_limits()
    portal.counters.reset()
    client = BizprocClient.from_webhook(
        portal.webhook_url, limiter=BucketSpec(rate=RATE, burst=BURST), auto_batch=auto_batch
    )
    async with client:
        started = time.perf_counter()
        failed = await way(client, ids)
        seconds = time.perf_counter() - started
    counters = portal.counters
    return Run(name, n, seconds, counters.requests, sum(counters.rejections.values()), failed)


def report(runs: list[Run]) -> None:
    """Print the side-by-side table."""
    print(f"bucket: burst {BURST}, drain {RATE:.0f}/s (the standard plan sped up 50x) on both sides")
    header = f"{'way':<34}{'instances':>10}{'seconds':>9}{'inst/s':>9}{'requests':>9}"
    print(header + f"{'rejected':>9}{'failed':>7}{'ideal s':>9}{'efficiency':>11}")
    for r in runs:
        print(
            f"{r.name:<34}{r.instances:>10,}{r.seconds:>9.2f}{r.instances / r.seconds:>9,.0f}{r.requests:>9}"
            f"{r.rejections:>9}{r.failed:>7}{r.ideal:>9.2f}{r.efficiency:>11.3f}"
        )
    base = runs[-1]
    for r in runs[:-1]:
        speedup = (r.instances / r.seconds) / (base.instances / base.seconds)
        print(f"{r.name}: {speedup:.1f}x the baseline's instances/s")


async def main(n: int) -> None:
    """Run the three ways on one portal."""
    config = PortalConfig(plan=Plan.custom(rate=RATE, burst=BURST, operating_limit=None))
    async with EmulatedPortal(config) as portal:
        portal.state.add_template("bench", DEAL)
        runs = [
            await measure(portal, "1. composer", n, by_composer, auto_batch=False),
            await measure(portal, "2. concurrent awaits, coalesced", n, by_awaiting, auto_batch=True),
            await measure(portal, "3. awaits, unbatched (baseline)", n // 10, by_awaiting, auto_batch=False),
        ]
    report(runs)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 instances instead of 10,000")
    args = parser.parse_args()
    asyncio.run(main(2_000 if args.quick else 10_000))
