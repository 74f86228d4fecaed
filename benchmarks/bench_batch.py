"""Terminate workflow instances three ways on the emulated portal, side by side in one run.

The bucket is the standard shape sped up 50x (burst 50, drain 100/s) on both sides, and so is the client's
jitter allowance (1.5 s / 50: 3 slots kept free). The portal runs in a child process. The ways:

1. the composer: ``async with client.batch() as b:`` one ``b.workflows.terminate`` per instance;
2. coalescing: every instance's ``await client.workflows.terminate(id)`` at once, ``auto_batch=True``;
3. the baseline: the same concurrent awaited calls without batching (a tenth of the instances).

For each it prints instances/s, requests, the portal's rejections, the ideal time
``(requests - burst) / drain`` (floored at 0) and efficiency = ideal / measured (targets for 1 and 2:
>= 0.95 and no rejections). The other columns split the gap and show the margin:

- "start s": the time before the first request leaves (building, queueing and planning the calls);
- "vs floor": the client limiter's own floor ``(requests - capacity) / drain`` over the time from the
  first request on (1.0: nothing but the bucket and the kept slots held it back);
- "peak": the fullest the portal's bucket got (it refuses a request above 50 pending);
- "lag ms": how long the first request took from the client's send to the portal's count, the cold-start
  delay the jitter allowance is there to cover (the portal's drain starts that much after the client's).

    .venv/bin/python benchmarks/bench_batch.py            # 10,000 instances (1,000 for the baseline)
    .venv/bin/python benchmarks/bench_batch.py --quick    # 2,000 (200)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
from collections.abc import Awaitable, Callable

import attrs
from _harness import PortalProcess

from bitrix_bizproc._client import BizprocClient
from bitrix_bizproc._transport import AiohttpTransport, HttpRequest, HttpResponse
from bitrix_bizproc.protocol.limits import BucketSpec

RATE, BURST = 100.0, 50
SPEC = BucketSpec(rate=RATE, burst=BURST, jitter_allowance=1.5 / 50)  # the default allowance, sped up too


class TimingTransport:
    """The real transport, noting when the first request leaves."""

    def __init__(self) -> None:
        self.inner = AiohttpTransport(timeout=30)
        self.first: float | None = None  # perf_counter
        self.first_wall: float | None = None  # the wall clock, which the portal's process shares

    async def send(self, request: HttpRequest) -> HttpResponse:
        """Send, remembering the first time."""
        if self.first is None:
            self.first, self.first_wall = time.perf_counter(), time.time()
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
    peak: float  # the fullest the portal's bucket was
    lag: float  # seconds from the first send to the portal counting it

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
        """The bucket's floor over the time from the first request on ("-" when too short to tell).

        The whole burst: the limiter's answer bound lets a first burst take all of it.
        """
        floor = max(self.requests - SPEC.burst, 0) / RATE
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
    transport = TimingTransport()
    client = BizprocClient.from_webhook(
        portal.webhook_url, limiter=SPEC, auto_batch=auto_batch, transport=transport
    )
    gc.collect()  # not the previous run's garbage
    async with client:
        started = time.perf_counter()
        failed = await way(client, ids)
        seconds = time.perf_counter() - started
    counters = portal.counters()
    start = (transport.first or started) - started
    lag = counters["first_arrival"] - (transport.first_wall or counters["first_arrival"])
    rejections = sum(counters["rejections"].values())
    requests, peak = counters["requests"], counters["peak_level"]
    return Run(name, n, seconds, requests, rejections, failed, start, peak, lag)


def report(runs: list[Run]) -> None:
    """Print the side-by-side table."""
    print(f"bucket: burst {BURST}, drain {RATE:.0f}/s (the standard plan sped up 50x) on both sides")
    columns = [("way", -34), ("instances", 10), ("seconds", 9), ("inst/s", 9), ("requests", 9)]
    columns += [("rejected", 9), ("failed", 7), ("ideal s", 9), ("efficiency", 11), ("start s", 8)]
    columns += [("vs floor", 9), ("peak", 6), ("lag ms", 7)]
    print("".join(name.ljust(-width) if width < 0 else name.rjust(width) for name, width in columns))
    for r in runs:
        print(
            f"{r.name:<34}{r.instances:>10,}{r.seconds:>9.2f}{r.instances / r.seconds:>9,.0f}{r.requests:>9}"
            f"{r.rejections:>9}{r.failed:>7}{r.ideal:>9.2f}{r.efficiency:>11.3f}{r.start:>8.3f}{r.vs_floor:>9}"
            f"{r.peak:>6.1f}{r.lag * 1000:>7.1f}"
        )
    print(
        f"client limiter: capacity {SPEC.capacity} of the burst of {BURST} "
        f"(jitter allowance {SPEC.jitter_allowance * 1000:.0f} ms = {SPEC.headroom} slots)"
    )
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
