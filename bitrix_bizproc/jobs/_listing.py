"""Read-only walks the jobs start from: a snapshot of matching IDs, a count, a dismissed user, open tasks.

Every destructive job lists first and acts second: terminating an instance takes it out of
``bizproc.workflow.instances``, which would shift every later offset of a walk still in progress (the
paging trap). Snapshotting the IDs before the first command is sent makes each match processed exactly once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import aclosing
from typing import Any

import attrs

from .._client import BizprocClient
from ..models.converter import wire_values
from ..models.filters import TASK_SPEC, WORKFLOW_SPEC, FilterLike
from ..models.user import User
from ..models.workflow import WorkflowInstance
from ..protocol.encoding import digits
from ..protocol.errors import ClientValidationError, NotFoundError, UnsupportedOperationError
from ..protocol.local_filters import DateCondition, split_filter
from ._recheck import RowCheck, sent_as_checked
from .journal import Journal
from .progress import ProgressCallback, ProgressTracker
from .report import Exclusion, JobReport

__all__ = [
    "Listing",
    "OpenTask",
    "UserRef",
    "check_instance_filter",
    "find_dismissed_user",
    "instance_probe",
    "note_exclusions",
    "open_task_probe",
    "open_tasks",
    "recheck_carryover",
    "snapshot_instance_ids",
]


logger = logging.getLogger("bitrix_bizproc")

READ_AHEAD_PAGES = 200  # a listing's memory budget: pages fetched ahead of the re-check (10,000 rows)


@attrs.frozen
class Listing:
    """What a job's listing found: the items to act on, and the listed rows its re-check excluded."""

    items: list[str]
    excluded: list[Exclusion] = attrs.Factory(list)
    held: list[Exclusion] = attrs.Factory(list)  # carried-over items that cannot be checked: not sent


def note_exclusions(report: JobReport, listing: Listing) -> None:
    """Put the excluded rows in the report and say loudly that the portal widened the filter."""
    report.excluded = list(listing.excluded)
    if listing.excluded:
        warning = f"the portal ignored part of the filter; {len(listing.excluded)} rows excluded"
        report.warnings.append(warning)
        logger.warning("%s: %s", report.job, warning)


_INSTANCES = "bizproc.workflow.instances"
_DATES = frozenset({"STARTED", "MODIFIED"})  # date fields a condition may be applied to here


def _split(
    client: BizprocClient, filter: Mapping[str, Any]
) -> tuple[dict[str, Any], tuple[DateCondition, ...]]:
    """The filter the far side applies, and the date conditions only the client can (the gateway's)."""
    return split_filter(filter, client.session.dialect.served_filters(_INSTANCES), _DATES)


def _fails_locally(row: Mapping[str, Any], conditions: tuple[DateCondition, ...]) -> bool:
    """A date condition the far side never saw is known to fail (a missing date is left to the re-check)."""
    return any(c.holds(row.get(c.field)) is False for c in conditions)


_MODULES = frozenset({"crm", "lists", "disk", "iblock", "tasks", "rpa"})  # a DOCUMENT_ID triple starts so


def _refuse_triples(checked: Mapping[str, Any]) -> None:
    """A ``[module, entity, id]`` document triple given as DOCUMENT_ID: the instances list reads a list as
    IN and compares the last part only, so ``['lists', ..., '123']`` names "123" of every module."""
    for key, value in checked.items():
        if key.lstrip("!") != "DOCUMENT_ID" or not isinstance(value, list | tuple) or len(value) != 3:
            continue
        if isinstance(value[0], str) and value[0] in _MODULES:
            module, entity, last = value
            raise ClientValidationError(
                f"{key}={list(value)!r} is a document triple, which this filter would read as three "
                f"IDs; write {{'MODULE_ID': {module!r}, 'ENTITY': {entity!r}, 'DOCUMENT_ID': {last!r}}}",
            )


