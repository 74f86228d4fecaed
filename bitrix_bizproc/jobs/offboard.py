"""Offboarding: clear out the running workflows and open tasks of a dismissed employee."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from .._client import BizprocClient
from ..protocol.errors import BitrixError, NotFoundError, ValidationError
from ._listing import (
    Listing,
    OpenTask,
    find_dismissed_user,
    note_exclusions,
    open_task_probe,
    open_tasks,
    recheck_carryover,
)
from ._runner import Action, Confirm, JobOptions, JournalArg, opened_journal, run_job
from .progress import ProgressCallback
from .report import Exclusion, JobReport
from .terminate import workflow_action

__all__ = ["delegate_action", "offboard_employee"]

OffboardAction = Literal["terminate", "kill", "delegate"]


# "User is not responsible for the task", as an English and a Russian portal say it (the docs' page of
# bizproc.task.delegate, "Possible error codes", in both languages).
_NOT_RESPONSIBLE = ("not responsible", "не является ответственным")


def _no_longer_theirs(error: BitrixError) -> bool:
    """The task is gone or no longer the user's (delegated by an earlier attempt whose answer was lost)."""
    if isinstance(error, NotFoundError) and error.code == "ERROR_TASK_NOT_FOUND":
        return True
    text = error.description.lower()
    return error.code == "ERROR_DELEGATION_NOT_ALLOWED" and any(p in text for p in _NOT_RESPONSIBLE)


def delegate_action(from_user: int, to_user: int) -> Action:
    """The batch command delegating one task (item = task ID) from one user to another."""
    return Action(
        "delegate",
        lambda batch, task_id: batch.tasks.delegate([int(task_id)], from_user=from_user, to_user=to_user),
        is_gone=_no_longer_theirs,
    )


async def _check_recipient(client: BizprocClient, to_user: int | None, from_user: int) -> int:
    if to_user is None or isinstance(to_user, bool) or int(to_user) <= 0:
        raise ValidationError("delegate needs to_user: the ID of the employee taking over the tasks")
    if int(to_user) == from_user:
        raise ValidationError(
            f"cannot delegate user {from_user}'s tasks to user {from_user}: pick another user"
        )
    listed = await client.users.list(filter={"ID": int(to_user), "ACTIVE": True}).collect()
    found = [u for u in listed if u.id == int(to_user) and u.active is True]  # user.get drops keys silently
    if not found:
        raise ValidationError(f"user {to_user} does not exist or is not active: cannot take over tasks")
    return int(to_user)


def _listing(tasks: list[OpenTask], excluded: list[tuple[OpenTask, str]], action: str) -> Listing:
    """The items to act on (task IDs to delegate, or unique workflow IDs) and the excluded ones.

    A workflow is excluded only if none of its tasks passed the re-check.
    """
    if action == "delegate":
        return Listing([str(t.id) for t in tasks], [Exclusion(str(t.id), why) for t, why in excluded])
    items = list(dict.fromkeys(t.workflow_id for t in tasks))  # unique workflow IDs, first-seen order
    kept = set(items)
    out: dict[str, Exclusion] = {}
    for task, why in excluded:
        if task.workflow_id not in kept:
            out.setdefault(task.workflow_id, Exclusion(task.workflow_id, f"task {task.id}: {why}"))
    return Listing(items, list(out.values()))


async def offboard_employee(
    client: BizprocClient,
    *,
    user: int | str,
    action: OffboardAction = "terminate",
    to_user: int | None = None,
    status: str | None = None,
    dry_run: bool = False,
    journal: JournalArg = None,
    progress: ProgressCallback | None = None,
    confirm: Confirm | None = None,
    retry_failed: bool = False,
    verify: bool = True,
    concurrency: int = 8,
    clock: Callable[[], float] = time.monotonic,
) -> JobReport:
    """Find a dismissed user (by ID or "First Last"), then terminate/kill the workflows of all their open
    tasks, or delegate those tasks to ``to_user``; journaled and resumable like :func:`terminate_workflows`.
    """
    if action not in ("terminate", "kill", "delegate"):
        raise ValidationError(f"action must be 'terminate', 'kill' or 'delegate', not {action!r}")
    if action != "delegate" and to_user is not None:
        raise ValidationError("to_user is only used with action='delegate'")
    started = clock()
    found = await find_dismissed_user(client, user)
    if action == "delegate":
        command = delegate_action(found.id, await _check_recipient(client, to_user, found.id))
    else:
        command = workflow_action(action, status)
    report = JobReport(
        job="offboard_employee",
        action=command.name,
        dry_run=dry_run,
        subject=f"user {found.id} ({found.name})",
    )
    options = JobOptions(dry_run, journal, progress, confirm, retry_failed, concurrency, clock)
    with opened_journal(journal) as log:
        listing = _listing(*await open_tasks(client, found.id, progress=progress, clock=clock), command.name)
        note_exclusions(report, listing)
        if command.name != "delegate":  # a task no longer the user's open one refuses delegation itself
            probe = open_task_probe(client, found.id)
            listing = await recheck_carryover(log, command.name, listing, report, probe)
        ran = await run_job(
            client, listing.items, command, report, log, options,
            started=started, excluded=listing.excluded, held=listing.held, user=found.id,
        )  # fmt: skip
    if not ran:
        return report
    if verify:  # counted in the job's own items: tasks to delegate, or the workflows behind them
        left = (await open_tasks(client, found.id, clock=clock))[0]
        report.remaining = len(_listing(left, [], command.name).items)
    return report
