"""Read-only walks the jobs start from: a snapshot of matching IDs, a count, a dismissed user, open tasks.

Every destructive job lists first and acts second: terminating an instance takes it out of
``bizproc.workflow.instances``, which would shift every later offset of a walk still in progress (the
paging trap). Snapshotting the IDs before the first command is sent makes each match processed exactly once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from .._client import BizprocClient
from ..models.filters import WORKFLOW_SPEC, FilterLike
from ..models.user import User
from ..models.workflow import WorkflowInstance
from ..protocol.errors import ClientValidationError, NotFoundError
from ..protocol.local_filters import DateCondition, split_filter
from .progress import ProgressCallback, ProgressTracker

__all__ = [
    "OpenTask",
    "UserRef",
    "check_instance_filter",
    "count_instances",
    "find_dismissed_user",
    "open_tasks",
    "snapshot_instance_ids",
]


log = logging.getLogger("bitrix_bizproc")

_INSTANCES = "bizproc.workflow.instances"
_DATES: dict[str, Callable[[WorkflowInstance], Any]] = {
    "STARTED": lambda row: row.started,
    "MODIFIED": lambda row: row.modified,
}


def _split(
    client: BizprocClient, filter: Mapping[str, Any]
) -> tuple[dict[str, Any], tuple[DateCondition, ...]]:
    """The filter the far side applies, and the date conditions checked here (the gateway lacks them)."""
    return split_filter(filter, client.session.dialect.served_filters(_INSTANCES), frozenset(_DATES))


def check_instance_filter(filter: FilterLike) -> dict[str, Any]:
    """The checked wire filter; refuses unknown fields/operators and an empty filter (it would match all)."""
    checked = WORKFLOW_SPEC.check_filter(filter)
    if not checked:
        raise ClientValidationError(
            "an empty filter matches every running workflow; give at least one condition"
        )
    return checked


async def snapshot_instance_ids(
    client: BizprocClient,
    filter: Mapping[str, Any],
    *,
    keep: Callable[[WorkflowInstance], bool] | None = None,
    progress: ProgressCallback | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> list[str]:
    """Every matching running instance's ID, unique, read completely before anything is changed."""
    tracker = ProgressTracker("listing", None, progress, clock=clock)

    def on_rows(rows: int, total: int | None) -> None:
        tracker.total = total
        tracker.advance(rows - tracker.done)

    served, conditions = _split(client, filter)
    if conditions:
        ids = await _matching_ids(client, served, conditions, keep, on_rows)
    elif keep is None:
        walk = client.workflows.instances(dict(filter), select=["ID"], progress=on_rows)
        ids = [str(i) for i in dict.fromkeys(await walk.snapshot_ids())]
    else:
        walk = client.workflows.instances(dict(filter), select=["ID", "DOCUMENT_ID"], progress=on_rows)
        rows = await walk.collect()
        ids = list(dict.fromkeys(str(r.id) for r in rows if r.id is not None and keep(r)))
    tracker.done = tracker.total = len(ids)
    tracker.report()
    return ids


async def _matching_ids(
    client: BizprocClient,
    served: Mapping[str, Any],
    conditions: tuple[DateCondition, ...],
    keep: Callable[[WorkflowInstance], bool] | None,
    on_rows: Callable[[int, int | None], None] | None = None,
) -> list[str]:
    """IDs of the rows matching ``served`` (on the far side) and ``conditions`` (here), before any change.

    A row whose date is missing or unparsable is left out (and logged): it is not known to match.
    """
    fields = sorted({"ID", "DOCUMENT_ID", *(c.field for c in conditions)})
    walk = client.workflows.instances(dict(served), select=fields, progress=on_rows)
    ids: list[str] = []
    unknown: list[str] = []
    for row in await walk.collect():
        if row.id is None:
            continue
        held = [c.holds(_DATES[c.field](row)) for c in conditions]
        if None in held:
            unknown.append(str(row.id))
        elif all(held) and (keep is None or keep(row)):
            ids.append(str(row.id))
    if unknown:
        log.warning(
            "%d workflow(s) left alone: their %s is missing or unparsable (%s)",
            len(unknown),
            "/".join(sorted({c.field for c in conditions})),
            ", ".join(unknown[:10]),
        )
    return list(dict.fromkeys(ids))


async def count_instances(client: BizprocClient, filter: Mapping[str, Any]) -> int:
    """How many running instances match ``filter`` now (one request: the first page's ``total``)."""
    served, conditions = _split(client, filter)
    if conditions:
        return len(await _matching_ids(client, served, conditions, None))
    page = await client.workflows.instances_page(dict(filter), select=["ID"])
    return page.total if page.total is not None else len(page.items)


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


async def find_dismissed_user(client: BizprocClient, user: int | str) -> UserRef:
    """The dismissed (``ACTIVE`` false) user with this ID or "First Last" name; exactly one must match."""
    if isinstance(user, bool):
        raise ClientValidationError("user must be an ID or a name")
    text = str(user).strip()
    if isinstance(user, int) or text.isdigit():
        filter: dict[str, Any] = {"ID": int(text), "ACTIVE": False}
    else:
        first, _, last = text.partition(" ")
        if not first:
            raise ClientValidationError("user must be an ID or a name such as 'Anna Petrova'")
        filter = {"NAME": first, "ACTIVE": False}
        if last.strip():
            filter["LAST_NAME"] = last.strip()
    matches = [u for u in await client.users.list(filter=filter).collect() if u.id is not None]
    if not matches:
        active = await client.users.list(filter={**filter, "ACTIVE": True}).collect(limit=1)
        why = f"; user {active[0].id} ({_user_name(active[0])}) is still active" if active else ""
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
) -> list[OpenTask]:
    """All of the user's open (``STATUS`` 0) tasks, every page, unique by task ID."""
    tracker = ProgressTracker("listing", None, progress, clock=clock)
    seen: set[int] = set()
    tasks: list[OpenTask] = []
    walk = client.tasks.list(filter={"USER_ID": user_id, "STATUS": 0}, select=["ID", "WORKFLOW_ID"])
    async for task in walk:
        if task.id is None or task.workflow_id is None or task.id in seen:
            continue
        seen.add(task.id)
        tasks.append(OpenTask(id=int(task.id), workflow_id=str(task.workflow_id)))
    tracker.total = len(tasks)
    tracker.advance(len(tasks))
    return tasks
