"""The client-side checks mirror the portal: each input the portal refuses is refused before sending too.

Each case sends the raw parameters (bypassing the checks) to see the portal's documented error code,
then makes the same mistake through the namespace and expects a ValidationError with nothing sent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bitrix_bizproc import BizprocClient
from bitrix_bizproc.emulator import EmulatedPortal
from bitrix_bizproc.models import DocumentId, DocumentType
from bitrix_bizproc.protocol.errors import BitrixError, ValidationError

ROBOT = {"CODE": "sms", "HANDLER": "https://app.example.com/h", "NAME": "SMS"}
KW: dict[str, Any] = {"code": "sms", "handler": "https://app.example.com/h", "name": "SMS"}
DEAL = ["crm", "CCrmDocumentDeal", "DEAL"]

# (method, raw params, the portal's code, the same mistake through the namespace, app context?)
Case = tuple[str, dict[str, Any], str, Callable[[BizprocClient], Any], bool]
CASES: dict[str, Case] = {
    "start without template": (
        "bizproc.workflow.start", {"DOCUMENT_ID": ["crm", "CCrmDocumentDeal", "DEAL_1"]},
        "ERROR_WRONG_WORKFLOW_ID", lambda c: c.workflows.start(0, DocumentId.deal(1)), False,
    ),
    "kill with an empty id": (
        "bizproc.workflow.kill", {"ID": ""}, "ERROR_WRONG_WORKFLOW_ID", lambda c: c.workflows.kill(""), False,
    ),
    "terminate with an empty id": (
        "bizproc.workflow.terminate", {"ID": ""}, "ERROR_WRONG_WORKFLOW_ID",
        lambda c: c.workflows.terminate(""), False,
    ),
    "template with an empty name": (
        "bizproc.workflow.template.add",
        {"DOCUMENT_TYPE": DEAL, "NAME": "", "TEMPLATE_DATA": ["a.bpt", "eA=="]},
        "ERROR_TEMPLATE_VALIDATION_FAILURE",
        lambda c: c.templates.add(document_type=DocumentType.deal(), name="", template_data=b"x"), True,
    ),
    "template with a bad document type": (
        "bizproc.workflow.template.add",
        {"DOCUMENT_TYPE": ["crm", "Nope"], "NAME": "A", "TEMPLATE_DATA": ["a.bpt", "eA=="]},
        "ERROR_TEMPLATE_VALIDATION_FAILURE",
        lambda c: c.templates.add(document_type=["crm", "Nope"], name="A", template_data=b"x"), True,
    ),
    "template with auto-execute 7": (
        "bizproc.workflow.template.add",
        {"DOCUMENT_TYPE": DEAL, "NAME": "A", "TEMPLATE_DATA": ["a.bpt", "eA=="], "AUTO_EXECUTE": 7},
        "ERROR_TEMPLATE_VALIDATION_FAILURE",
        lambda c: c.templates.add(document_type=DEAL, name="A", template_data=b"x", auto_execute=7), True,
    ),
    "complete with an empty task id": (
        "bizproc.task.complete", {"STATUS": 1}, "ERROR_TASK_VALIDATION",
        lambda c: c.tasks.complete(0, 1), False,
    ),
    "complete with a bad status": (
        "bizproc.task.complete", {"TASK_ID": 1, "STATUS": "maybe"}, "ERROR_TASK_VALIDATION",
        lambda c: c.tasks.complete(1, "maybe"), False,
    ),
    "delegate without tasks": (
        "bizproc.task.delegate", {"TASK_IDS": [], "FROM_USER_ID": 1, "TO_USER_ID": 1},
        "ERROR_TASK_VALIDATION",
        lambda c: c.tasks.delegate([], from_user=1, to_user=1), False,
    ),
    "robot code with a space": (
        "bizproc.robot.add", {**ROBOT, "CODE": "s m s"}, "ERROR_ACTIVITY_VALIDATION_FAILURE",
        lambda c: c.robots.add(**{**KW, "code": "s m s"}), True,
    ),
    "robot with an ftp handler": (
        "bizproc.robot.add", {**ROBOT, "HANDLER": "ftp://app.example.com/h"}, "ERROR_UNSUPPORTED_PROTOCOL",
        lambda c: c.robots.add(**{**KW, "handler": "ftp://app.example.com/h"}), True,
    ),
    "robot with a relative handler": (
        "bizproc.robot.add", {**ROBOT, "HANDLER": "/h"}, "ERROR_WRONG_HANDLER_URL",
        lambda c: c.robots.add(**{**KW, "handler": "/h"}), True,
    ),
    "robot without a name": (
        "bizproc.robot.add", {**ROBOT, "NAME": ""}, "ERROR_ACTIVITY_VALIDATION_FAILURE",
        lambda c: c.robots.add(**{**KW, "name": ""}), True,
    ),
    "action with a bad property key": (
        "bizproc.activity.add", {**ROBOT, "PROPERTIES": {"1st": {"Name": "x"}}},
        "ERROR_ACTIVITY_VALIDATION_FAILURE",
        lambda c: c.activities.add(**KW, properties={"1st": {"Name": "x"}}), True,
    ),
    "action property without a name": (
        "bizproc.activity.add", {**ROBOT, "PROPERTIES": {"p": {"Type": "int"}}},
        "ERROR_ACTIVITY_VALIDATION_FAILURE",
        lambda c: c.activities.add(**KW, properties={"p": {"Type": "int"}}), True,
    ),
    "action with a bad filter": (
        "bizproc.activity.add", {**ROBOT, "FILTER": {"ONLY": ["box"]}}, "ERROR_ACTIVITY_VALIDATION_FAILURE",
        lambda c: c.activities.add(**KW, filter={"ONLY": ["box"]}), True,
    ),
    "log without a message": (
        "bizproc.activity.log", {"EVENT_TOKEN": "t", "LOG_MESSAGE": ""}, "ERROR_EMPTY_LOG_MESSAGE",
        lambda c: c.activities.log("t", ""), False,
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
async def test_portal_and_client_refuse_alike(
    portal: EmulatedPortal, client: BizprocClient, app: BizprocClient, case: str
) -> None:
    method, raw, code, through_namespace, in_app = CASES[case]
    caller = app if in_app else client
    with pytest.raises(BitrixError) as portal_said:
        await caller.call(method, raw)
    assert portal_said.value.code == code
    requests = portal.counters.requests
    with pytest.raises(ValidationError) as client_said:
        await through_namespace(caller)
    assert client_said.value.code == "CLIENT_VALIDATION"
    assert portal.counters.requests == requests  # nothing was sent


async def test_task_of_a_kind_rest_cannot_complete(staffed: EmulatedPortal, client: BizprocClient) -> None:
    tpl = staffed.state.add_template("T", ("crm", "CCrmDocumentDeal", "DEAL"))
    wf_id = await client.workflows.start(tpl.id, DocumentId.deal(1))
    workflow = staffed.state.instance(wf_id)
    assert workflow is not None
    task = staffed.state.add_task(workflow, 1, {"activity": "CustomTaskActivity"})
    with pytest.raises(BitrixError) as info:
        await client.tasks.complete(task.id, "ok")
    assert info.value.code == "ERROR_TASK_TYPE"
