"""The seed generator: deterministic; spread over dates, templates, documents, starters; dismissed owners."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bitrix_bizproc.emulator.seed import SeedSummary, seed
from bitrix_bizproc.emulator.state import PortalState

from ._handler_support import ADMIN, NOW, Clock, call


def _seeded(**kwargs: Any) -> tuple[PortalState, SeedSummary]:
    state = PortalState(Clock())
    return state, seed(state, **kwargs)


def test_same_seed_same_portal_other_seed_other_portal() -> None:
    a, _ = _seeded(instances=500, seed=3)
    b, _ = _seeded(instances=500, seed=3)
    c, _ = _seeded(instances=500, seed=4)

    def ids(state: PortalState) -> list[str]:
        return sorted(w.id for w in state.instances)

    assert ids(a) == ids(b) != ids(c)
    assert [(t.user_id, t.workflow_id) for t in a.tasks] == [(t.user_id, t.workflow_id) for t in b.tasks]


def test_spread_over_time_templates_documents_and_starters() -> None:
    state, summary = _seeded(instances=3000, years=3, seed=1)
    rows = list(state.instances)
    started = [w.started for w in rows]
    assert min(started) >= NOW - 3 * 365 * 86_400 and max(started) <= NOW
    years = {dt.datetime.fromtimestamp(t, dt.UTC).year for t in started}
    assert len(years) >= 3
    assert {w.template_id for w in rows} == set(summary.templates)
    entities = {w.entity for w in rows}
    assert {"CCrmDocumentDeal", "CCrmDocumentLead", "CCrmDocumentContact", "CCrmDocumentCompany"} <= entities
    assert any(w.document_id.startswith("DYNAMIC_147_") for w in rows)
    assert 0 in {w.started_by for w in rows} and len({w.started_by for w in rows}) > 10
    assert all(w.modified >= w.started for w in rows)


def test_dismissed_users_own_open_tasks_and_can_be_found() -> None:
    state, summary = _seeded(users=50, instances=2000, tasks_ratio=0.5, seed=2)
    dismissed = summary.dismissed
    assert dismissed and all(not state.users.get(u).active for u in dismissed)  # type: ignore[union-attr]
    found = call(state, ADMIN, "user.get", filter={"ACTIVE": False}).result
    assert sorted(int(r["ID"]) for r in found) == sorted(dismissed)
    victim = dismissed[0]
    open_tasks = call(state, ADMIN, "bizproc.task.list", filter={"USER_ID": victim, "STATUS": 0})
    assert open_tasks.total and open_tasks.total > 0
    assert 600 < summary.tasks < 1400


def test_explicit_start_window_and_automation_templates_hidden() -> None:
    begin = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
    state, summary = _seeded(templates=20, instances=200, start=begin, years=1)
    assert all(begin.timestamp() <= w.started <= begin.timestamp() + 365 * 86_400 for w in state.instances)
    listed = call(state, ADMIN, "bizproc.workflow.template.list").total
    assert listed == 18  # two of the twenty are automation-rule templates
    assert len(summary.templates) == 20


def test_a_seeded_portal_pages_cleanly() -> None:
    state, _ = _seeded(instances=1234)
    seen, start = [], 0
    while True:
        page = call(state, ADMIN, "bizproc.workflow.instances", select=["ID"], start=start)
        seen += [r["ID"] for r in page.result]
        if page.next is None:
            break
        start = page.next
    assert len(seen) == len(set(seen)) == 1234
