"""Mass termination: stop (or delete) every running workflow that matches a filter, safely and resumably."""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

from .._client import BizprocClient
from ..models.documents import DocumentType
from ..models.filters import WORKFLOW_SPEC, FilterLike
from ..protocol.errors import BitrixError, ClientValidationError, ValidationError, WorkflowNotFoundError
from ..services._checks import positive_int
from ._listing import (
    check_instance_filter,
    instance_probe,
    note_exclusions,
    recheck_carryover,
    snapshot_instance_ids,
)
from ._recheck import RowCheck, sent_as_checked
from ._runner import Action, Confirm, JobOptions, JournalArg, opened_journal, run_job
from .progress import ProgressCallback
from .report import JobReport

__all__ = ["instance_filter", "terminate_workflows", "workflow_action"]

Mode = Literal["terminate", "kill"]


def workflow_gone(error: BitrixError) -> bool:
    """Only the portal's own "WorkflowNotFound" means gone; auth, access or a missing method never do."""
    return isinstance(error, WorkflowNotFoundError)


def workflow_action(mode: Mode, status: str | None = None) -> Action:
    """The batch command for one workflow ID: ``bizproc.workflow.terminate`` (with ``status``) or ``kill``."""
    if mode == "terminate":
        return Action(
            "terminate",
            lambda batch, wf_id: batch.workflows.terminate(wf_id, status=status),
            is_gone=workflow_gone,
        )
    if mode == "kill":
        if status is not None:
            raise ValidationError(
                "status applies to terminate only; kill deletes the workflow and its record"
            )
        return Action("kill", lambda batch, wf_id: batch.workflows.kill(wf_id), is_gone=workflow_gone)
    raise ClientValidationError(f"mode must be 'terminate' or 'kill', not {mode!r}")


def _iso(value: _dt.date | _dt.datetime | str) -> str:
    if isinstance(value, str):
        try:
            parsed = _dt.datetime.fromisoformat(value)
        except ValueError:
            raise ClientValidationError(f"not an ISO date: {value!r} (e.g. 2025-01-01)") from None
        return _iso(parsed)
    if not isinstance(value, _dt.datetime):
        value = _dt.datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=_dt.UTC)
    return value.isoformat()


def instance_filter(
    *,
    started_before: _dt.date | _dt.datetime | str | None = None,
    started_after: _dt.date | _dt.datetime | str | None = None,
    template_id: int | None = None,
    started_by: int | None = None,
) -> dict[str, Any]:
    """A ``bizproc.workflow.instances`` filter from the usual criteria (naive dates are UTC)."""
    out: dict[str, Any] = {}
    if started_before is not None:
        out["<STARTED"] = _iso(started_before)
    if started_after is not None:
        out[">=STARTED"] = _iso(started_after)
    if template_id is not None:
        out["TEMPLATE_ID"] = positive_int(template_id, "template_id")
    if started_by is not None:  # 0: started by the system (an automation rule, an event)
        system = type(started_by) is int and started_by == 0
        out["STARTED_BY"] = 0 if system else positive_int(started_by, "started_by")
    return out


def _recorded(params: Mapping[str, Any]) -> dict[str, Any]:
    """A journal's run_start parameters with the filter's dates as sent now (older versions kept them as
    given, e.g. ``2024-01-01``): the same job stays the same job."""
    stored = params.get("filter")
    if not isinstance(stored, dict):
        return dict(params)
    return {**params, "filter": sent_as_checked(WORKFLOW_SPEC, stored)}


def _document_type_check(
    document_type: DocumentType | None,
) -> Callable[[Mapping[str, Any]], bool] | None:
    """Instances carry no type field: smart-process and list types are matched on the DOCUMENT_ID prefix."""
    if document_type is None:
        return None
    if document_type.module != "crm":  # a list element or a Drive file: DOCUMENT_ID is a bare number
        raise ClientValidationError(
            f"document type {document_type.to_wire()!r}: a running workflow does not say which list or "
            "storage its document is in (its DOCUMENT_ID is the bare element or file id), so these "
            "workflows cannot be told from those of another one; filter on TEMPLATE_ID (the templates of "
            "that document type) instead",
        )
    if not document_type.type.startswith("DYNAMIC_"):
        return None
    prefix = document_type.type + "_"
    return lambda row: str(row.get("DOCUMENT_ID") or "").startswith(prefix)


