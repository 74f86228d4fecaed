"""bizproc.workflow.start / instances / terminate / kill, called directly."""

from __future__ import annotations

import re

import pytest

from bitrix_bizproc.emulator.state import PortalState

from ._handler_support import ADMIN, DEAL, NOW, call, error_of, make_state

ID_SHAPE = re.compile(r"^[0-9a-f]{14}\.\d{8}$")


@pytest.fixture
def state() -> PortalState:
    state = make_state()
    state.add_template(
        "Approve deal",
        DEAL,
        parameters={"Approver": {"Name": "Approver", "Type": "user", "Required": True}},
        tasks=[{"activity": "ApproveActivity", "users": ["{=Template:Approver}"]}],
    )
    state.add_template("Plain lead", ("crm", "CCrmDocumentLead", "LEAD"))
    state.add_template(
        "SPA 147", ("crm", "Bitrix\\Crm\\Integration\\BizProc\\Document\\Dynamic", "DYNAMIC_147")
    )
    return state


def _start_approval(state: PortalState, deal: int) -> str:
    """Start template 1 on deal ``deal`` with user 3 as the approver; the new workflow's ID."""
    result = call(
        state,
        ADMIN,
        "bizproc.workflow.start",
        template_id=1,
        document_id=["crm", "CCrmDocumentDeal", f"DEAL_{deal}"],
        parameters={"Approver": "user_3"},
    )
    assert isinstance(result.result, str)
    return result.result


def test_start_returns_a_string_id_and_creates_the_task(state: PortalState) -> None:
    wid = _start_approval(state, 777)
    assert ID_SHAPE.match(wid)
    tasks = [t for t in state.tasks if t.workflow_id == wid]
    assert [(t.user_id, t.activity) for t in tasks] == [(3, "ApproveActivity")]
    assert state.instances.get(wid).started_by == 1  # type: ignore[union-attr]


def test_start_accepts_batch_strings_and_smart_process_ids(state: PortalState) -> None:
    doc = ["crm", "Bitrix\\Crm\\Integration\\BizProc\\Document\\Dynamic", "DYNAMIC_147_12"]
    wid = call(state, ADMIN, "bizproc.workflow.start", template_id="3", document_id=doc).result
    assert state.instances.get(wid).document_id == "DYNAMIC_147_12"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            {"document_id": ["crm", "CCrmDocumentLead", "LEAD_1"]},
            ("ERROR_WRONG_WORKFLOW_ID", "Empty TEMPLATE_ID"),
        ),
        (
            {"template_id": "abc", "document_id": ["crm", "CCrmDocumentLead", "LEAD_1"]},
            ("ERROR_WRONG_WORKFLOW_ID", "Empty TEMPLATE_ID"),
        ),
        (
            {"template_id": 99, "document_id": ["crm", "CCrmDocumentLead", "LEAD_1"]},
            ("ERROR_WRONG_WORKFLOW_ID", "Template not found"),
        ),
        ({"template_id": 2, "document_id": "LEAD_1"}, ("", "Wrong DOCUMENT_ID!")),
        ({"template_id": 2, "document_id": ["crm", "CCrmDocumentLead"]}, ("", "Wrong DOCUMENT_ID!")),
        (
            {"template_id": 2, "document_id": ["crm", "CCrmDocumentLead", "LEAD_x"]},
            ("", "Incorrect document type!"),
        ),
        (
            {"template_id": 2, "document_id": ["crm", "NoSuchEntity", "LEAD_1"]},
            ("", "Incorrect document type!"),
        ),
        (
            {"template_id": 2, "document_id": ["crm", "CCrmDocumentDeal", "DEAL_1"]},
            ("", "Template type and DOCUMENT_ID mismatch!"),
        ),
        (
            {
                "template_id": 3,
                "document_id": [
                    "crm",
                    "Bitrix\\Crm\\Integration\\BizProc\\Document\\Dynamic",
                    "DYNAMIC_148_1",
                ],
            },
            ("", "Template type and DOCUMENT_ID mismatch!"),
        ),
        (
            {"template_id": 1, "document_id": ["crm", "CCrmDocumentDeal", "DEAL_1"]},
            ("", 'Parameter "Approver" is required.'),
        ),
        (
            {
                "template_id": 1,
                "document_id": ["crm", "CCrmDocumentDeal", "DEAL_1"],
                "parameters": {"Approver": "bob"},
            },
            ("", 'Incorrect value of parameter "Approver".'),
        ),
    ],
)
def test_start_validation(state: PortalState, params: dict[str, object], expected: tuple[str, str]) -> None:
    assert error_of(state, ADMIN, "bizproc.workflow.start", **params) == expected
    assert len(state.instances) == 0


