"""``bizproc demo``: mass termination against an embedded emulated portal, end to end, in seconds."""

from __future__ import annotations

import argparse
import datetime as _dt
import sys
import time
from typing import Any

from ..jobs import JobReport, Progress, instance_filter, terminate_workflows
from ..protocol.limits import BucketSpec
from ._common import EXIT_FAILED, EXIT_OK, iso_date, positive_int, run_async
from ._progress import ProgressDisplay

__all__ = ["register"]

COMMANDS_PER_BATCH = 50


def _speedup(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 1000:
        raise argparse.ArgumentTypeError(f"--speedup takes a factor in (0, 1000], got {text!r}")
    return value


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``demo`` subcommand."""
    parser = subparsers.add_parser(
        "demo",
        help="terminate tens of thousands of old workflows on an embedded emulated portal",
        description=(
            "Start an emulated portal on this machine, seed it with workflow instances spread over three "
            "years, terminate every instance started before the cutoff with the batch composer under the "
            "plan's rate limit, print the report and the achieved rate next to the portal's ceiling, and "
            "verify that the filter finds nothing left. The portal's clock runs --speedup times faster."
        ),
    )
    parser.add_argument("--instances", type=positive_int, default=30_000, metavar="N", help="default 30000")
    parser.add_argument(
        "--plan",
        choices=("standard", "enterprise"),
        default="standard",
        help="the bucket shape (default standard)",
    )
    parser.add_argument(
        "--speedup",
        type=_speedup,
        default=50.0,
        metavar="X",
        help="run the bucket X times faster (default 50)",
    )
    parser.add_argument("--cutoff", type=iso_date, metavar="DATE", help="default: January 1st of this year")
    parser.add_argument("--kill", action="store_true", help="kill instead of terminate")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generator (default 0)")
    parser.set_defaults(run=lambda args: run_async(lambda: _demo(args)))


class _PhaseTimes:
    """Forwards progress to the display and keeps the last snapshot of each phase."""

    def __init__(self, display: ProgressDisplay) -> None:
        self.display = display
        self.last: dict[str, Progress] = {}

    def __call__(self, progress: Progress) -> None:
        self.last[progress.phase] = progress
        self.display(progress)


async def _demo(args: argparse.Namespace) -> int:
    from ..emulator import EmulatedPortal, Plan, PortalConfig
    from ..emulator.seed import seed

    base = Plan.named(args.plan)
    assert base.rate is not None
    rate, burst = base.rate * args.speedup, base.burst
    portal = EmulatedPortal(PortalConfig(plan=Plan.custom(rate, burst, base.operating_limit)))
    began = time.perf_counter()
    summary = seed(portal.state, instances=args.instances, seed=args.seed)
    seeded_in = time.perf_counter() - began
    now = _dt.datetime.now(_dt.UTC)
    cutoff = args.cutoff or _dt.datetime(now.year, 1, 1, tzinfo=_dt.UTC)
    out = sys.stdout
    out.write(
        f"emulated portal: plan {base.name} ({base.rate:g} req/s, burst {burst}) sped up x{args.speedup:g} "
        f"= {rate:g} req/s\n"
        f"seeded {summary.instances:,} running instances over 3 years in {seeded_in:.1f} s; "
        f"terminating those started before {cutoff.date().isoformat()}\n"
    )
    out.flush()
    from .._client import BizprocClient

    phases = _PhaseTimes(ProgressDisplay(sys.stderr))
    async with portal:
        # The portal shares this event loop: the client's own work delays it by up to ~0.15 s.
        spec = BucketSpec(rate, burst, jitter_allowance=0.15)
        async with BizprocClient.from_webhook(portal.webhook_url, limiter=spec) as client:
            try:
                report = await terminate_workflows(
                    client,
                    filter=instance_filter(started_before=cutoff),
                    mode="kill" if args.kill else "terminate",
                    status=None if args.kill else "demo cleanup",
                    progress=phases,
                )
            finally:
                phases.display.close()
        rejected = sum(portal.counters.rejections.values())
    out.write("\n".join(report.lines()) + "\n")
    _rates(report, phases.last.get(report.action), rate, burst, args.speedup, out)
    out.write(
        f"portal: {portal.counters.requests:,} requests, {portal.counters.batches:,} batches, "
        f"{rejected} rejected\n"
    )
    left = report.remaining
    out.write(f"verified: re-running the filter finds {left} running instances started before the cutoff\n")
    return EXIT_OK if report.ok and left == 0 else EXIT_FAILED


def _rates(
    report: JobReport, work: Progress | None, rate: float, burst: int, speedup: float, out: Any
) -> None:
    """The achieved rate of the action phase next to the bucket's ceiling and the ideal time."""
    if work is None or work.elapsed <= 0 or not work.done:
        return
    ceiling = rate * COMMANDS_PER_BATCH
    achieved = work.done / work.elapsed
    batches = -(-work.done // COMMANDS_PER_BATCH)
    ideal = max(0, batches - burst) / rate  # the burst goes at once, the rest at the drain rate
    real = ceiling / speedup
    out.write(
        f"achieved: {achieved:,.0f} {report.action}s/s over {work.elapsed:.1f} s; "
        f"ceiling {rate / speedup:g} req/s x {COMMANDS_PER_BATCH} commands x {speedup:g} speed-up "
        f"= {ceiling:,.0f}/s sustained\n"
        f"ideal for {batches} batches (burst {burst}, then {rate:g}/s): {ideal:.1f} s; "
        f"efficiency {ideal / work.elapsed:.0%}\n"
        f"at real speed the same job runs at {real:,.0f}/s: {work.done / real / 60:.1f} min\n"
    )