def _refuse_patterns(checked: dict[str, Any]) -> None:
    """Text conditions the portal reads as LIKE: refused unless the row re-check can make them exact.

    ``DEAL_1`` is a pattern there (``_`` is any one character); the re-check keeps only rows whose
    DOCUMENT_ID is exactly one of the values given. A value with ``%``, or a pattern on another field,
    names no item the job could check: it is refused before anything is sent.
    """
    for key in WORKFLOW_SPEC.patterns(checked):
        value = checked[key]
        values = value if isinstance(value, list) else [value]
        if key != "DOCUMENT_ID" or any("%" in str(v) for v in values):
            raise ClientValidationError(
                f"{key}={value!r} is a pattern on the portal (it compares text with LIKE, where % and _ "
                "are wildcards) and may match more than it names; a destructive job acts only on what "
                "its filter names exactly",
            )


async def terminate_workflows(
    client: BizprocClient,
    *,
    filter: FilterLike,
    mode: Mode = "terminate",
    status: str | None = None,
    dry_run: bool = False,
    journal: JournalArg = None,
    progress: ProgressCallback | None = None,
    document_type: DocumentType | None = None,
    confirm: Confirm | None = None,
    retry_failed: bool = False,
    verify: bool = True,
    concurrency: int = 8,
    clock: Callable[[], float] = time.monotonic,
) -> JobReport:
    """Terminate or kill every running workflow matching ``filter``; each exactly once, journaled, resumable.

    The matching IDs are read completely first (never paging while terminating); then they go out as
    batches of 50 under the client's limiter. With ``dry_run`` nothing is changed and the report's
    ``planned`` lists the IDs; ``confirm`` (shown the planned IDs) may still cancel the run. With a
    ``journal`` a rerun skips what is done, retries what failed transiently or was in flight when the
    process died, and counts an item the portal no longer knows as ``already_gone`` (or ``done`` when an
    earlier send of ours may have done it: its answer was lost, or it was in flight at a crash).
    Every listed row is re-checked against the filter first: one that fails it (the portal ignored part
    of the filter) is reported ``excluded`` and journaled, never acted on. A condition that cannot be
    checked on a row, or that the portal would read as a pattern, is refused before any request.
    Raises :class:`JobAbortedError` if credentials are refused or the portal stays down.
    """
    action = workflow_action(mode, status)
    keep = _document_type_check(document_type)
    wire = dict(WORKFLOW_SPEC.check_filter(filter) or {})
    if document_type is not None:  # a condition of its own: the type alone is a filter
        wire.setdefault("MODULE_ID", document_type.module)
        wire.setdefault("ENTITY", document_type.entity)
    checked = check_instance_filter(wire)
    _refuse_patterns(checked)
    check = RowCheck.build(WORKFLOW_SPEC, checked)  # refuses what it cannot evaluate, before any request
    started = clock()
    report = JobReport(job="terminate_workflows", action=action.name, dry_run=dry_run)
    options = JobOptions(dry_run, journal, progress, confirm, retry_failed, concurrency, clock)
    with opened_journal(journal) as log:
        listing = await snapshot_instance_ids(
            client, checked, check=check, keep=keep, progress=progress, clock=clock
        )
        note_exclusions(report, listing)
        probe = instance_probe(client, check, keep)
        listing = await recheck_carryover(log, action.name, listing, report, probe)
        ran = await run_job(
            client, listing.items, action, report, log, options,
            started=started, excluded=listing.excluded, held=listing.held,
            recorded=_recorded, filter=checked,
        )  # fmt: skip
    if not ran:
        return report
    if verify:  # what provably matches is left: rows a portal lists wrongly are not counted
        remaining = await snapshot_instance_ids(client, checked, check=check, keep=keep, clock=clock)
        report.remaining = len(remaining.items)
    return report