def _started(state: PortalState, count: int) -> list[str]:
    return [w.id for w in state.add_instances(count, started=NOW - 1000)]


def test_instances_default_select_and_order(state: PortalState) -> None:
    first, second = state.add_instances(1, modified=NOW - 10)[0], state.add_instances(1, modified=NOW - 5)[0]
    result = call(state, ADMIN, "bizproc.workflow.instances")
    assert [row["ID"] for row in result.result] == [second.id, first.id]  # MODIFIED DESC
    assert set(result.result[0]) == {"ID", "MODIFIED", "OWNED_UNTIL"}
    assert result.result[0]["OWNED_UNTIL"] is None
    assert result.result[0]["MODIFIED"] == "2024-09-10T23:26:35+03:00"
    assert (result.total, result.next) == (2, None)


def test_instances_select_renders_wire_types(state: PortalState) -> None:
    call(
        state,
        ADMIN,
        "bizproc.workflow.start",
        template_id=2,
        document_id=["crm", "CCrmDocumentLead", "LEAD_5"],
    )
    row = call(
        state,
        ADMIN,
        "bizproc.workflow.instance.list",
        select=[
            "id",
            "STARTED_BY",
            "TEMPLATE_ID",
            "DOCUMENT_ID",
            "ENTITY",
            "MODULE_ID",
            "STARTED",
            "OWNED_ID",
            "BOGUS",
        ],
    ).result[0]
    assert row == {
        "ID": row["ID"],
        "STARTED_BY": "1",
        "TEMPLATE_ID": "2",
        "DOCUMENT_ID": "LEAD_5",
        "ENTITY": "CCrmDocumentLead",
        "MODULE_ID": "crm",
        "STARTED": "2024-09-10T23:26:40+03:00",
        "OWNED_ID": None,
    }


@pytest.mark.parametrize(
    ("count", "pages"), [(50, [(50, None)]), (51, [(50, 50), (1, None)]), (0, [(0, None)])]
)
def test_instances_paging_arithmetic(
    state: PortalState, count: int, pages: list[tuple[int, int | None]]
) -> None:
    _started(state, count)
    start, seen = 0, []
    for _ in pages:
        result = call(state, ADMIN, "bizproc.workflow.instances", start=start)
        assert result.total == count
        seen.append((len(result.result), result.next))
        start = result.next or 0
    assert seen == pages


def test_instances_ignores_start_minus_one_by_default_and_honours_it_when_configured() -> None:
    state = make_state()
    state.add_template("t", DEAL)
    state.add_instances(60)
    live = call(state, ADMIN, "bizproc.workflow.instances", start=-1)
    assert (len(live.result), live.total, live.next) == (50, 60, 50)
    state.settings.instances_support_start_minus_one = True
    docs = call(state, ADMIN, "bizproc.workflow.instances", start=-1)
    assert (len(docs.result), docs.total, docs.next) == (50, None, None)


def test_instances_filters_with_operators_and_drops_unknown_keys(state: PortalState) -> None:
    old = state.add_instances(3, started=NOW - 86_400 * 400)
    state.add_instances(2, started=NOW - 60, started_by=3)

    def total(flt: dict[str, object]) -> int | None:
        return call(state, ADMIN, "bizproc.workflow.instances", filter=flt).total

    assert total({"<STARTED": "2024-01-01T00:00:00+00:00"}) == 3
    assert total({">=started": "2024-01-01"}) == 2
    assert total({"STARTED_BY": "3"}) == 2
    assert total({"!STARTED_BY": 3}) == 3
    assert total({"ID": [old[0].id, old[1].id]}) == 2
    assert total({"<STARTED": "not a date"}) == 0
    assert total({"NO_SUCH_FIELD": 1, "%STARTED_BY": 3}) == 5  # dropped silently: the filter widens
    # The server code (restservice.php) drops "=" and "!=" keys too: the filter widens to everything.
    assert total({"=STARTED_BY": 3}) == 5
    assert total({"!=STARTED_BY": 3}) == 5
    state.settings.extended_filter_operators = True  # a portal following the newer docs
    assert total({"!=STARTED_BY": 3}) == 3
    assert total({"=ID": old[0].id}) == 1


