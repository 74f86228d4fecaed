"""bizproc.task.list / complete / delegate, called directly."""

from __future__ import annotations

from typing import Any

import pytest

from bitrix_bizproc.emulator.records import Task, Workflow
from bitrix_bizproc.emulator.state import PortalState

from ._handler_support import ADMIN, DEAL, call, context, error_of, make_state

ERIKA = context(2, admin=False)  # head of Max
MAX = context(3, admin=False)
TASK = object()  # stands for the ID of the task a test made
FIELDS = [
    {"Id": "phone", "Type": "string", "Name": "Phone", "Required": True},
    {"Id": "count", "Type": "int", "Name": "Count", "Required": False},
]


def _workflow(state: PortalState, activity: str, users: list[int], **spec: Any) -> Workflow:
    template = state.add_template(activity, DEAL, tasks=[{"activity": activity, "users": users, **spec}])
    return state.start_workflow(template, "DEAL_1", 1)


def _task(state: PortalState, activity: str = "ApproveActivity", user: int = 3, **spec: Any) -> Task:
    wf = _workflow(state, activity, [user], **spec)
    return next(t for t in state.tasks if t.workflow_id == wf.id)


def test_list_admin_sees_all_and_users_their_own() -> None:
    state = make_state()
    _task(state, user=2)
    mine = _task(state, user=3)
    assert call(state, ADMIN, "bizproc.task.list").total == 2
    own = call(state, MAX, "bizproc.task.list")
    assert [r["ID"] for r in own.result] == [str(mine.id)]
    assert set(own.result[0]) == {
        "ENTITY",
        "DOCUMENT_ID",
        "ID",
        "WORKFLOW_ID",
        "DOCUMENT_NAME",
        "NAME",
        "DOCUMENT_URL",
    }


def test_list_a_manager_may_see_a_subordinate_but_not_the_reverse() -> None:
    state = make_state()
    _task(state, user=3)
    assert call(state, ERIKA, "bizproc.task.list", filter={"USER_ID": 3}).total == 1
    assert error_of(state, MAX, "bizproc.task.list", filter={"USER_ID": 2}) == (
        "ACCESS_DENIED",
        "Access denied!",
    )
    assert error_of(state, MAX, "bizproc.task.list", filter={"!USER_ID": 3})[0] == "ACCESS_DENIED"


def test_list_fields_and_filters() -> None:
    state = make_state()
    task = _task(state, "RequestInformationActivity", user=4, fields=FIELDS)
    _task(state, user=3)
    result = call(
        state,
        ADMIN,
        "bizproc.task.list",
        filter={"USER_ID": "4", "STATUS": "0"},
        select=["ID", "STATUS", "USER_ID", "ACTIVITY", "PARAMETERS", "WORKFLOW_ID", "MODIFIED"],
    )
    row = result.result[0]
    assert result.total == 1 and row["STATUS"] == "0" and row["USER_ID"] == "4"
    assert row["ACTIVITY"] == "RequestInformationActivity" and row["PARAMETERS"]["Fields"] == FIELDS
    assert call(state, ADMIN, "bizproc.task.list", filter={"WORKFLOW_ID": task.workflow_id}).total == 1


def test_list_rejects_a_select_that_is_not_an_array() -> None:
    state = make_state()
    assert error_of(state, ADMIN, "bizproc.task.list", select="ID") == (
        "ERROR_SELECT_VALIDATION_FAILURE",
        "Invalid data in SELECT parameter",
    )


@pytest.mark.parametrize(("count", "expected"), [(50, [(50, None)]), (51, [(50, 50), (1, None)])])
def test_list_paging(count: int, expected: list[tuple[int, int | None]]) -> None:
    state = make_state()
    wf = _workflow(state, "ReviewActivity", [3] * count)
    assert len(state.tasks_by_workflow[wf.id]) == count
    seen, start = [], 0
    for _ in expected:
        page = call(state, ADMIN, "bizproc.task.list", start=start)
        assert page.total == count
        seen.append((len(page.result), page.next))
        start = page.next or 0
    assert seen == expected


