"""``terminate_workflows`` alone, phase by phase: wall, client CPU, requests, the bucket, memory.

The portal is the emulator in a child process (``_harness.PortalProcess``). Per run: the listing and the
terminate phase (wall and client CPU seconds, from the job's progress callbacks), the portal's requests,
rejections and ``peak_level`` (how full its bucket got: near the burst means the limiter used it), and the
child's CPU. ``--memory`` runs a separate job under ``tracemalloc`` with limits off: the peak while listing,
what the listing leaves held (the ID snapshot) and the peak of the terminate phase.

    python benchmarks/bench_job.py                       # 10,000 instances, bench bucket, 3 runs
    python benchmarks/bench_job.py --limits off          # the job's own work: no bucket
    python benchmarks/bench_job.py -n 100000 --memory    # memory at 100,000 (slow under tracemalloc)

The bucket floor for R requests is (R - free slots) / rate; the job's own floor is its listing's wall
plus (200 - free) / rate for 10,000 terminations plus the verify listing's round trip.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import time
import tracemalloc
from typing import Any

from _harness import PortalProcess

from bitrix_bizproc import BizprocClient, BucketSpec
from bitrix_bizproc.jobs import Progress, terminate_workflows

RATE, BURST = 100.0, 50
SPEC = BucketSpec(rate=RATE, burst=BURST, jitter_allowance=1.5 / 50)


def child_cpu(portal: PortalProcess) -> float:
    """CPU seconds the portal's process has used (Linux ``/proc``)."""
    fields = open(f"/proc/{portal._proc.pid}/stat").read().rsplit(")", 1)[1].split()  # noqa: SIM115
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run(
    portal: PortalProcess, n: int, run_no: int, *, limits: bool, memory: bool, concurrency: int | None
) -> str:
    name = f"job-{n}-{run_no}-{limits}-{memory}-{concurrency}"
    portal.add_instances(n, template=name)
    template_id = portal.template_id(name)
    portal.plan(RATE, BURST) if limits else portal.plan(None)
    gc.collect()
    marks: dict[str, float] = {}

    def progress(p: Progress) -> None:
        if p.phase != "listing" and "listed" not in marks:
            marks["listed"] = time.perf_counter() - started
            marks["listed_cpu"] = time.process_time() - cpu
            if memory:
                now, peak = tracemalloc.get_traced_memory()
                marks["list_peak"], marks["held"] = peak / 1e6, now / 1e6
                tracemalloc.reset_peak()

    if memory:
        tracemalloc.start()
    portal_cpu = child_cpu(portal)
    cpu, started = time.process_time(), time.perf_counter()
    async with BizprocClient.from_webhook(portal.webhook_url, limiter=SPEC if limits else None) as client:
        options = {} if concurrency is None else {"concurrency": concurrency}
        report = await terminate_workflows(
            client, filter={"TEMPLATE_ID": template_id}, progress=progress, **options
        )
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    extra = ""
    if memory:
        extra = (
            f" | MB: listing peak {marks['list_peak']:.1f}, held after {marks['held']:.1f}, "
            f"terminate peak {tracemalloc.get_traced_memory()[1] / 1e6:.1f}"
        )
        tracemalloc.stop()
    c: dict[str, Any] = portal.counters()
    assert report.ok and report.matched == n and report.remaining == 0, report
    ideal = max(n / 50 - BURST, 0) / RATE
    return (
        f"{n:,} | {wall:5.2f} s (efficiency {ideal / wall:.3f}) | listing {marks['listed']:.2f} s | "
        f"CPU {cpu:.2f} s (listing {marks['listed_cpu']:.2f}) | "
        f"portal CPU {child_cpu(portal) - portal_cpu:.2f} s | {c['requests']} req | "
        f"{sum(c['rejections'].values())} rej | peak_level {c['peak_level']:.1f}{extra}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--limits", choices=["bucket", "off"], default="bucket")
    parser.add_argument("--memory", action="store_true", help="under tracemalloc, limits off, one run")
    parser.add_argument(
        "--concurrency", type=int, action="append", help="the job's concurrency (repeat to compare)"
    )
    args = parser.parse_args()
    with PortalProcess() as portal:
        for run_no in range(1 if args.memory else args.runs):
            limits = args.limits == "bucket" and not args.memory
            for concurrency in args.concurrency or [None]:  # interleaved, so load changes hit each alike
                line = await run(
                    portal, args.n, run_no, limits=limits, memory=args.memory, concurrency=concurrency
                )
                print(f"{'' if concurrency is None else f'concurrency {concurrency} | '}{line}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
