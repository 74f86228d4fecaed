"""Run one action over many items: batched under the limiter, journaled, resumable, with progress.

The shared engine of the bulk jobs. Items are plain strings (workflow IDs, or task IDs for delegation);
an :class:`Action` turns an item into a batch command. Chunks of 50 go out as one ``batch`` request each,
``concurrency`` of them in flight, the client's limiter pacing them. Before a chunk is sent its items are
journaled as ``started``; each answer is journaled as it arrives (written off the event loop, durable
before the item counts in the report).

Outcome certainty is explicit. A send whose answer was lost (a reset, a timeout, a 5xx page, a truncated
body: :func:`~bitrix_bizproc.protocol.retry.is_ambiguous`), or that was in flight when the job was
cancelled or killed, leaves the item *uncertain*: reported ``unknown`` and journaled ``unknown`` (or left
``started``) until a later send settles it. An uncertain item later found gone ("not found") was done by
that earlier send: it is reported ``done``, never ``already_gone``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from .._call import Pending
from ..protocol.batch import NO_ANSWER
from ..protocol.errors import (
    AccessDeniedError,
    AuthError,
    BitrixError,
    ClientValidationError,
    JournalError,
    NotExecutedError,
    NotFoundError,
    OperationTimeLimitError,
    QueryLimitError,
    RateLimitError,
    ServerError,
    TransportError,
)
from ..protocol.retry import is_ambiguous
from .journal import Journal, JournalEntry, JournalOutcome
from .progress import ProgressCallback, ProgressTracker
from .report import Exclusion, ItemFailure, JobReport, ReportOutcome

if TYPE_CHECKING:
    from .._batch import BatchComposer
    from .._client import BizprocClient

__all__ = [
    "Action",
    "Confirm",
    "JobAbortedError",
    "JobOptions",
    "JournalArg",
    "opened_journal",
    "plan_items",
    "run_action",
    "run_job",
]

logger = logging.getLogger("bitrix_bizproc")

JournalArg = Journal | str | os.PathLike[str] | None
Confirm = Callable[[Sequence[str]], bool]  # shown the planned items; False cancels the run

CHUNK = 50  # commands per batch request: the portal's maximum


class JobAbortedError(Exception):
    """A job stopped early (credentials refused, portal unreachable); ``report`` says how far it got."""

    def __init__(self, report: JobReport, cause: BaseException) -> None:
        super().__init__(f"{report.job} stopped early: {cause}")
        self.report = report
        self.cause = cause


def _unanswered() -> NotExecutedError:
    return NotExecutedError("the batch gave no answer for this command", code=NO_ANSWER)


def _is_gone(error: BitrixError) -> bool:
    return isinstance(error, NotFoundError)


@attrs.frozen
class Action:
    """How to apply one action to an item inside a batch composer."""

    name: str  # the journal's action name: "terminate", "kill", "delegate"
    submit: Callable[[BatchComposer, str], Pending[Any]]  # (composer, item) -> command handle
    # An error meaning the item no longer needs the action (it is already gone): counted as done.
    is_gone: Callable[[BitrixError], bool] = _is_gone


def is_transient(error: BaseException) -> bool:
    """Whether a failure is worth retrying later (a resumed run retries these)."""
    return isinstance(error, TransportError | ServerError | RateLimitError | NotExecutedError | AuthError)


def _fatal(error: BaseException) -> bool:
    """Failures of a whole request that no item can get past: stop the job."""
    return isinstance(error, AuthError | AccessDeniedError | JournalError) and not isinstance(
        error, NotFoundError
    )


def _lost(error: BaseException | None) -> bool:
    """Whether a send may have run although its answer never came."""
    if isinstance(error, BitrixError) and error.details.get("after_unknown"):
        return True  # failed in the end, but an earlier try of the same request was lost
    if isinstance(error, NotExecutedError):
        # No answer for a command of a halt=0 batch may hide a run; a halt=1 skip never ran.
        return error.code == NO_ANSWER
    return isinstance(error, BitrixError) and is_ambiguous(error)


def _systemic(first: BaseException, errors: Sequence[BaseException | None]) -> bool:
    """Every command of the chunk failed alike, for a reason no item can get past (or the portal is down).

    A limit answer is not one: the limiter waits for the bucket or the method's operating reset.
    """
    if isinstance(first, QueryLimitError | OperationTimeLimitError):
        return False
    code = getattr(first, "code", None)
    same = all(type(e) is type(first) and getattr(e, "code", None) == code for e in errors)
    return same and (_fatal(first) or is_transient(first))


@attrs.define
class _Run:
    client: BizprocClient
    action: Action
    journal: Journal | None
    tracker: ProgressTracker
    concurrency: int
    # Compact per-item state: the count of each latest outcome, and the items whose latest outcome
    # carries a failure (failed, or unknown after a lost answer): only these are retried or reported.
    counts: Counter[ReportOutcome] = attrs.field(factory=Counter)
    open: dict[str, tuple[ReportOutcome, ItemFailure]] = attrs.field(factory=dict)
    uncertain: set[str] = attrs.field(factory=set)  # a send of the item may have run unseen
    in_flight: set[str] = attrs.field(factory=set)  # sent (or being sent), no outcome yet
    abort: BaseException | None = None
    consecutive_chunk_failures: int = 0
    max_chunk_failures: int = 3

    async def run_pass(self, items: Sequence[str]) -> None:
        starts = iter(range(0, len(items), CHUNK))  # shared by the workers: each chunk is cut when taken
        chunks = -(-len(items) // CHUNK)
        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(max(1, min(self.concurrency, chunks))):
                    group.create_task(self._worker(items, starts))
        except BaseExceptionGroup as failed:  # a bug or an interrupt in one worker: surface it as is
            raise failed.exceptions[0] from None

    async def _worker(self, items: Sequence[str], starts: Iterator[int]) -> None:
        while self.abort is None:
            start = next(starts, None)
            if start is None:
                return
            await self._send(list(items[start : start + CHUNK]))

    async def _send(self, chunk: list[str]) -> None:
        if self.journal is not None:
            try:
                await self.journal.commit_started(chunk, self.action.name)
            except JournalError as exc:  # nothing of this chunk was sent
                self.abort = self.abort or exc
                return
        self.in_flight.update(chunk)
        errors: list[BaseException | None] = [None] * len(chunk)
        commands: list[Pending[Any] | None] = [None] * len(chunk)
        try:
            async with self.client.batch(halt=False) as batch:
                for index, item in enumerate(chunk):
                    try:
                        commands[index] = self.action.submit(batch, item)
                    except BitrixError as exc:  # refused before sending (e.g. a malformed ID)
                        errors[index] = exc
        except BitrixError as exc:  # the composer refused the whole chunk
            errors = [exc] * len(chunk)
            commands = [None] * len(chunk)
        for index, command in enumerate(commands):
            if command is not None:
                errors[index] = command.error if command.done else _unanswered()
                if getattr(command, "after_unknown", False):  # an earlier try of its batch was lost
                    self.uncertain.add(chunk[index])
        await self._settle(chunk, errors)

    async def _settle(self, chunk: list[str], errors: list[BaseException | None]) -> None:
        settled: list[tuple[str, ReportOutcome, ItemFailure | None]] = []
        failed = 0
        for item, error in zip(chunk, errors, strict=True):
            if error is None:  # the common case, kept short
                self.uncertain.discard(item)
                settled.append((item, ReportOutcome.DONE, None))
                continue
            if _lost(error):
                self.uncertain.add(item)
            outcome, failure = self._classify(item, error)
            if outcome is ReportOutcome.DONE:
                self.uncertain.discard(item)
            settled.append((item, outcome, failure))
            failed += outcome is ReportOutcome.FAILED
        if self.journal is not None:
            entries = [
                _journal_entry(item, self.action.name, outcome, error, failure)
                for (item, outcome, failure), error in zip(settled, errors, strict=True)
            ]
            try:  # durable before the report counts them
                await self.journal.commit(entries)
            except JournalError as exc:  # left "started" on disk: a resume settles them with the portal
                self.abort = self.abort or exc
        for item, outcome, failure in settled:
            self._record(item, outcome, failure)
            self.in_flight.discard(item)
        # Only a chunk no item of which got through can be systemic: an answer the action reads as done
        # (every task of a chunk re-sent after a lost answer is "not responsible" now) is no refusal.
        through = any(o in (ReportOutcome.DONE, ReportOutcome.ALREADY_GONE) for _, o, _ in settled)
        first = errors[0] if errors and not through else None
        if first is not None and _systemic(first, errors):
            self.consecutive_chunk_failures += 1
            if _fatal(first) or self.consecutive_chunk_failures >= self.max_chunk_failures:
                self.abort = self.abort or first
        else:
            self.consecutive_chunk_failures = 0
        self.tracker.advance(len(chunk), failed)

    def _record(self, item: str, outcome: ReportOutcome, failure: ItemFailure | None) -> None:
        """Make ``outcome`` the item's latest (a retried item's earlier outcome no longer counts)."""
        earlier = self.open.pop(item, None)
        if earlier is not None:
            self.counts[earlier[0]] -= 1
        self.counts[outcome] += 1
        if failure is not None:
            self.open[item] = (outcome, failure)

    def outcome_counts(self, items: Sequence[str]) -> Counter[ReportOutcome]:
        """Each item's latest outcome, counted; one never settled is unknown (in flight) or not attempted."""
        counts = Counter({o: n for o, n in self.counts.items() if n})
        unknown = sum(1 for i in self.in_flight if i not in self.open)
        if unknown:
            counts[ReportOutcome.UNKNOWN] += unknown
        never = len(items) - sum(self.counts.values()) - unknown
        if never:
            counts[ReportOutcome.NOT_ATTEMPTED] += never
        return counts

    def failures(self, items: Sequence[str]) -> list[ItemFailure]:
        """The items that failed, in the order of ``items``."""
        if not self.open:
            return []
        found = (self.open.get(item) for item in items)
        return [r[1] for r in found if r is not None and r[0] is ReportOutcome.FAILED]

    def _classify(self, item: str, error: BaseException | None) -> tuple[ReportOutcome, ItemFailure | None]:
        if error is None:
            return ReportOutcome.DONE, None
        if isinstance(error, BitrixError) and self.action.is_gone(error):
            # Gone after a send of ours whose answer was lost: that send did it.
            return (ReportOutcome.DONE if item in self.uncertain else ReportOutcome.ALREADY_GONE), None
        code = error.code if isinstance(error, BitrixError) else type(error).__name__
        description = error.description if isinstance(error, BitrixError) else str(error)
        failure = ItemFailure(item, self.action.name, code, description, is_transient(error))
        if item in self.uncertain and failure.transient:  # it may have been done: not a failure (yet)
            return ReportOutcome.UNKNOWN, failure
        return ReportOutcome.FAILED, failure


