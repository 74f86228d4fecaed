"""Fleet-wide jobs: terminate (or offboard) on many portals at once, one report per portal plus a total.

Each portal's job is the ordinary :func:`~bitrix_bizproc.jobs.terminate_workflows` /
:func:`~bitrix_bizproc.jobs.offboard_employee` on that portal's client, so it runs at that portal's own
ceiling and keeps its own journal (``<journal_dir>/<member_id>.jsonl``: rerun with the same directory to
resume each portal where it stopped). ``portals_at_once`` bounds how many portals work at the same time.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import attrs

from .._client import BizprocClient
from ..jobs import JobAbortedError, JobReport, offboard_employee, terminate_workflows
from ..models.filters import FilterLike
from ..protocol.errors import BitrixError, ValidationError
from ._fleet import Fleet

__all__ = ["FleetReport", "PortalFailure", "offboard_fleet", "run_on_fleet", "terminate_fleet"]

logger = logging.getLogger("bitrix_bizproc")

PortalJob = Callable[[str, BizprocClient, Path | None], Awaitable[JobReport]]


@attrs.frozen
class PortalFailure:
    """A portal whose job could not run or was aborted: the error's class, code and message."""

    error: str
    code: str
    message: str


@attrs.define
class FleetReport:
    """Per-portal :class:`JobReport` s, failures and their total; a job aborted part way has both."""

    job: str
    portals: dict[str, JobReport] = attrs.field(factory=dict)
    failures: dict[str, PortalFailure] = attrs.field(factory=dict)
    elapsed: float = 0.0

    @property
    def counts(self) -> Counter[str]:
        """Items by outcome, summed over portals."""
        total: Counter[str] = Counter()
        for report in self.portals.values():
            total.update(report.counts)
        return total

    @property
    def matched(self) -> int:
        """Items matched, summed over portals."""
        return sum(r.matched for r in self.portals.values())

    @property
    def processed(self) -> int:
        """Items sent and answered, summed over portals."""
        return sum(r.processed for r in self.portals.values())

    @property
    def requests(self) -> int:
        """HTTP requests of the action phases, summed over portals."""
        return sum(r.requests or 0 for r in self.portals.values())

    @property
    def ok(self) -> bool:
        """Every portal's job ran and is ok."""
        return not self.failures and all(r.ok for r in self.portals.values())

    def total(self) -> dict[str, Any]:
        """The fleet-wide summary."""
        remaining = [r.remaining for r in self.portals.values() if r.remaining is not None]
        return {
            "job": self.job,
            "portals": len(self.portals.keys() | self.failures.keys()),
            "portals_ok": sum(1 for m, r in self.portals.items() if r.ok and m not in self.failures),
            "portals_failed": len(self.failures.keys() | {m for m, r in self.portals.items() if not r.ok}),
            "matched": self.matched,
            "counts": dict(self.counts),
            "processed": self.processed,
            "requests": self.requests,
            "remaining": sum(remaining) if remaining else None,
            "elapsed": round(self.elapsed, 3),
            "rate": round(self.processed / self.elapsed, 1) if self.elapsed > 0 else 0.0,
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view: the total, each portal's report, each failure."""
        return {
            "total": self.total(),
            "portals": {m: r.to_dict() for m, r in sorted(self.portals.items())},
            "failures": {m: attrs.asdict(f) for m, f in sorted(self.failures.items())},
        }

    def lines(self) -> list[str]:
        """A short human-readable summary (the total, then the portals that are not ok)."""
        total = self.total()
        out = [
            f"{self.job} on {total['portals']} portal(s): {total['portals_ok']} ok, "
            f"{total['portals_failed']} not ok",
            f"  matched {total['matched']}, "
            + ", ".join(f"{k} {v}" for k, v in sorted(total["counts"].items())),
            f"  elapsed {self.elapsed:.1f} s, {total['rate']} items/s, {total['requests']} requests",
        ]
        for member_id, failure in sorted(self.failures.items()):
            out.append(f"  {member_id}: {failure.error} {failure.code}: {failure.message}")
        for member_id, report in sorted(self.portals.items()):
            if not report.ok and member_id not in self.failures:
                out.append(f"  {member_id}: " + (report.aborted or f"{dict(report.counts)}"))
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


def failure_of(exc: BaseException) -> PortalFailure:
    """What a portal's failed job reports."""
    if isinstance(exc, JobAbortedError):
        cause = exc.cause
        return PortalFailure(type(cause).__name__, getattr(cause, "code", "") or "", str(exc))
    return PortalFailure(type(exc).__name__, getattr(exc, "code", "") or "", str(exc))


def journal_path(journal_dir: str | os.PathLike[str] | None, member_id: str) -> Path | None:
    """The portal's journal file in ``journal_dir`` (made if missing), or None without a directory."""
    if journal_dir is None:
        return None
    directory = Path(journal_dir)
    directory.mkdir(parents=True, exist_ok=True)
    return directory / f"{member_id}.jsonl"


async def run_on_fleet(
    fleet: Fleet,
    job: str,
    run: PortalJob,
    members: Iterable[str] | None = None,
    *,
    journal_dir: str | os.PathLike[str] | None = None,
    portals_at_once: int = 32,
    clock: Callable[[], float] = time.monotonic,
) -> FleetReport:
    """Run ``run(member_id, client, journal)`` on each portal (all the store's when ``members`` is None)."""
    if isinstance(portals_at_once, bool) or not isinstance(portals_at_once, int) or portals_at_once < 1:
        raise ValidationError(f"portals_at_once must be a positive int, got {portals_at_once!r}")
    chosen = list(members) if members is not None else await fleet.store.members()
    report = FleetReport(job=job)
    gate = asyncio.Semaphore(portals_at_once)
    started = clock()

    async def one(member_id: str) -> None:
        async with gate:
            try:
                async with fleet.lease(member_id) as client:
                    journal = journal_path(journal_dir, member_id)
                    report.portals[member_id] = await run(member_id, client, journal)
            except JobAbortedError as exc:  # stopped part way: what it did before still counts
                report.portals[member_id] = exc.report
                report.failures[member_id] = failure_of(exc)
            except BitrixError as exc:
                report.failures[member_id] = failure_of(exc)
            except Exception as exc:  # a bug or an OS error: this portal's failure, not the others'
                logger.exception("the %s job on portal %s failed", job, member_id)
                report.failures[member_id] = failure_of(exc)

    await asyncio.gather(*(one(m) for m in dict.fromkeys(chosen)))
    report.elapsed = clock() - started
    return report


async def terminate_fleet(
    fleet: Fleet,
    *,
    filter: FilterLike,
    members: Iterable[str] | None = None,
    mode: Literal["terminate", "kill"] = "terminate",
    status: str | None = None,
    journal_dir: str | os.PathLike[str] | None = None,
    portals_at_once: int = 32,
    dry_run: bool = False,
    retry_failed: bool = False,
    verify: bool = True,
    concurrency: int = 2,
) -> FleetReport:
    """:func:`~bitrix_bizproc.jobs.terminate_workflows` with ``filter`` on every portal named (or all)."""

    async def run(member_id: str, client: BizprocClient, journal: Path | None) -> JobReport:
        return await terminate_workflows(
            client,
            filter=filter,
            mode=mode,
            status=status,
            dry_run=dry_run,
            journal=journal,
            retry_failed=retry_failed,
            verify=verify,
            concurrency=concurrency,
        )

    return await run_on_fleet(
        fleet, "terminate_workflows", run, members, journal_dir=journal_dir, portals_at_once=portals_at_once
    )


async def offboard_fleet(
    fleet: Fleet,
    users: Mapping[str, int | str],
    *,
    action: Literal["terminate", "kill", "delegate"] = "terminate",
    to_users: Mapping[str, int] | None = None,
    journal_dir: str | os.PathLike[str] | None = None,
    portals_at_once: int = 32,
    dry_run: bool = False,
    retry_failed: bool = False,
    verify: bool = True,
    concurrency: int = 2,
) -> FleetReport:
    """:func:`~bitrix_bizproc.jobs.offboard_employee` on each portal for ``users[member_id]``."""
    to_users = to_users or {}
    if action == "delegate" and set(users) - set(to_users):
        raise ValidationError("action='delegate' needs to_users[member_id] for every portal in users")

    async def run(member_id: str, client: BizprocClient, journal: Path | None) -> JobReport:
        return await offboard_employee(
            client,
            user=users[member_id],
            action=action,
            to_user=to_users.get(member_id),
            dry_run=dry_run,
            journal=journal,
            retry_failed=retry_failed,
            verify=verify,
            concurrency=concurrency,
        )

    return await run_on_fleet(
        fleet, "offboard_employee", run, users, journal_dir=journal_dir, portals_at_once=portals_at_once
    )
