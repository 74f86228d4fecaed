"""Every service method: the Call it builds (method, wire params, idempotence) and how it reads answers."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from bitrix_bizproc.models import (
    AutoExecute,
    DocumentId,
    DocumentType,
    F,
    Property,
    PropertyType,
    Task,
    TaskCompletion,
    User,
    WorkflowInstance,
)
from bitrix_bizproc.protocol.batch import Ref
from bitrix_bizproc.protocol.encoding import encode_query
from bitrix_bizproc.protocol.envelope import ApiResponse
from bitrix_bizproc.protocol.methods import METHODS
from bitrix_bizproc.services import (
    ActivitiesService,
    EventsService,
    RobotsService,
    TaskCommands,
    TemplateCommands,
    UserCommands,
    WorkflowCommands,
)
from bitrix_bizproc.services.tasks import DEFAULT_TASK_SELECT
from bitrix_bizproc.services.workflows import DEFAULT_INSTANCE_SELECT

from .recorder import Recorded, Recorder

CUTOFF = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def sent(pending: Any) -> Any:
    assert isinstance(pending, Recorded)
    call = pending.call
    assert call.idempotent is not METHODS[call.method].creates
    encode_query(call.params)  # every call can also travel inside a batch
    return call


def test_workflow_start(recorder: Recorder) -> None:
    call = sent(WorkflowCommands(recorder).start(12, DocumentId.deal(777), parameters={"resp": "user_14"}))
    assert call.method == "bizproc.workflow.start" and call.idempotent is False
    assert call.params == {
        "TEMPLATE_ID": 12,
        "DOCUMENT_ID": ["crm", "CCrmDocumentDeal", "DEAL_777"],
        "PARAMETERS": {"resp": "user_14"},
    }
    assert call.parse(ApiResponse(result="66e81a641752f8.56521481")) == "66e81a641752f8.56521481"


def test_workflow_start_accepts_a_plain_triple(recorder: Recorder) -> None:
    call = sent(WorkflowCommands(recorder).start(1, ["crm", "CCrmDocumentLead", "LEAD_1"]))
    assert call.params == {"TEMPLATE_ID": 1, "DOCUMENT_ID": ["crm", "CCrmDocumentLead", "LEAD_1"]}


def test_workflow_terminate_and_kill(recorder: Recorder) -> None:
    service = WorkflowCommands(recorder)
    call = sent(service.terminate("66e4.1", status="Stopped by sync job"))
    assert (call.method, call.params) == (
        "bizproc.workflow.terminate",
        {"ID": "66e4.1", "STATUS": "Stopped by sync job"},
    )
    assert call.idempotent is True and call.parse(ApiResponse(result=True)) is True
    call = sent(service.kill(WorkflowInstance(id="66e4.2")))
    assert (call.method, call.params) == ("bizproc.workflow.kill", {"ID": "66e4.2"})


def test_workflow_instances_page(recorder: Recorder) -> None:
    call = sent(
        WorkflowCommands(recorder).instances_page(
            F.STARTED < CUTOFF, select=["id", "STARTED"], order={"started": "asc"}, start=50
        )
    )
    assert call.method == "bizproc.workflow.instances"
    assert call.params == {
        "FILTER": {"<STARTED": "2024-01-01T00:00:00+00:00"},
        "SELECT": ["ID", "STARTED"],
        "ORDER": {"STARTED": "ASC"},
        "start": 50,
    }
    page = call.parse(ApiResponse(result=[{"ID": "a.1", "STARTED": "2023-12-27T19:13:49+02:00"}], total=51))
    assert [wf.id for wf in page.items] == ["a.1"] and page.total == 51 and page.next is None


def test_workflow_instances_legacy_alias(recorder: Recorder) -> None:
    call = sent(WorkflowCommands(recorder).instances_page(legacy_alias=True))
    assert (call.method, call.params) == (
        "bizproc.workflow.instance.list",
        {"SELECT": list(DEFAULT_INSTANCE_SELECT), "start": 0},
    )


def test_lists_select_every_field_unless_told_otherwise(recorder: Recorder) -> None:
    tasks, workflows = TaskCommands(recorder), WorkflowCommands(recorder)
    assert sent(tasks.list_page()).params["SELECT"] == list(DEFAULT_TASK_SELECT)
    assert {"USER_ID", "STATUS", "PARAMETERS"} <= set(DEFAULT_TASK_SELECT)
    assert sent(workflows.instances_page()).params["SELECT"] == list(DEFAULT_INSTANCE_SELECT)
    assert sent(tasks.list_page(select=["id"])).params["SELECT"] == ["ID"]  # the caller's select wins
    assert sent(workflows.instances_page(select=["ID"])).params["SELECT"] == ["ID"]


def test_template_add_from_path_bytes_and_file(recorder: Recorder, tmp_path: Path) -> None:
    path = tmp_path / "a.bpt"
    path.write_bytes(b"\x78\x9cbpt")
    service = TemplateCommands(recorder)
    encoded = base64.b64encode(b"\x78\x9cbpt").decode()
    call = sent(service.add(document_type=DocumentType.deal(), name="Approval", template_data=path))
    assert call.method == "bizproc.workflow.template.add" and call.idempotent is False
    assert call.params == {
        "DOCUMENT_TYPE": ["crm", "CCrmDocumentDeal", "DEAL"],
        "NAME": "Approval",
        "TEMPLATE_DATA": ["a.bpt", encoded],
        "AUTO_EXECUTE": 0,
    }
    assert call.parse(ApiResponse(result=525)) == 525
    call = sent(service.add(document_type=DocumentType.deal(), name="A", template_data=b"\x78\x9cbpt"))
    assert call.params["TEMPLATE_DATA"] == ["template.bpt", encoded]
    with path.open("rb") as handle:
        call = sent(
            service.add(
                document_type=["crm", "CCrmDocumentLead", "LEAD"],
                name="A",
                description="d",
                template_data=handle,
                auto_execute=AutoExecute.CREATE | AutoExecute.MODIFY,
            )
        )
    assert call.params["TEMPLATE_DATA"] == ["a.bpt", encoded]
    assert call.params["AUTO_EXECUTE"] == 3 and call.params["DESCRIPTION"] == "d"


def test_template_update_delete_list(recorder: Recorder) -> None:
    service = TemplateCommands(recorder)
    call = sent(service.update(525, name="New", auto_execute=AutoExecute.NONE))
    assert call.params == {"ID": 525, "FIELDS": {"NAME": "New", "AUTO_EXECUTE": 0}}
    assert call.parse(ApiResponse(result=525)) == 525
    call = sent(service.delete(525))
    assert (call.method, call.params) == ("bizproc.workflow.template.delete", {"ID": 525})
    assert call.parse(ApiResponse(result=None)) is None
    call = sent(service.list_page({"SYSTEM_CODE": "rest_app_5"}, select=["ID", "NAME"], start=-1))
    assert call.params == {"FILTER": {"SYSTEM_CODE": "rest_app_5"}, "SELECT": ["ID", "NAME"], "start": -1}
    page = call.parse(ApiResponse(result=[{"ID": "525", "NAME": "Display Time"}], total=34, next=50))
    assert [(t.id, t.name) for t in page] == [(525, "Display Time")] and page.next == 50


def test_task_list_complete_delegate(recorder: Recorder) -> None:
    service = TaskCommands(recorder)
    call = sent(service.list_page((F.USER_ID == 15) & (F.STATUS == 0), select=["ID", "WORKFLOW_ID"]))
    assert call.params == {
        "FILTER": {"USER_ID": 15, "STATUS": 0},
        "SELECT": ["ID", "WORKFLOW_ID"],
        "start": 0,
    }
    call = sent(service.complete(1477, TaskCompletion.APPROVE, comment="ok", fields={"phone": "+1"}))
    assert call.method == "bizproc.task.complete" and call.idempotent is False
    assert call.params == {"TASK_ID": 1477, "STATUS": 1, "COMMENT": "ok", "FIELDS": {"phone": "+1"}}
    call = sent(service.complete(5, "ok"))
    assert call.params == {"TASK_ID": 5, "STATUS": 3}
    call = sent(service.delegate([1128, 1129], from_user=15, to_user=37))
    assert call.params == {"TASK_IDS": [1128, 1129], "FROM_USER_ID": 15, "TO_USER_ID": 37}
    assert call.parse(ApiResponse(result=True)) is True


@pytest.mark.parametrize(
    ("service_cls", "prefix"), [(ActivitiesService, "bizproc.activity"), (RobotsService, "bizproc.robot")]
)
def test_activity_and_robot_calls(recorder: Recorder, service_cls: Any, prefix: str) -> None:
    service = service_cls(recorder)
    call = sent(
        service.add(
            code="sms_robot",
            handler="https://app.example.com/robot",
            name={"en": "SMS"},
            properties={
                "phone": {"Name": "Phone", "Type": "string", "Required": "Y"},
                "text": Property(name={"en": "Text"}, type=PropertyType.TEXT, multiple=False),
            },
            return_properties={"sent": Property(name="Sent", type=PropertyType.BOOL)},
            document_type=DocumentType.deal(),
            filter={"include": [["crm", "CCrmDocumentDeal"], DocumentType.lead()], "EXCLUDE": ["box"]},
            use_subscription=True,
            auth_user_id=1,
        )
    )
    assert call.method == f"{prefix}.add" and call.idempotent is False
    assert call.params == {
        "CODE": "sms_robot",
        "HANDLER": "https://app.example.com/robot",
        "NAME": {"en": "SMS"},
        "AUTH_USER_ID": 1,
        "USE_SUBSCRIPTION": "Y",
        "PROPERTIES": {
            "phone": {"Name": "Phone", "Type": "string", "Required": "Y"},
            "text": {"Name": {"en": "Text"}, "Type": "text", "Multiple": "N"},
        },
        "RETURN_PROPERTIES": {"sent": {"Name": "Sent", "Type": "bool"}},
        "DOCUMENT_TYPE": ["crm", "CCrmDocumentDeal", "DEAL"],
        "FILTER": {
            "INCLUDE": [["crm", "CCrmDocumentDeal"], ["crm", "CCrmDocumentLead", "LEAD"]],
            "EXCLUDE": ["box"],
        },
    }
    call = sent(service.update("sms_robot", handler="http://app.example.com/v2", use_placement=False))
    assert call.params == {
        "CODE": "sms_robot",
        "FIELDS": {"HANDLER": "http://app.example.com/v2", "USE_PLACEMENT": "N"},
    }
    call = sent(service.delete("sms_robot"))
    assert (call.method, call.params) == (f"{prefix}.delete", {"CODE": "sms_robot"})
    call = sent(service.list())
    assert (call.method, call.params) == (f"{prefix}.list", {})
    assert call.parse(ApiResponse(result=["a", "b"])) == ["a", "b"]
    assert call.parse(ApiResponse(result={"0": "a"})) == ["a"]


def test_activity_log_and_event_send(recorder: Recorder) -> None:
    call = sent(ActivitiesService(recorder).log("tok", "step 1 done"))
    assert (call.method, call.params) == (
        "bizproc.activity.log",
        {"EVENT_TOKEN": "tok", "LOG_MESSAGE": "step 1 done"},
    )
    call = sent(EventsService(recorder).send("tok", {"sent": "Y"}, log_message="done"))
    assert call.method == "bizproc.event.send" and call.idempotent is False
    assert call.params == {"EVENT_TOKEN": "tok", "RETURN_VALUES": {"sent": "Y"}, "LOG_MESSAGE": "done"}


def test_users(recorder: Recorder) -> None:
    service = UserCommands(recorder)
    call = sent(
        service.get_page(
            {"ACTIVE": False, "%LAST_NAME": "son"}, sort="last_name", order="desc", admin_mode=True
        )
    )
    assert call.method == "user.get"
    assert call.params == {
        "FILTER": {"ACTIVE": False, "%LAST_NAME": "son"},
        "SORT": "LAST_NAME",
        "ORDER": "DESC",
        "ADMIN_MODE": True,
        "start": 0,
    }
    page = call.parse(ApiResponse(result=[{"ID": "3", "ACTIVE": False, "NAME": "John"}], total=1))
    assert page.items == [User(id=3, active=False, name="John")]
    call = sent(service.get(3))
    assert call.params == {"FILTER": {"ID": 3}}
    assert call.parse(ApiResponse(result=[])) is None


def test_batch_references_pass_through(recorder: Recorder) -> None:
    ref = Ref("c0")
    call = sent(WorkflowCommands(recorder).terminate(ref))
    assert call.params == {"ID": "$result[c0]"}


def test_walks_are_not_part_of_the_commands_a_batch_carries(recorder: Recorder) -> None:
    for commands, walk in (
        (WorkflowCommands, "instances"),
        (TaskCommands, "list"),
        (TemplateCommands, "list"),
        (UserCommands, "list"),
    ):
        assert not hasattr(commands(recorder), walk)


def test_task_from_the_list_can_be_passed_whole(recorder: Recorder) -> None:
    task = Task(id=7, activity="ReviewActivity")
    call = sent(TaskCommands(recorder).complete(task, TaskCompletion.OK))
    assert call.params == {"TASK_ID": 7, "STATUS": 3}
