"""Terminate workflow instances three ways on the emulated portal, side by side in one run.

The bucket is the standard shape sped up 50x (burst 50, drain 100/s) on both sides. The ways:

1. the composer: ``async with client.batch() as b:`` one ``b.workflows.terminate`` per instance;
2. coalescing: every instance's ``await client.workflows.terminate(id)`` at once, ``auto_batch=True``;
3. the baseline: the same concurrent awaited calls without batching (a tenth of the instances).

For each it prints instances/s, requests, the portal's rejections, the ideal time
``(requests - burst) / drain`` (floored at 0) and efficiency = ideal / measured (targets for 1 and 2:
>= 0.95 and no rejections). Two more columns split the gap: "start s" is the time before the first
request leaves (queueing and encoding the calls), and "vs floor" compares the time from then on with the
client limiter's own floor ``(requests - capacity) / drain``, where capacity is the burst minus the
cushion the limiter keeps against network jitter.

    .venv/bin/python benchmarks/bench_batch.py            # 10,000 instances (1,000 for the baseline)
    .venv/bin/python benchmarks/bench_batch.py --quick    # 2,000 (200)
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable

import attrs
from _harness import PortalProcess

from bitrix_bizproc._client import BizprocClient
from bitrix_bizproc._transport import AiohttpTransport, HttpRequest, HttpResponse
from bitrix_bizproc.protocol.limits import BucketSpec

RATE, BURST = 100.0, 50


class TimingTransport:
    """The real transport, noting when the first request leaves."""

    def __init__(self) -> None:
        self.inner = AiohttpTransport(timeout=30)
        self.first: float | None = None

    async def send(self, request: HttpRequest) -> HttpResponse:
        """Send, remembering the first time."""
        if self.first is None:
            self.first = time.perf_counter()
        return await self.inner.send(request)

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self.inner.aclose()


@attrs.frozen
class Run:
    """One timed way of terminating instances."""

    name: str
    instances: int
    seconds: float
    requests: int
    rejections: int
    failed: int
    start: float  # seconds before the first request left
    capacity: int  # what the client limiter lets pend: the burst minus its cushion
    peak: float  # the fullest the portal's bucket was

    @property
    def ideal(self) -> float:
        """The bucket's floor: what is over the burst drains at RATE."""
        return max(self.requests - BURST, 0) / RATE

    @property
    def efficiency(self) -> float:
        """Ideal time over measured time (1.0 = the bucket was the only limit)."""
        return self.ideal / self.seconds if self.ideal else 1.0

    @property
    def vs_floor(self) -> str:
        """The client limiter's floor over the time from the first request on ("-" when too short to tell)."""
        floor = max(self.requests - self.capacity, 0) / RATE
        return f"{floor / (self.seconds - self.start):.3f}" if floor >= 0.5 else "-"


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


async def measure(portal: PortalProcess, name: str, n: int, way: Way, *, auto_batch: bool) -> Run:
    """Seed ``n`` instances, empty the portal's bucket, and time ``way`` on a fresh client."""
    ids = portal.add_instances(n)
    portal.plan(RATE, BURST)
    spec = BucketSpec(rate=RATE, burst=BURST)
    transport = TimingTransport()
    client = BizprocClient.from_webhook(
        portal.webhook_url, limiter=spec, auto_batch=auto_batch, transport=transport
    )
    async with client:
        started = time.perf_counter()
        failed = await way(client, ids)
        seconds = time.perf_counter() - started
    counters = portal.counters()
    start = (transport.first or started) - started
    rejections = sum(counters["rejections"].values())
    return Run(
        name,
        n,
        seconds,
        counters["requests"],
        rejections,
        failed,
        start,
        spec.capacity,
        counters["peak_level"],
    )


def report(runs: list[Run]) -> None:
    """Print the side-by-side table."""
    print(f"bucket: burst {BURST}, drain {RATE:.0f}/s (the standard plan sped up 50x) on both sides")
    header = f"{'way':<34}{'instances':>10}{'seconds':>9}{'inst/s':>9}{'requests':>9}{'rejected':>9}"
    print(header + f"{'failed':>7}{'ideal s':>9}{'efficiency':>11}{'start s':>8}{'vs floor':>9}{'peak':>6}")
    for r in runs:
        print(
            f"{r.name:<34}{r.instances:>10,}{r.seconds:>9.2f}{r.instances / r.seconds:>9,.0f}{r.requests:>9}"
            f"{r.rejections:>9}{r.failed:>7}{r.ideal:>9.2f}{r.efficiency:>11.3f}{r.start:>8.3f}{r.vs_floor:>9}{r.peak:>6.1f}"
        )
    print(f"client limiter capacity: {runs[0].capacity} of the burst of {BURST}")
    base = runs[-1]
    for r in runs[:-1]:
        speedup = (r.instances / r.seconds) / (base.instances / base.seconds)
        print(f"{r.name}: {speedup:.1f}x the baseline's instances/s")


async def main(n: int) -> None:
    """Run the three ways on one portal, in a child process."""
    with PortalProcess() as portal:
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
