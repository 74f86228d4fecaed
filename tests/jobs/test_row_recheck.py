"""Jobs re-check every listed row against their own filter before acting (issue 12: "a destructive job
refuses any filter it cannot prove is honoured").

The portal's bizproc REST service (restservice.php, ``getWorkflowInstances``; public mirror
avshatalov48/bitrix-core-business, modules/bizproc/lib/restservice.php) converts only ``MODIFIED`` and
``OWNED_UNTIL`` filter values from ISO dates (``getFilter(..., array('MODIFIED', 'OWNED_UNTIL'))``), not
``STARTED``: a ``<STARTED`` condition may be compared wrongly or not at all. The emulator's
``instances_filter_ignores`` setting mimics the worst case (the condition is dropped).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bitrix_bizproc import BizprocClient, ValidationError
from bitrix_bizproc.emulator import EmulatedPortal
from bitrix_bizproc.emulator.handlers import dispatch
from bitrix_bizproc.jobs import ReportOutcome, offboard_employee, terminate_workflows
from bitrix_bizproc.jobs.terminate import instance_filter

from ._seed import CUTOFF, PortalFactory, seed_dismissed_employee, seed_instances


async def test_a_portal_ignoring_started_terminates_only_rows_started_before(
    portal: EmulatedPortal, client: BizprocClient, caplog: pytest.LogCaptureFixture
) -> None:
    portal.state.settings.instances_filter_ignores = frozenset({"STARTED"})
    seeded = seed_instances(portal, old=7, new=5)
    report = await terminate_workflows(client, filter=instance_filter(started_before=CUTOFF))
    assert set(portal.state.finished) == set(seeded.old)
    assert report.count(ReportOutcome.DONE) == 7 and report.matched == 7
    assert report.count(ReportOutcome.EXCLUDED) == 5
    assert {e.item for e in report.excluded} == set(seeded.new)
    assert all("STARTED" in e.reason for e in report.excluded)
    assert any("ignored part of the filter; 5 rows excluded" in w for w in report.warnings)
    assert "ignored part of the filter; 5 rows excluded" in caplog.text
    assert "excluded" in str(report) and "ignored part of the filter" in str(report)
    assert report.to_dict()["excluded"][0]["reason"]


async def test_excluded_rows_are_journaled_and_never_acted_on_by_a_resume(
    portal: EmulatedPortal, client: BizprocClient, tmp_path: Path
) -> None:
    portal.state.settings.instances_filter_ignores = frozenset({"STARTED"})
    seeded = seed_instances(portal, old=3, new=2)
    journal = tmp_path / "j.jsonl"
    await terminate_workflows(client, filter=instance_filter(started_before=CUTOFF), journal=journal)
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    excluded = {r["item"] for r in records if r.get("outcome") == "excluded"}
    assert excluded == set(seeded.new)
    again = await terminate_workflows(client, filter=instance_filter(started_before=CUTOFF), journal=journal)
    assert again.count(ReportOutcome.DONE) == 0
    assert set(portal.state.finished) == set(seeded.old)


async def test_a_row_lacking_a_filtered_field_is_excluded(
    portal: EmulatedPortal, client: BizprocClient
) -> None:
    from bitrix_bizproc.jobs._recheck import RowCheck
    from bitrix_bizproc.models.filters import WORKFLOW_SPEC
    from bitrix_bizproc.models.workflow import WorkflowInstance

    check = RowCheck.build(WORKFLOW_SPEC, {"<STARTED": "2024-01-01T00:00:00+00:00", "TEMPLATE_ID": 3})
    assert check.select == ["STARTED", "TEMPLATE_ID"]
    assert "lacks STARTED" in (check.why_not(WorkflowInstance(id="a", template_id=3)) or "")
    early = CUTOFF.replace(year=2023)
    assert "STARTED" in (check.why_not(WorkflowInstance(id="a", template_id=3, started=CUTOFF)) or "")
    assert "TEMPLATE_ID" in (check.why_not(WorkflowInstance(id="a", template_id=4, started=early)) or "")
    assert check.why_not(WorkflowInstance(id="a", template_id=3, started=CUTOFF.replace(year=2023))) is None


@pytest.mark.parametrize("filter", [{"<ID": "abc"}, {">MODULE_ID": "crm"}])
async def test_a_condition_that_cannot_be_checked_locally_is_refused_before_any_request(
    portal: EmulatedPortal, client: BizprocClient, filter: dict[str, str]
) -> None:
    seed_instances(portal, old=2)
    before = client.stats.requests
    with pytest.raises(ValidationError, match="cannot be re-checked"):
        await terminate_workflows(client, filter=filter)
    assert client.stats.requests == before


@pytest.mark.parametrize("ignored", ["USER_ID", "STATUS"])
async def test_offboarding_excludes_tasks_the_portal_should_not_have_listed(
    portal: EmulatedPortal, client: BizprocClient, ignored: str
) -> None:
    employee = seed_dismissed_employee(portal, workflows=3)
    others = portal.state.add_user("Olga", "Other")
    template = next(t for t in portal.state.templates if t.name == "Approval")
    foreign = portal.state.start_workflow(template, "DEAL_77", 1)  # a task of another user
    for task in portal.state.tasks:
        if task.workflow_id == foreign.id:
            task.user_id = others.id
    closed = next(t for t in portal.state.tasks if t.workflow_id in employee.workflows)
    closed.status = 1  # one of Anna's tasks is no longer open
    portal.state.settings.tasks_filter_ignores = frozenset({ignored})
    report = await offboard_employee(client, user=employee.user_id, action="terminate")
    wrong = foreign.id if ignored == "USER_ID" else closed.workflow_id  # what the portal wrongly listed
    assert [e.item for e in report.excluded] == [wrong] and report.count(ReportOutcome.EXCLUDED) == 1
    assert set(portal.state.finished) == set(employee.workflows) - {closed.workflow_id}
    assert report.warnings == ["the portal ignored part of the filter; 1 rows excluded"]


async def test_delegation_excludes_by_task(portal: EmulatedPortal, client: BizprocClient) -> None:
    employee = seed_dismissed_employee(portal, workflows=3)
    closed = next(t for t in portal.state.tasks if t.id in employee.tasks)
    closed.status = 1
    portal.state.settings.tasks_filter_ignores = frozenset({"STATUS"})
    report = await offboard_employee(
        client, user=employee.user_id, action="delegate", to_user=employee.colleague
    )
    assert [e.item for e in report.excluded] == [str(closed.id)]
    assert "STATUS=" in report.excluded[0].reason
    assert report.count(ReportOutcome.DONE) == 2 and closed.user_id == employee.user_id


@pytest.mark.parametrize(
    ("filter", "row", "matches"),
    [
        ({"TEMPLATE_ID": [1, 2]}, {"template_id": 2}, True),
        ({"TEMPLATE_ID": [1, 2]}, {"template_id": 3}, False),
        ({"!TEMPLATE_ID": 1}, {"template_id": 1}, False),
        ({"!TEMPLATE_ID": 1}, {"template_id": 2}, True),
        ({">=STARTED": "2024-01-01"}, {"started": CUTOFF}, True),  # a date is midnight UTC
        ({">STARTED": "2024-01-01"}, {"started": CUTOFF}, False),
        ({"<=STARTED_BY": "5"}, {"started_by": 5}, True),
        ({"DOCUMENT_ID": "DEAL_1"}, {"document_id": "DEALX1"}, False),  # exact, not LIKE
        ({"DOCUMENT_ID": None}, {"document_id": None}, True),
    ],
)
def test_row_check_operators(filter: dict[str, object], row: dict[str, object], matches: bool) -> None:
    from bitrix_bizproc.jobs._recheck import RowCheck
    from bitrix_bizproc.models.filters import WORKFLOW_SPEC
    from bitrix_bizproc.models.workflow import WorkflowInstance

    check = RowCheck.build(WORKFLOW_SPEC, WORKFLOW_SPEC.check_filter(filter) or {})
    assert (check.why_not(WorkflowInstance(id="a", **row)) is None) is matches  # type: ignore[arg-type]


def test_a_batch_reference_cannot_be_rechecked() -> None:
    from bitrix_bizproc.jobs._recheck import RowCheck
    from bitrix_bizproc.models.filters import WORKFLOW_SPEC
    from bitrix_bizproc.protocol.batch import Ref

    with pytest.raises(ValidationError, match="cannot be re-checked"):
        RowCheck.build(WORKFLOW_SPEC, {"TEMPLATE_ID": Ref("t")["ID"]})


def _rewriting(rows: dict[str, dict[str, object]], seen_selects: list[object]) -> Any:
    """A dispatcher that lists instances with some rows' fields rewritten (``None``: the key left out)."""

    def dispatcher(state: Any, ctx: Any, name: str, params: dict[str, Any]) -> Any:
        out = dispatch(state, ctx, name, params)
        if name == "bizproc.workflow.instances":
            seen_selects.append(params.get("SELECT"))
            for row in out.result:
                for key, value in rows.get(row["ID"], {}).items():
                    if value is None:
                        row.pop(key, None)
                    else:
                        row[key] = value
        return out

    return dispatcher