def test_list_start_minus_one_walks_by_id_without_counting() -> None:
    state = make_state()
    _workflow(state, "ReviewActivity", [3] * 120)
    ids: list[int] = []
    last = 0
    while True:
        page = call(
            state,
            ADMIN,
            "bizproc.task.list",
            select=["ID"],
            order={"ID": "ASC"},
            filter={">ID": last},
            start=-1,
        )
        assert page.total is None and page.next is None
        ids += [int(r["ID"]) for r in page.result]
        if len(page.result) < 50:
            break
        last = ids[-1]
    assert ids == sorted(t.id for t in state.tasks)
    default = call(state, ADMIN, "bizproc.task.list", select=["ID"], start=-1).result
    assert int(default[0]["ID"]) == max(ids)  # default order ID DESC


def test_tasks_of_finished_workflows_expire_after_a_day() -> None:
    state = make_state()
    task = _task(state, "ReviewActivity")
    call(state, MAX, "bizproc.task.complete", task_id=task.id, status="ok")
    assert call(state, ADMIN, "bizproc.task.list").total == 1
    state.clock.now += 86_401  # type: ignore[attr-defined]
    assert call(state, ADMIN, "bizproc.task.list").total == 0


@pytest.mark.parametrize(
    ("activity", "status", "task_status", "user_status"),
    [
        ("ApproveActivity", "yes", 1, 1),
        ("ApproveActivity", 2, 2, 2),
        ("ReviewActivity", "3", 3, 3),
        ("RequestInformationOptionalActivity", "cancel", 5, 4),
    ],
)
def test_complete_sets_the_status_and_finishes_the_workflow(
    activity: str, status: object, task_status: int, user_status: int
) -> None:
    state = make_state()
    task = _task(state, activity)
    assert call(state, MAX, "bizproc.task.complete", task_id=str(task.id), status=status).result is True
    assert (task.status, task.user_status) == (task_status, user_status)
    assert state.instance(task.workflow_id).state == "Completed"  # type: ignore[union-attr]
    assert state.running_count == 0


def test_complete_request_information_needs_its_fields() -> None:
    state = make_state()
    task = _task(state, "RequestInformationActivity", fields=FIELDS)
    assert error_of(state, MAX, "bizproc.task.complete", task_id=task.id, status=3) == (
        "ERROR_TASK_EXECUTION",
        'The "Phone" field is required.',
    )
    assert (
        error_of(
            state,
            MAX,
            "bizproc.task.complete",
            task_id=task.id,
            status=3,
            fields={"phone": "1", "count": "many"},
        )[0]
        == "ERROR_TASK_EXECUTION"
    )
    call(
        state,
        MAX,
        "bizproc.task.complete",
        task_id=task.id,
        status=3,
        fields={"phone": "+49 30 1", "count": "2"},
    )
    assert task.result_fields == {"phone": "+49 30 1", "count": "2"}


def test_complete_comment_rules() -> None:
    state = make_state()
    task = _task(state, parameters={"CommentRequired": "YR", "CommentLabel": "Why"})
    assert error_of(state, MAX, "bizproc.task.complete", task_id=task.id, status="no") == (
        "ERROR_TASK_EXECUTION",
        'The "Why" field is required.',
    )
    assert call(state, MAX, "bizproc.task.complete", task_id=task.id, status="yes").result is True


@pytest.mark.parametrize(
    ("setup", "params", "expected"),
    [
        ("approve", {}, ("ERROR_TASK_VALIDATION", "empty TASK_ID")),
        ("approve", {"status": 1}, ("ERROR_TASK_VALIDATION", "empty TASK_ID")),
        ("approve", {"task_id": "0", "status": 1}, ("ERROR_TASK_VALIDATION", "empty TASK_ID")),
        ("approve", {"task_id": TASK, "status": "maybe"}, ("ERROR_TASK_VALIDATION", "incorrect STATUS")),
        ("approve", {"task_id": TASK}, ("ERROR_TASK_VALIDATION", "incorrect STATUS")),
        ("approve", {"task_id": TASK, "status": 3}, ("ERROR_TASK_VALIDATION", "incorrect STATUS")),
        ("review", {"task_id": TASK, "status": "yes"}, ("ERROR_TASK_VALIDATION", "incorrect STATUS")),
        ("request", {"task_id": TASK, "status": 4}, ("ERROR_TASK_VALIDATION", "incorrect STATUS")),
        ("approve", {"task_id": 999, "status": 1}, ("ERROR_TASK_NOT_FOUND", "Task not found")),
        ("someone_elses", {"task_id": TASK, "status": 1}, ("ERROR_TASK_NOT_FOUND", "Task not found")),
        ("done", {"task_id": TASK, "status": 1}, ("ERROR_TASK_COMPLETED", "Task already completed")),
        ("foreign_type", {"task_id": TASK, "status": 1}, ("ERROR_TASK_TYPE", "Incorrect task type")),
    ],
)
def test_complete_errors(setup: str, params: dict[str, Any], expected: tuple[str, str]) -> None:
    state = make_state()
    activity = {
        "review": "ReviewActivity",
        "request": "RequestInformationActivity",
        "foreign_type": "RpaApproveActivity",
    }.get(setup, "ApproveActivity")
    task = _task(state, activity, user=2 if setup == "someone_elses" else 3)
    if setup == "done":
        state.finish_task(task, 1, 1, "", {})
    params = {k: task.id if v is TASK else v for k, v in params.items()}
    assert error_of(state, MAX, "bizproc.task.complete", **params) == expected