def _journal_entry(
    item: str, action: str, outcome: ReportOutcome, error: BaseException | None, failure: ItemFailure | None
) -> JournalEntry:
    if outcome is ReportOutcome.DONE:
        return JournalEntry(item, action, JournalOutcome.DONE)
    if outcome is ReportOutcome.ALREADY_GONE:
        code = error.code if isinstance(error, BitrixError) else ""
        text = error.description if isinstance(error, BitrixError) else ""
        return JournalEntry(item, action, JournalOutcome.ALREADY_GONE, code=code, description=text)
    assert failure is not None
    if outcome is ReportOutcome.UNKNOWN:
        return JournalEntry(item, action, JournalOutcome.UNKNOWN, failure.code, failure.description, True)
    return JournalEntry(
        item, action, JournalOutcome.FAILED, failure.code, failure.description, failure.transient
    )


@contextlib.contextmanager
def opened_journal(journal: JournalArg) -> Iterator[Journal | None]:
    """The journal to use: the caller's own (left open), or one opened from a path (closed afterwards)."""
    if journal is None or isinstance(journal, Journal):
        yield journal
        return
    with Journal(journal) as log:
        yield log


def plan_items(
    items: Iterable[str],
    action: str,
    journal: Journal | None,
    report: JobReport,
    *,
    retry_failed: bool,
    excluded: Iterable[str] = (),
) -> list[str]:
    """The items still to do, in order: unfinished journal items first, then new ones; counts the skipped.

    Items excluded now (counted by the caller) or by an earlier run's re-check are never planned.
    """
    todo: list[str] = []
    seen: set[str] = set(excluded)
    carried = [e.item for e in journal.entries(action) if e.needs_retry] if journal is not None else []
    for item in itertools.chain(carried, items):  # the items are not copied
        if item in seen:
            continue
        seen.add(item)
        entry = journal.entry(item, action) if journal is not None else None
        if entry is not None and entry.outcome is JournalOutcome.EXCLUDED:
            report.counts[ReportOutcome.EXCLUDED.value] += 1
            why = entry.description or entry.code or "no reason recorded"
            report.excluded.append(Exclusion(item, f"excluded by an earlier run: {why}"))
        elif entry is not None and entry.outcome.final:
            report.counts[ReportOutcome.SKIPPED_DONE.value] += 1
        elif (
            entry is not None
            and entry.outcome is JournalOutcome.FAILED
            and not entry.transient
            and not retry_failed
        ):
            report.counts[ReportOutcome.SKIPPED_FAILED.value] += 1
        else:
            todo.append(item)
    return todo