@pytest.mark.parametrize(
    ("started", "why"),
    [
        (None, "lacks STARTED"),  # the key is missing
        ("", "lacks STARTED"),  # empty: no value
        ("not a date", "lacks STARTED"),  # unreadable: kept aside as the model keeps it, never compared
        ("2024-03-01T00:00:00+00:00", "does not satisfy <STARTED"),
        ("01.03.2024 10:00:00", "does not satisfy <STARTED"),  # the portal's own site format, read as UTC
    ],
)
async def test_a_listed_row_that_cannot_be_shown_to_match_is_excluded(
    portal_factory: PortalFactory, started: str | None, why: str
) -> None:
    """The listing reads only the selected fields of each row (no full model): the re-check is unchanged."""
    rewrites: dict[str, dict[str, object]] = {}
    selects: list[object] = []
    portal = await portal_factory(dispatcher=_rewriting(rewrites, selects))
    seeded = seed_instances(portal, old=60)
    odd = sorted(seeded.old)[55]
    rewrites[odd] = {"STARTED": started}
    async with BizprocClient.from_webhook(portal.webhook_url, limiter=None) as client:
        report = await terminate_workflows(client, filter=instance_filter(started_before=CUTOFF))
    assert [e.item for e in report.excluded] == [odd] and why in report.excluded[0].reason
    assert report.count(ReportOutcome.DONE) == 59 and set(portal.state.finished) == seeded.old - {odd}


async def test_the_listing_selects_only_the_id_and_the_filtered_fields(portal_factory: PortalFactory) -> None:
    selects: list[object] = []
    portal = await portal_factory(dispatcher=_rewriting({}, selects))
    seed_instances(portal, old=3)
    async with BizprocClient.from_webhook(portal.webhook_url, limiter=None) as client:
        report = await terminate_workflows(client, filter=instance_filter(started_before=CUTOFF))
    assert report.count(ReportOutcome.DONE) == 3 and report.remaining == 0
    assert selects == [["ID", "STARTED"], ["ID", "STARTED"]]  # the listing, then the verify pass
