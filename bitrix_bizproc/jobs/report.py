"""The report a bulk job returns: counts by outcome, elapsed time, rate, and each failure with its code."""

from __future__ import annotations

import enum
from collections import Counter
from typing import Any

import attrs

__all__ = ["Exclusion", "ItemFailure", "JobReport", "ReportOutcome"]


class ReportOutcome(enum.StrEnum):
    """How an item ended in this run."""

    DONE = "done"
    ALREADY_GONE = "already_gone"  # the portal no longer had it (done before, or by someone else)
    FAILED = "failed"
    UNKNOWN = "unknown"  # sent, but no answer came (lost, or the job was cancelled): a resume settles it
    SKIPPED_DONE = "skipped_done"  # done by an earlier run with the same journal
    SKIPPED_FAILED = "skipped_failed"  # failed for good in an earlier run; not retried
    NOT_ATTEMPTED = "not_attempted"  # the job stopped before reaching it
    PLANNED = "planned"  # dry run: would be done
    EXCLUDED = "excluded"  # listed by the portal, but does not provably match the filter: never acted on


@attrs.frozen
class ItemFailure:
    """One item the portal refused, with its error code and text."""

    item: str
    action: str
    code: str
    description: str
    transient: bool

    def __str__(self) -> str:
        code = self.code or "(no code)"
        return f"{self.item}: {code} {self.description}".rstrip()


@attrs.frozen
class Exclusion:
    """A listed row the job did not act on: it fails (or cannot be shown to satisfy) the job's filter."""

    item: str
    reason: str

    def __str__(self) -> str:
        return f"{self.item}: {self.reason}"


@attrs.define
class JobReport:
    """What a job did: per-outcome counts, failures, timing, and what is left matching afterwards."""

    job: str
    action: str
    dry_run: bool
    subject: str = ""  # what the job was about, e.g. "user 57 (Anna Petrova)"
    matched: int = 0
    counts: Counter[str] = attrs.field(factory=Counter)
    failures: list[ItemFailure] = attrs.field(factory=list)
    planned: list[str] = attrs.field(factory=list)
    elapsed: float = 0.0
    remaining: int | None = None  # matching items left after the run, when verified
    aborted: str | None = None  # why the job stopped early, if it did
    declined: bool = False  # the confirmation was answered "no": nothing was changed
    requests: int | None = None  # HTTP requests the client sent for the action phase (retries included)
    excluded: list[Exclusion] = attrs.field(factory=list)  # listed rows failing the re-check
    held: list[Exclusion] = attrs.field(factory=list)  # carried over, not checkable here: not sent, kept
    warnings: list[str] = attrs.field(factory=list)  # e.g. the portal ignored part of the filter

    def count(self, outcome: ReportOutcome) -> int:
        """How many items ended with ``outcome``."""
        return self.counts[outcome.value]

    @property
    def processed(self) -> int:
        """Items this run sent to the portal and got an answer for."""
        return sum(
            self.count(o) for o in (ReportOutcome.DONE, ReportOutcome.ALREADY_GONE, ReportOutcome.FAILED)
        )

    @property
    def rate(self) -> float:
        """Items processed per second."""
        return self.processed / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def ok(self) -> bool:
        """True when nothing failed, nothing was left unattempted or unknown, and the job was not aborted."""
        return (
            self.aborted is None
            and self.count(ReportOutcome.FAILED) == 0
            and self.count(ReportOutcome.NOT_ATTEMPTED) == 0
            and self.count(ReportOutcome.UNKNOWN) == 0
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            "job": self.job,
            "action": self.action,
            "dry_run": self.dry_run,
            "declined": self.declined,
            "subject": self.subject,
            "matched": self.matched,
            "counts": {o.value: self.count(o) for o in ReportOutcome if self.count(o)},
            "failures": [attrs.asdict(f) for f in self.failures],
            "planned": list(self.planned),
            "elapsed": round(self.elapsed, 3),
            "rate": round(self.rate, 1),
            "remaining": self.remaining,
            "aborted": self.aborted,
            "requests": self.requests,
            "excluded": [attrs.asdict(e) for e in self.excluded],
            "held": [attrs.asdict(e) for e in self.held],
            "warnings": list(self.warnings),
        }

    def lines(self, *, max_failures: int = 20) -> list[str]:
        """A short human-readable summary."""
        mode = " (declined)" if self.declined else " (dry run)" if self.dry_run else ""
        title = f"{self.job}: {self.action}{mode}"
        out = [title]
        if self.subject:
            out.append(f"  subject        {self.subject}")
        out.append(f"  matched        {self.matched}")
        for outcome in ReportOutcome:
            if self.count(outcome):
                out.append(f"  {outcome.value:<14} {self.count(outcome)}")
        out.append(f"  elapsed        {self.elapsed:.1f} s")
        if not self.dry_run:
            out.append(f"  rate           {self.rate:.1f} items/s")
        if self.requests is not None:
            out.append(f"  requests       {self.requests}  (for the {self.action} phase)")
        if self.remaining is not None:
            out.append(f"  left matching  {self.remaining}")
        if self.aborted:
            out.append(f"  ABORTED: {self.aborted}")
        out.extend(f"  WARNING: {w}" for w in self.warnings)
        if self.excluded:
            out.append("  excluded (not acted on):")
            out.extend(f"    {e}" for e in self.excluded[:max_failures])
            if len(self.excluded) > max_failures:
                out.append(f"    ... and {len(self.excluded) - max_failures} more")
        if self.held:
            out.append("  held (carried over, not checkable here: not sent, kept in the journal):")
            out.extend(f"    {e}" for e in self.held[:max_failures])
            if len(self.held) > max_failures:
                out.append(f"    ... and {len(self.held) - max_failures} more")
        if self.failures:
            by_code = Counter(f.code or "(no code)" for f in self.failures)
            out.append("  failures by code: " + ", ".join(f"{c} x{n}" for c, n in by_code.most_common()))
            out.extend(f"    {f}" for f in self.failures[:max_failures])
            if len(self.failures) > max_failures:
                out.append(f"    ... and {len(self.failures) - max_failures} more")
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())