async def run_action(
    client: BizprocClient,
    items: Sequence[str],
    action: Action,
    report: JobReport,
    *,
    journal: Journal | None = None,
    progress: ProgressCallback | None = None,
    concurrency: int = 8,
    retries: int = 2,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Apply ``action`` to planned ``items``, filling ``report``; raises :class:`JobAbortedError`.

    Items the journal shows in flight or lost (``started``/``unknown``) start out uncertain: found gone,
    they count as done. Cancelled mid-chunk, the items in flight are reported ``unknown``.
    """
    tracker = ProgressTracker(action.name, len(items), progress, clock=clock)
    tracker.report()
    run = _Run(client=client, action=action, journal=journal, tracker=tracker, concurrency=concurrency)
    if journal is not None:
        run.uncertain = {i for i in items if (e := journal.entry(i, action.name)) is not None and e.uncertain}
    pending: Sequence[str] = items
    try:
        passes = 0
        while True:
            if passes:  # retried items are no longer counted as failed
                tracker.failed -= sum(run.open[i][0] is ReportOutcome.FAILED for i in pending)
            await run.run_pass(pending)
            if run.abort is not None:
                break
            left = [i for i in pending if _retryable(run.open.get(i))]
            # A pass whose only failures were limit answers, and that settled something, is free: the
            # limiter waits for the bucket and each method's operating reset, so it cannot loop for ever.
            if len(left) == len(pending) or not all(_limited(run.open[i]) for i in left):
                passes += 1
            pending = left
            if not pending or passes > retries:
                break
    finally:  # also when cancelled (Ctrl+C): the report and the journal's run_end say how far it got
        counts = run.outcome_counts(items)
        for outcome in ReportOutcome:
            if counts[outcome]:
                report.counts[outcome.value] += counts[outcome]
        report.failures.extend(run.failures(items))
    if run.abort is not None:
        report.aborted = str(run.abort)
        raise JobAbortedError(report, run.abort)


def _limited(result: tuple[ReportOutcome, ItemFailure]) -> bool:
    return result[1].code in ("QUERY_LIMIT_EXCEEDED", "OPERATION_TIME_LIMIT")


def _retryable(result: tuple[ReportOutcome, ItemFailure] | None) -> bool:
    return result is not None and result[1].transient


@attrs.frozen
class JobOptions:
    """How a job runs, shared by every job: see :func:`~bitrix_bizproc.jobs.terminate_workflows`."""

    dry_run: bool = False
    journal: JournalArg = None
    progress: ProgressCallback | None = None
    confirm: Confirm | None = None
    retry_failed: bool = False
    concurrency: int = attrs.field(default=8)
    clock: Callable[[], float] = time.monotonic

    @concurrency.validator
    def _check_concurrency(self, _: object, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 64:
            raise ClientValidationError(f"concurrency must be an int in 1..64, got {value!r}")


Recorded = Callable[[Mapping[str, Any]], Mapping[str, Any]]
"""A journal's recorded run parameters as this version would write them (an older one wrote them as given)."""


def _check_same_job(
    log: Journal, job: str, action: str, params: dict[str, Any], recorded: Recorded | None = None
) -> None:
    """Refuse to resume a journal written by another job (its unfinished items would be sent too)."""
    runs = [e for e in log.events if e.get("event") == "run_start"]
    if not runs:
        return
    last = runs[-1]
    wanted = json.loads(json.dumps({"job": job, "action": action, **params}, default=str))
    found = {key: last.get(key) for key in wanted}
    if recorded is not None:
        found = json.loads(json.dumps(dict(recorded(found)), default=str))
    if found != wanted:
        raise ClientValidationError(
            f"the journal {str(log.path)!r} belongs to another job ({found}); "
            "use a new journal file for this one",
        )


async def run_job(
    client: BizprocClient,
    items: Sequence[str],
    action: Action,
    report: JobReport,
    log: Journal | None,
    options: JobOptions,
    *,
    started: float,
    excluded: Sequence[Exclusion] = (),
    held: Sequence[Exclusion] = (),
    recorded: Recorded | None = None,
    **event: Any,
) -> bool:
    """Plan ``items`` against the journal, then list them (dry run) or apply ``action``; True if it ran.

    ``excluded`` rows (listed, but failing the job's filter re-check) are counted, never acted on, and
    journaled as ``excluded`` so that no resume acts on them either. ``held`` items (carried over from
    the journal, not checkable here) are not sent and their journal records are left as they are: each
    counts as ``unknown`` if an earlier send may have done it, else ``not_attempted``. ``recorded``
    rewrites the journal's recorded ``event`` parameters as this version writes them before comparing.
    """
    if log is not None:
        _check_same_job(log, report.job, action.name, event, recorded)
    report.matched = len(items)
    if excluded:
        report.counts[ReportOutcome.EXCLUDED.value] += len(excluded)
    report.held.extend(held)
    for kept in held:
        entry = log.entry(kept.item, action.name) if log is not None else None
        uncertain = entry is not None and entry.uncertain
        report.counts[(ReportOutcome.UNKNOWN if uncertain else ReportOutcome.NOT_ATTEMPTED).value] += 1
    requests_before = client.stats.requests
    skip = [e.item for e in (*excluded, *held)]
    todo = plan_items(items, action.name, log, report, retry_failed=options.retry_failed, excluded=skip)
    if not options.dry_run and todo and options.confirm is not None:
        asked = options.clock()
        report.declined = not options.confirm(todo)
        started += options.clock() - asked  # the time a person takes to answer is not the job's
    if options.dry_run or report.declined:
        report.dry_run = True
        report.planned = todo
        report.counts[ReportOutcome.PLANNED.value] += len(todo)
        report.elapsed = options.clock() - started
        return False
    if log is not None:
        try:
            await log.commit_event("run_start", job=report.job, action=action.name, items=len(todo), **event)
            if excluded:
                await log.commit(
                    JournalEntry(e.item, action.name, JournalOutcome.EXCLUDED, "FILTER_MISMATCH", e.reason)
                    for e in excluded
                )
        except JournalError as exc:  # nothing was sent
            report.aborted = str(exc)
            report.counts[ReportOutcome.NOT_ATTEMPTED.value] += len(todo)
            report.elapsed = options.clock() - started
            raise JobAbortedError(report, exc) from exc
    try:
        await run_action(
            client,
            todo,
            action,
            report,
            journal=log,
            progress=options.progress,
            concurrency=options.concurrency,
            clock=options.clock,
        )
    finally:
        report.elapsed = options.clock() - started
        report.requests = client.stats.requests - requests_before
        if log is not None:
            await _record_end(log, report)
    return True


async def _record_end(log: Journal, report: JobReport) -> None:
    """Journal ``run_end``; a journal that fails now must not hide the report or the original error."""
    try:
        await log.commit_event("run_end", counts=dict(report.counts), aborted=report.aborted)
    except JournalError as exc:
        logger.warning("could not write run_end to the journal: %s", exc)
        if report.aborted is None:
            report.aborted = str(exc)
    except asyncio.CancelledError:  # cancelled again while writing: the records before it are durable
        logger.warning("run_end not written: cancelled")
        raise
