"""Seeding helpers for the job tests: old and recent instances, a dismissed employee with open tasks."""

from __future__ import annotations

import datetime as _dt
from collections import Counter
from collections.abc import Awaitable, Callable, Collection
from typing import Any

import attrs

from bitrix_bizproc.emulator import EmulatedPortal, PortalError
from bitrix_bizproc.emulator.handlers import dispatch

PortalFactory = Callable[..., Awaitable[EmulatedPortal]]  # the ``portal_factory`` fixture

CUTOFF = _dt.datetime(2024, 1, 1, tzinfo=_dt.UTC)
OLD = (CUTOFF - _dt.timedelta(days=200)).timestamp()
NEW = (CUTOFF + _dt.timedelta(days=30)).timestamp()
DEAL = ("crm", "CCrmDocumentDeal", "DEAL")


@attrs.frozen
class Seeded:
    """The IDs that match the cutoff filter, and those that must stay untouched."""

    old: frozenset[str]
    new: frozenset[str]


def seed_instances(portal: EmulatedPortal, old: int, new: int = 0) -> Seeded:
    """``old`` instances started before CUTOFF, ``new`` after it, over two templates."""
    state = portal.state
    if not list(state.templates):
        state.add_template("Approval", DEAL)
        state.add_template("Review", DEAL)
    olds = state.add_instances(old, started=OLD)
    news = state.add_instances(new, started=NEW) if new else []
    return Seeded(frozenset(w.id for w in olds), frozenset(w.id for w in news))


@attrs.frozen
class Employee:
    """A dismissed employee, their open tasks' workflows, and a colleague to take over."""

    user_id: int
    colleague: int
    workflows: frozenset[str]
    tasks: frozenset[int]


def seed_dismissed_employee(portal: EmulatedPortal, workflows: int, *, tasks_each: int = 1) -> Employee:
    """Anna Petrova (inactive) has ``tasks_each`` open tasks in each of ``workflows`` running workflows."""
    state = portal.state
    if 1 not in state.users:
        state.add_user("Admin", "Adminov", id=1, is_admin=True)
    anna = state.add_user("Anna", "Petrova", active=False)
    boris = state.add_user("Boris", "Ivanov")
    state.add_user("Anna", "Smirnova")  # active namesake: never picked
    spec: dict[str, Any] = {"activity": "ApproveActivity", "users": [anna.id]}
    template = state.add_template("Approval", DEAL, tasks=[spec] * tasks_each)
    other = state.add_template("Unrelated", DEAL)
    started = [state.start_workflow(template, f"DEAL_{i}", 1) for i in range(workflows)]
    for i in range(5):
        state.start_workflow(other, f"DEAL_{1000 + i}", 1)
    task_ids = frozenset(t.id for t in state.tasks if t.user_id == anna.id)
    return Employee(anna.id, boris.id, frozenset(w.id for w in started), task_ids)


def refusing(ids: Collection[str], method: str = "bizproc.workflow.terminate") -> Any:
    """A dispatcher that answers ``method`` on ``ids`` with ACCESS_DENIED (a per-item refusal)."""

    def dispatcher(state: Any, ctx: Any, name: str, params: dict[str, Any]) -> Any:
        if name == method and str(params.get("ID")) in ids:
            raise PortalError("ACCESS_DENIED", "Workflow is locked by its owner", 403)
        return dispatch(state, ctx, name, params)

    return dispatcher


def flaky(ids: Collection[str], times: int = 1) -> Any:
    """A dispatcher whose terminate of ``ids`` fails ``times`` times each with INTERNAL_SERVER_ERROR."""
    failed: Counter[str] = Counter()

    def dispatcher(state: Any, ctx: Any, name: str, params: dict[str, Any]) -> Any:
        key = str(params.get("ID"))
        if name == "bizproc.workflow.terminate" and key in ids and failed[key] < times:
            failed[key] += 1
            raise PortalError("INTERNAL_SERVER_ERROR", "Internal error", 500)
        return dispatch(state, ctx, name, params)

    return dispatcher
