"""Client-side validation: bad arguments raise ValidationError and nothing is queued."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bitrix_bizproc.models import (
    CommentRequired,
    DocumentId,
    DocumentType,
    F,
    Task,
    TaskActivity,
    TaskCompletion,
    TaskField,
    TaskParameters,
)
from bitrix_bizproc.protocol.batch import Ref
from bitrix_bizproc.protocol.errors import ClientValidationError, ValidationError
from bitrix_bizproc.services import (
    ActivitiesService,
    EventsService,
    RobotsService,
    TaskCommands,
    TemplateCommands,
    UserCommands,
    WorkflowCommands,
    _checks,
)

from .recorder import Recorder

NAIVE = dt.datetime(2024, 1, 1)
ROBOT = {"code": "sms", "handler": "https://app.example.com/h", "name": "SMS"}

CASES: dict[str, Callable[[Recorder], Any]] = {
    # workflows
    "start: template id 0": lambda r: WorkflowCommands(r).start(0, DocumentId.deal(1)),
    "start: malformed document": lambda r: WorkflowCommands(r).start(1, ["crm", "CCrmDocumentDeal", "777"]),
    "start: parameters not a map": lambda r: WorkflowCommands(r).start(1, DocumentId.deal(1), ["x"]),  # type: ignore[arg-type]
    "terminate: empty id": lambda r: WorkflowCommands(r).terminate(""),
    "terminate: numeric id": lambda r: WorkflowCommands(r).terminate(66),  # type: ignore[arg-type]
    "terminate: status not text": lambda r: WorkflowCommands(r).terminate("a.1", status=5),  # type: ignore[arg-type]
    "kill: blank id": lambda r: WorkflowCommands(r).kill("   "),
    "instances: typo in a field": lambda r: WorkflowCommands(r).instances_page({"<STARTD": "2024-01-01"}),
    "instances: unsupported operator": lambda r: WorkflowCommands(r).instances_page({"%ENTITY": "Deal"}),
    "instances: start=-1 not supported": lambda r: WorkflowCommands(r).instances_page(start=-1),
    "instances: bad select": lambda r: WorkflowCommands(r).instances_page(select=["NAME"]),
    "instances: naive datetime": lambda r: WorkflowCommands(r).instances_page(F["STARTED"] < NAIVE),
    "instances: not a date": lambda r: WorkflowCommands(r).instances_page(F.started < "yesterday"),
    # templates
    "template add: empty name": lambda r: TemplateCommands(r).add(
        document_type=DocumentType.deal(), name=" ", template_data=b"x"
    ),
    "template add: bad document type": lambda r: TemplateCommands(r).add(
        document_type=["crm", "CCrmDocumentDeal", "LEAD"], name="A", template_data=b"x"
    ),
    "template add: empty file": lambda r: TemplateCommands(r).add(
        document_type=DocumentType.deal(), name="A", template_data=b""
    ),
    "template add: str is ambiguous": lambda r: TemplateCommands(r).add(
        document_type=DocumentType.deal(), name="A", template_data="a.bpt"
    ),  # type: ignore[arg-type]
    "template add: missing file": lambda r: TemplateCommands(r).add(
        document_type=DocumentType.deal(), name="A", template_data=Path("/nonexistent/a.bpt")
    ),
    "template add: auto_execute 4": lambda r: TemplateCommands(r).add(
        document_type=DocumentType.deal(), name="A", template_data=b"x", auto_execute=4
    ),
    "template update: no fields": lambda r: TemplateCommands(r).update(5),
    "template update: empty id": lambda r: TemplateCommands(r).update(0, name="x"),
    "template delete: bad id": lambda r: TemplateCommands(r).delete("abc"),  # type: ignore[arg-type]
    "template list: unknown field": lambda r: TemplateCommands(r).list_page(select=["TITLE"]),
    # tasks
    "complete: empty task id": lambda r: TaskCommands(r).complete(0, TaskCompletion.OK),
    "complete: unknown status": lambda r: TaskCommands(r).complete(1, "maybe"),
    "complete: status 5": lambda r: TaskCommands(r).complete(1, 5),
    "complete: ok on an approval": lambda r: TaskCommands(r).complete(
        1, TaskCompletion.OK, activity=TaskActivity.APPROVE
    ),
    "complete: yes on a review task": lambda r: TaskCommands(r).complete(
        Task(id=1, activity="ReviewActivity"), "yes"
    ),
    "complete: unknown activity": lambda r: TaskCommands(r).complete(1, 3, activity="Nope"),
    "complete: fields not a map": lambda r: TaskCommands(r).complete(1, 3, fields=["a"]),  # type: ignore[arg-type]
    "delegate: no tasks": lambda r: TaskCommands(r).delegate([], from_user=1, to_user=2),
    "delegate: bad task id": lambda r: TaskCommands(r).delegate([1, -2], from_user=1, to_user=2),
    "delegate: bad from user": lambda r: TaskCommands(r).delegate([1], from_user=0, to_user=2),
    "delegate: bad to user": lambda r: TaskCommands(r).delegate([1], from_user=1, to_user=None),  # type: ignore[arg-type]
    "task list: typo": lambda r: TaskCommands(r).list_page({"USERID": 1}),
    "task list: status as a word": lambda r: TaskCommands(r).list_page({"STATUS": "open"}),
    # activities and robots
    "robot add: empty code": lambda r: RobotsService(r).add(**{**ROBOT, "code": ""}),
    "robot add: code with a space": lambda r: RobotsService(r).add(**{**ROBOT, "code": "sms robot"}),
    "robot add: code with a slash": lambda r: RobotsService(r).add(**{**ROBOT, "code": "sms/1"}),
    "robot add: ftp handler": lambda r: RobotsService(r).add(
        **{**ROBOT, "handler": "ftp://app.example.com/h"}
    ),
    "robot add: relative handler": lambda r: RobotsService(r).add(**{**ROBOT, "handler": "/robot"}),
    "robot add: empty name": lambda r: RobotsService(r).add(**{**ROBOT, "name": ""}),
    "robot add: empty localized name": lambda r: RobotsService(r).add(**{**ROBOT, "name": {"en": ""}}),
    "robot add: property key with digit first": lambda r: RobotsService(r).add(
        **ROBOT, properties={"1phone": {"Name": "P"}}
    ),
    "robot add: property key with dash": lambda r: RobotsService(r).add(
        **ROBOT, properties={"my-prop": {"Name": "P"}}
    ),
    "robot add: property without name": lambda r: RobotsService(r).add(
        **ROBOT, return_properties={"ok": {"Type": "bool"}}
    ),
    "robot add: placement without handler": lambda r: RobotsService(r).add(**ROBOT, use_placement=True),
    "robot add: bad filter key": lambda r: RobotsService(r).add(**ROBOT, filter={"ONLY": ["box"]}),
    "robot add: bad filter rule": lambda r: RobotsService(r).add(
        **ROBOT, filter={"INCLUDE": [["a", "b", "c", "d"]]}
    ),
    "robot add: subscription not bool": lambda r: RobotsService(r).add(**ROBOT, use_subscription="Y"),  # type: ignore[arg-type]
    "robot update: nothing to update": lambda r: RobotsService(r).update("sms"),
    "robot delete: wrong code": lambda r: RobotsService(r).delete("a b"),
    "activity add: bad document type": lambda r: ActivitiesService(r).add(**ROBOT, document_type=["crm"]),
    "activity log: empty message": lambda r: ActivitiesService(r).log("tok", ""),
    "activity log: empty token": lambda r: ActivitiesService(r).log("", "m"),
    # events
    "event send: empty token": lambda r: EventsService(r).send(""),
    "event send: bad return key": lambda r: EventsService(r).send("tok", {"1x": 1}),
    # users
    "users: operator for another method": lambda r: UserCommands(r).get_page({"><ID": [1, 2]}),
    "users: bad order": lambda r: UserCommands(r).get_page(order="up"),
    "users: bad image size": lambda r: UserCommands(r).get_page(image_resize="huge"),
    "users: bad id": lambda r: UserCommands(r).get(0),
}


@pytest.mark.parametrize("case", list(CASES))
def test_refused_before_sending(recorder: Recorder, case: str) -> None:
    with pytest.raises(ValidationError) as info:
        CASES[case](recorder)
    assert recorder.calls == []
    assert info.value.code == "CLIENT_VALIDATION" and str(info.value)


def _task(rule: CommentRequired | None = None, fields: list[TaskField] | None = None) -> Task:
    return Task(
        id=9, activity="ApproveActivity", parameters=TaskParameters(comment_required=rule, fields=fields)
    )


@pytest.mark.parametrize(
    ("rule", "status", "refused"),
    [
        (CommentRequired.YES, TaskCompletion.APPROVE, True),
        (CommentRequired.ON_APPROVE, TaskCompletion.APPROVE, True),
        (CommentRequired.ON_APPROVE, TaskCompletion.REJECT, False),
        (CommentRequired.ON_REJECT, TaskCompletion.REJECT, True),
        (CommentRequired.NO, TaskCompletion.REJECT, False),
    ],
)
def test_comment_rules_of_a_known_task(
    recorder: Recorder, rule: CommentRequired, status: TaskCompletion, refused: bool
) -> None:
    service = TaskCommands(recorder)
    if refused:
        with pytest.raises(ValidationError, match="comment"):
            service.complete(_task(rule), status)
        service.complete(_task(rule), status, comment="because")
    else:
        service.complete(_task(rule), status)
    assert len(recorder.calls) == 1


def test_required_fields_of_a_known_task(recorder: Recorder) -> None:
    fields = [TaskField(id="phone", required=True), TaskField(id="note", required=False)]
    task = Task(id=9, activity="RequestInformationActivity", parameters=TaskParameters(fields=fields))
    with pytest.raises(ValidationError, match="phone"):
        TaskCommands(recorder).complete(task, TaskCompletion.OK, fields={"note": "x"})
    TaskCommands(recorder).complete(task, TaskCompletion.OK, fields={"phone": "+1"})
    assert len(recorder.calls) == 1


def _positive_id_before(value: Any, what: str) -> Any:
    """``_checks.positive_id`` before its fast path for a plain positive int (issue 17): the reference."""
    if isinstance(value, Ref):
        return value
    if not isinstance(value, int | str) and hasattr(value, "id"):
        value = value.id
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ClientValidationError(f"{what} must be a positive integer, got {value!r}")
    return value


class _WithId:
    def __init__(self, id: object) -> None:
        self.id = id


@given(
    value=st.one_of(
        st.integers(-5, 2**70),
        st.booleans(),
        st.sampled_from(["7", " 7", "0", "-1", "x", "", 1.0, None, Ref("k")]),
        st.integers(-2, 9).map(_WithId),
        st.integers(0, 9).map(lambda n: type("Int", (int,), {})(n)),
    )
)
def test_positive_id_reads_every_value_as_before(value: object) -> None:
    try:
        expected: object = ("ok", _positive_id_before(value, "id"))
    except ClientValidationError as exc:
        expected = (type(exc), str(exc))
    try:
        got: object = ("ok", _checks.positive_id(value, "id"))
    except ClientValidationError as exc:
        got = (type(exc), str(exc))
    assert got == expected


@pytest.mark.parametrize("text", ["²", "٣", " ¹² ", "7²"])
def test_an_id_of_non_ascii_digits_is_a_typed_error(text: str) -> None:
    """``"²".isdigit()`` is true but ``int("²")`` fails: the refusal must still be ours, not a ValueError."""
    with pytest.raises(ClientValidationError, match="positive integer"):
        _checks.positive_id(text, "id")