def check_instance_filter(filter: FilterLike) -> dict[str, Any]:
    """The checked wire filter; refuses unknown fields/operators and an empty filter (it would match all)."""
    checked = WORKFLOW_SPEC.check_filter(filter)
    if not checked:
        raise ClientValidationError(
            "an empty filter matches every running workflow; give at least one condition"
        )
    _refuse_triples(checked)
    return sent_as_checked(WORKFLOW_SPEC, checked)  # a date means the same instant there and here


async def snapshot_instance_ids(
    client: BizprocClient,
    filter: Mapping[str, Any],
    *,
    check: RowCheck | None = None,
    keep: Callable[[Mapping[str, Any]], bool] | None = None,
    progress: ProgressCallback | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Listing:
    """Every matching running instance's ID, unique, read completely before anything is changed.

    Each row is re-checked against ``filter`` (``check``, built from it when not given): a row that
    fails it, or lacks a field to decide, is excluded with the reason. Date comparisons the far side
    cannot filter on (the Vibecode gateway's ``<STARTED``) are not sent: rows they rule out are dropped
    silently, and a row without a readable date is excluded by the re-check, never acted on. ``keep``
    drops rows silently (conditions the portal cannot filter on, such as a smart-process type); it is
    given the row as wire name -> value and reads ``DOCUMENT_ID``, selected only then. Rows are read
    (only the selected fields, no model built) and re-checked as their pages arrive; what stays is the
    IDs and the exclusions.
    """
    check = check or RowCheck.build(WORKFLOW_SPEC, filter)
    tracker = ProgressTracker("listing", None, progress, clock=clock)

    def on_rows(rows: int, total: int | None) -> None:
        tracker.total = total
        tracker.advance(rows - tracker.done)

    served, local = _split(client, filter)  # the gateway: date comparisons are applied here only
    fields = ["ID", *(["DOCUMENT_ID"] if keep is not None else []), *check.select, *(c.field for c in local)]
    select = list(dict.fromkeys(fields))
    read = wire_values(WorkflowInstance, select)  # the selected fields, as the model would hold them
    walk = client.workflows.instance_rows(
        served, select=select, progress=on_rows, max_buffered_pages=READ_AHEAD_PAGES
    )
    ids: dict[str, None] = {}
    excluded: dict[str, Exclusion] = {}
    async with aclosing(walk.pages()) as pages:
        async for page in pages:  # row by row as pages arrive: the rows are not all held at once
            for raw in page.items:
                row = read(raw)
                row_id = row["ID"]
                if row_id is None or (keep is not None and not keep(row)) or _fails_locally(row, local):
                    continue
                why = check.why_not_values(row)
                if why is None:
                    ids[row_id] = None
                else:
                    excluded.setdefault(row_id, Exclusion(row_id, why))
    tracker.done = tracker.total = len(ids)
    tracker.report()
    return Listing(list(ids), [e for i, e in excluded.items() if i not in ids])


_PROBE = 50  # carried-over IDs looked up per request: one page, so no paging gap can hide a row


class _NotCheckable(Exception):
    """The far side's answer to a look-up by ID cannot be trusted (it listed other items)."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description

Probe = Callable[[list[str]], Awaitable[dict[str, str]]]
"""Carried-over items (at most ``_PROBE``) -> why each one that still runs provably fails the job's filter."""


async def recheck_carryover(
    log: Journal | None, action: str, listing: Listing, report: JobReport, probe: Probe
) -> Listing:
    """Exclude the carried-over items that still run but provably no longer match; hold the uncheckable.

    A resumed run re-sends what an earlier run left unsettled (failed transiently, in flight, answer
    lost). One the new listing did not return may have stopped matching (its task taken over, its
    ``MODIFIED`` moved on), or the listing may have missed it (offset paging skips rows when others
    leave). ``probe`` looks such items up by ID and re-checks them: one that still runs and fails is
    excluded with the check's reason; one that passes, or no longer runs, is sent (the portal's
    not-found settles it). Where the far side cannot look items up (the gateway), none is excluded or
    sent: they are held (reported unknown or not attempted, with the reason) and stay in the journal.
    """
    if log is None:
        return listing
    listed = {*listing.items, *(e.item for e in listing.excluded)}
    carried = [e.item for e in log.entries(action) if e.needs_retry and e.item not in listed]
    if not carried:
        return listing
    failing: dict[str, str] = {}
    try:
        for start in range(0, len(carried), _PROBE):
            failing.update(await probe(carried[start : start + _PROBE]))
    except (UnsupportedOperationError, _NotCheckable) as exc:
        why = f"carried over, not listed again, and not checkable here ({exc.description})"
        held = [Exclusion(item, why) for item in carried]
        shown = ", ".join(carried[:10]) + (" ..." if len(carried) > 10 else "")
        warning = (
            f"{len(held)} items carried over from the journal cannot be checked here ({exc.description}): "
            f"not sent, kept in the journal for a run that can check them (a webhook or an app): {shown}"
        )
        report.warnings.append(warning)
        logger.warning("%s: %s", report.job, warning)
        return attrs.evolve(listing, held=held)
    if not failing:
        return listing
    stale = [Exclusion(item, f"carried over from the journal: {why}") for item, why in failing.items()]
    report.excluded.extend(stale)
    warning = f"{len(stale)} items carried over from the journal no longer match; excluded, not re-sent"
    report.warnings.append(warning)
    logger.warning("%s: %s", report.job, warning)
    return attrs.evolve(listing, excluded=[*listing.excluded, *stale])


async def _running_rows(
    client: BizprocClient, ids: list[str], select: list[str]
) -> dict[str, Mapping[str, Any]]:
    """The running instances among ``ids``, as wire name -> value; one page at most.

    An ID not returned is not running (sent again: the portal's not-found settles it). A portal that
    ignored the ID filter (it drops keys it does not take) lists other instances instead, which proves
    nothing about those asked for: :class:`_NotCheckable` (only ``len(ids)`` rows are read).
    """
    fields = list(dict.fromkeys(["ID", *select]))
    read = wire_values(WorkflowInstance, fields)
    wanted = set(ids)
    walk = client.workflows.instance_rows({"ID": ids}, select=fields)  # a list is IN; the gateway refuses
    rows = [read(raw) for raw in await walk.collect(limit=len(ids))]
    if any(row["ID"] not in wanted for row in rows):
        raise _NotCheckable("the portal ignored the ID filter of bizproc.workflow.instances")
    return {row["ID"]: row for row in rows}


def instance_probe(
    client: BizprocClient, check: RowCheck, keep: Callable[[Mapping[str, Any]], bool] | None
) -> Probe:
    """A running carried-over instance fails if it fails ``check`` or ``keep`` (the job's own tests)."""
    select = [*(["DOCUMENT_ID"] if keep is not None else []), *check.select]

    async def probe(ids: list[str]) -> dict[str, str]:
        failing: dict[str, str] = {}
        for row_id, row in (await _running_rows(client, ids, select)).items():
            why = check.why_not_values(row)
            if why is None and keep is not None and not keep(row):
                why = f"DOCUMENT_ID={row.get('DOCUMENT_ID')!r} is not of the job's document type"
            if why is not None:
                failing[row_id] = f"still running, but {why}"
        return failing

    return probe


def open_task_probe(client: BizprocClient, user_id: int) -> Probe:
    """A running carried-over workflow fails if the user provably has no open task in it any more."""

    async def probe(ids: list[str]) -> dict[str, str]:
        running = list(await _running_rows(client, ids, []))
        if not running:
            return {}
        filter = {"USER_ID": user_id, "STATUS": 0, "WORKFLOW_ID": running}
        check = RowCheck.build(TASK_SPEC, filter)
        walk = client.tasks.list(filter=filter, select=["ID", *check.select])
        theirs = {str(t.workflow_id) async for t in walk if check.why_not(t) is None}
        why = f"still running, but user {user_id} has no open task in it any more"
        return {wf_id: why for wf_id in running if wf_id not in theirs}

    return probe


@attrs.frozen
class UserRef:
    """A dismissed employee found through ``user.get``."""

    id: int
    name: str


@attrs.frozen
class OpenTask:
    """One open task of a user and the workflow it belongs to."""

    id: int
    workflow_id: str


def _user_name(user: User) -> str:
    return " ".join(p for p in (user.name, user.last_name) if p) or f"user {user.id}"


def _same(value: str | None, wanted: str) -> bool:
    return value is not None and value.strip().casefold() == wanted.casefold()


def _named(user: User, filter: Mapping[str, Any]) -> bool:
    """Whether ``user`` is the one ``filter`` names (its ID, or its first and last name), whatever the
    portal made of the filter: ``user.get`` silently drops a condition on a field the scope may not read."""
    if "ID" in filter:
        return user.id is not None and user.id == int(filter["ID"])
    return user.id is not None and all(
        _same(getattr(user, attr), str(filter[key]))
        for key, attr in (("NAME", "name"), ("LAST_NAME", "last_name"))
        if key in filter
    )


_NAMESAKES = 50  # active users read to say who is still active: one page, not every user of a portal


async def find_dismissed_user(client: BizprocClient, user: int | str) -> UserRef:
    """The dismissed (``ACTIVE`` false) user with this ID or "First Last" name; exactly one must match.

    Each user the portal returns is checked against the ID or name asked for and must read as inactive.
    """
    if isinstance(user, bool):
        raise ClientValidationError("user must be an ID or a name")
    text = str(user).strip()
    if isinstance(user, int) or digits(text):
        filter: dict[str, Any] = {"ID": int(text), "ACTIVE": False}
    else:
        first, _, last = text.partition(" ")
        if not first:
            raise ClientValidationError("user must be an ID or a name such as 'Anna Petrova'")
        filter = {"NAME": first, "ACTIVE": False}
        if last.strip():
            filter["LAST_NAME"] = last.strip()
    listed = await client.users.list(filter=filter).collect()
    matches = [u for u in listed if _named(u, filter) and u.active is False]
    if not matches:
        active = [
            u
            for u in await client.users.list(filter={**filter, "ACTIVE": True}).collect(limit=_NAMESAKES)
            if _named(u, filter) and u.active is True
        ]
        why = f"; user {active[0].id} ({_user_name(active[0])}) is still active" if active else ""
        if len(listed) > len(matches):
            why += f"; the portal returned {len(listed)} other users (it ignored part of the filter)"
        raise NotFoundError(f"no dismissed (inactive) user matches {text!r}{why}", code="USER_NOT_FOUND")
    if len(matches) > 1:
        found = ", ".join(f"{u.id} ({_user_name(u)})" for u in matches[:10])
        raise ClientValidationError(
            f"{len(matches)} dismissed users match {text!r}: {found}; pass the ID instead"
        )
    found_id = matches[0].id
    assert found_id is not None
    return UserRef(id=found_id, name=_user_name(matches[0]))


async def open_tasks(
    client: BizprocClient,
    user_id: int,
    *,
    progress: ProgressCallback | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[list[OpenTask], list[tuple[OpenTask, str]]]:
    """All of the user's open (``STATUS`` 0) tasks, every page, unique by task ID; each row re-checked.

    A listed task that is not the user's, not open, or lacks either field is returned with the reason in
    the second list instead.
    """
    tracker = ProgressTracker("listing", None, progress, clock=clock)
    filter = {"USER_ID": user_id, "STATUS": 0}
    check = RowCheck.build(TASK_SPEC, filter)
    seen: set[int] = set()
    tasks: list[OpenTask] = []
    excluded: list[tuple[OpenTask, str]] = []
    walk = client.tasks.list(filter=filter, select=["ID", "WORKFLOW_ID", *check.select])
    async for task in walk:
        if task.id is None or task.workflow_id is None or task.id in seen:
            continue
        seen.add(task.id)
        found = OpenTask(id=int(task.id), workflow_id=str(task.workflow_id))
        why = check.why_not(task)
        if why is None:
            tasks.append(found)
        else:
            excluded.append((found, why))
    tracker.total = len(tasks)
    tracker.advance(len(tasks))
    return tasks, excluded