def test_instances_order_by_several_fields(state: PortalState) -> None:
    state.add_instances(2, started=NOW - 50, template_id=2)
    state.add_instances(2, started=NOW - 10, template_id=1)
    rows = call(
        state,
        ADMIN,
        "bizproc.workflow.instances",
        select=["TEMPLATE_ID", "ID"],
        order={"TEMPLATE_ID": "desc", "ID": "anything"},
    ).result
    assert [r["TEMPLATE_ID"] for r in rows] == ["2", "2", "1", "1"]
    assert rows[0]["ID"] < rows[1]["ID"] and rows[2]["ID"] < rows[3]["ID"]


def test_terminate_keeps_a_record_and_leaves_the_list(state: PortalState) -> None:
    wid = _start_approval(state, 1)
    assert (
        call(state, ADMIN, "bizproc.workflow.terminate", id=wid, status="Terminated by rest app.").result
        is True
    )
    assert call(state, ADMIN, "bizproc.workflow.instances").total == 0
    record = state.instance(wid)
    assert record is not None and (record.state, record.status_text) == (
        "Terminated",
        "Terminated by rest app.",
    )
    assert not [t for t in state.tasks if t.workflow_id == wid and t.status == 0]
    assert state.counts()["terminated"] == 1


def test_kill_deletes_everything(state: PortalState) -> None:
    wid = _start_approval(state, 1)
    token = state.make_event_token(wid)
    assert call(state, ADMIN, "bizproc.workflow.kill", id=wid).result is True
    assert state.instance(wid) is None and wid in state.killed
    assert not [t for t in state.tasks if t.workflow_id == wid]
    assert state.event_tokens[token].used
    assert (state.running_count, state.killed_count) == (0, 1)


def test_kill_of_a_terminated_workflow_is_not_found_and_keeps_its_record(state: PortalState) -> None:
    """CBPDocument::killWorkflow (classes/general/document.php) deletes only what its terminate found."""
    wid = _started(state, 1)[0]
    call(state, ADMIN, "bizproc.workflow.terminate", id=wid)
    assert error_of(state, ADMIN, "bizproc.workflow.kill", id=wid)[0] == ""
    assert wid in state.finished and wid not in state.killed


@pytest.mark.parametrize("method", ["bizproc.workflow.kill", "bizproc.workflow.terminate"])
@pytest.mark.parametrize("bad", [None, "", 0, 12345])
def test_empty_or_non_string_id(state: PortalState, method: str, bad: object) -> None:
    params = {} if bad is None else {"id": bad}
    assert error_of(state, ADMIN, method, **params) == (
        "ERROR_WRONG_WORKFLOW_ID",
        "Empty workflow instance ID",
    )


@pytest.mark.parametrize("method", ["bizproc.workflow.kill", "bizproc.workflow.terminate"])
def test_unknown_id_answers_with_an_empty_code(state: PortalState, method: str) -> None:
    # BPCGWP_INVALID_WF: avshatalov48/bitrix-core-business modules/bizproc/lang/en/classes/general/
    # workflowpersister.php, thrown by retrieveWorkflow (classes/general/workflowpersister.php)
    wanted = ("", "The business process is not found.")
    assert error_of(state, ADMIN, method, id="66e412fdc9bd44.36306599") == wanted
    state.settings.workflow_not_found_code = "ERROR_WORKFLOW_NOT_FOUND"
    assert error_of(state, ADMIN, method, id="nope")[0] == "ERROR_WORKFLOW_NOT_FOUND"


def test_terminating_twice_fails_the_second_time(state: PortalState) -> None:
    wid = _started(state, 1)[0]
    call(state, ADMIN, "bizproc.workflow.terminate", id=wid)
    assert error_of(state, ADMIN, "bizproc.workflow.terminate", id=wid)[0] == ""


def test_paging_while_terminating_skips_rows_like_the_live_portal(state: PortalState) -> None:
    _started(state, 120)
    first = call(state, ADMIN, "bizproc.workflow.instances", select=["ID"], order={"ID": "ASC"})
    for row in first.result:
        call(state, ADMIN, "bizproc.workflow.terminate", id=row["ID"])
    second = call(
        state, ADMIN, "bizproc.workflow.instances", select=["ID"], order={"ID": "ASC"}, start=first.next
    )
    assert second.total == 70 and len(second.result) == 20  # rows 50..69 of what is left were never seen


def test_add_instances_takes_the_document_type_of_the_given_template(state: PortalState) -> None:
    rows = state.add_instances(2, template_id=3)
    assert [(w.entity, w.document_id.startswith("DYNAMIC_147_")) for w in rows] == [
        (rows[0].entity, True)
    ] * 2
    assert call(state, ADMIN, "bizproc.workflow.instances", filter={"TEMPLATE_ID": 3}).total == 2