def test_delegate_moves_open_tasks() -> None:
    state = make_state()
    task = _task(state, user=4)  # the dismissed employee's open task
    assert call(
        state, ADMIN, "bizproc.task.delegate", task_ids=[task.id], from_user_id=4, to_user_id="2"
    ).result
    assert (task.user_id, task.delegated_from) == (2, 4)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"task_ids": [], "from_user_id": 4, "to_user_id": 2}, ("ERROR_TASK_VALIDATION", "Invalid TASK_IDS")),
        (
            {"task_ids": "1", "from_user_id": 4, "to_user_id": 2},
            ("ERROR_TASK_VALIDATION", "Invalid TASK_IDS"),
        ),
        (
            {"task_ids": ["x"], "from_user_id": 4, "to_user_id": 2},
            ("ERROR_TASK_VALIDATION", "Invalid TASK_IDS"),
        ),
        ({"task_ids": [1], "to_user_id": 2}, ("ERROR_INVALID_USER_ID", "Invalid FROM_USER_ID")),
        (
            {"task_ids": [1], "from_user_id": 77, "to_user_id": 2},
            ("ERROR_INVALID_USER_ID", "Invalid FROM_USER_ID"),
        ),
        ({"task_ids": [1], "from_user_id": 4}, ("ERROR_INVALID_USER_ID", "Invalid TO_USER_ID")),
        (
            {"task_ids": [1], "from_user_id": 4, "to_user_id": 4},
            ("ERROR_INVALID_USER_ID", "Invalid TO_USER_ID"),
        ),
        (
            {"task_ids": [1], "from_user_id": 3, "to_user_id": 2},
            ("ERROR_DELEGATION_NOT_ALLOWED", "User is not responsible for the task"),
        ),
        (
            {"task_ids": [1], "from_user_id": 4, "to_user_id": 5},
            ("ERROR_DELEGATION_NOT_ALLOWED", "Task delegation is only available for intranet users"),
        ),
        (
            {"task_ids": [1, 99], "from_user_id": 4, "to_user_id": 5},
            (
                "ERROR_DELEGATION_NOT_ALLOWED",
                "Task delegation is only available for intranet users; User is not responsible for the task",
            ),
        ),
    ],
)
def test_delegate_errors(params: dict[str, Any], expected: tuple[str, str]) -> None:
    state = make_state()
    state.add_user("Ext", "Partner", user_type="extranet")
    _task(state, user=4)
    assert error_of(state, ADMIN, "bizproc.task.delegate", **params) == expected


def test_delegate_by_a_user_follows_the_task_delegation_type() -> None:
    state = make_state()
    anyone = _task(state, user=2)
    subordinates = _task(state, user=2, parameters={"DelegationType": 0})
    nobody = _task(state, user=2, parameters={"DelegationType": 2})
    assert call(
        state,
        ERIKA,
        "bizproc.task.delegate",
        task_ids=[anyone.id, subordinates.id],
        from_user_id=2,
        to_user_id=3,
    ).result
    assert error_of(
        state, ERIKA, "bizproc.task.delegate", task_ids=[nobody.id], from_user_id=2, to_user_id=3
    ) == ("ERROR_DELEGATION_NOT_ALLOWED", "Task delegation is not allowed")
    assert error_of(state, MAX, "bizproc.task.delegate", task_ids=[anyone.id], from_user_id=2, to_user_id=3)[
        0
    ] == ("ACCESS_DENIED")
