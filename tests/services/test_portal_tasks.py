"""tasks.* and users.* against the emulated portal: success and the documented error codes."""

from __future__ import annotations

import pytest

from bitrix_bizproc import BizprocClient
from bitrix_bizproc.emulator import EmulatedPortal
from bitrix_bizproc.models import DocumentId, F, TaskActivity, TaskCompletion, TaskStatus, TaskUserStatus
from bitrix_bizproc.protocol.errors import AccessDeniedError, BitrixError, NotFoundError, ValidationError

DEAL = ("crm", "CCrmDocumentDeal", "DEAL")


async def _workflow_with_task(
    portal: EmulatedPortal, client: BizprocClient, activity: str, user: int, **spec: object
) -> str:
    tpl = portal.state.add_template("T", DEAL, tasks=[{"activity": activity, "users": [user], **spec}])
    return await client.workflows.start(tpl.id, DocumentId.deal(1))


async def test_list_and_complete_own_task(staffed: EmulatedPortal, client: BizprocClient) -> None:
    portal = staffed
    ann = portal.state.add_user("Ann", "Lee")
    wf_id = await _workflow_with_task(portal, client, "ApproveActivity", ann.id)
    page = await client.tasks.list_page(
        (F.user_id == ann.id) & (F.status == 0),
        select=["ID", "WORKFLOW_ID", "ACTIVITY", "STATUS", "USER_STATUS", "PARAMETERS"],
    )
    (task,) = page.items
    assert task.workflow_id == wf_id and task.kind is TaskActivity.APPROVE
    assert task.status is TaskStatus.IN_PROGRESS and task.user_status is TaskUserStatus.WAITING
    async with BizprocClient.from_webhook(portal.add_webhook(ann.id, admin=False), limiter="off") as as_ann:
        with pytest.raises(ValidationError):  # an approval takes yes/no: refused before sending
            await as_ann.tasks.complete(task, TaskCompletion.OK)
        assert await as_ann.tasks.complete(task, TaskCompletion.APPROVE, comment="ok") is True
        with pytest.raises(ValidationError) as info:
            await as_ann.tasks.complete(task.id, "yes")
        assert info.value.code == "ERROR_TASK_COMPLETED"
        with pytest.raises(NotFoundError) as not_found:
            await as_ann.tasks.complete(task.id + 1000, "yes")
        assert not_found.value.code == "ERROR_TASK_NOT_FOUND"
    (done,) = (await client.tasks.list_page(F.id == task.id, select=["ID", "STATUS", "USER_STATUS"])).items
    assert (done.status, done.user_status) == (TaskStatus.APPROVED, TaskUserStatus.APPROVED)


async def test_complete_with_fields(staffed: EmulatedPortal, client: BizprocClient) -> None:
    portal = staffed
    ann = portal.state.add_user("Ann", "Lee")
    field = {"Id": "phone", "Type": "string", "Name": "Phone", "Required": True, "Multiple": False}
    await _workflow_with_task(portal, client, "RequestInformationActivity", ann.id, fields=[field])
    (task,) = (
        await client.tasks.list_page(F.user_id == ann.id, select=["ID", "ACTIVITY", "PARAMETERS"])
    ).items
    assert task.parameters is not None and [f.id for f in task.parameters.fields or []] == ["phone"]
    async with BizprocClient.from_webhook(portal.add_webhook(ann.id, admin=False), limiter="off") as as_ann:
        with pytest.raises(ValidationError, match="phone"):  # the required field is checked before sending
            await as_ann.tasks.complete(task, TaskCompletion.OK)
        with pytest.raises(ValidationError) as info:  # the portal's own check, when the task is not known
            await as_ann.tasks.complete(task.id, TaskCompletion.OK)
        assert info.value.code == "ERROR_TASK_EXECUTION"
        assert await as_ann.tasks.complete(task, TaskCompletion.OK, fields={"phone": "+1 555"}) is True


async def test_default_select_fills_user_status_and_parameters(
    staffed: EmulatedPortal, client: BizprocClient
) -> None:
    portal = staffed
    ann = portal.state.add_user("Ann", "Lee")
    wf_id = await _workflow_with_task(portal, client, "ApproveActivity", ann.id)
    (task,) = [t async for t in client.tasks.list(F.user_id == ann.id)]
    assert (task.workflow_id, task.user_id, task.status) == (wf_id, ann.id, TaskStatus.IN_PROGRESS)
    assert task.kind is TaskActivity.APPROVE and task.parameters is not None
    (instance,) = (await client.workflows.instances_page()).items
    assert instance.id == wf_id and instance.template_id is not None and instance.started is not None
    assert instance.document_id == "DEAL_1"


async def test_delegate(staffed: EmulatedPortal, client: BizprocClient) -> None:
    portal = staffed
    ann = portal.state.add_user("Ann", "Lee")
    bob = portal.state.add_user("Bob", "Ray")
    await _workflow_with_task(portal, client, "ReviewActivity", ann.id)
    (task,) = (await client.tasks.list_page(F.user_id == ann.id)).items
    assert await client.tasks.delegate([task], from_user=ann.id, to_user=bob.id) is True
    assert [t.id for t in (await client.tasks.list_page(F.user_id == bob.id)).items] == [task.id]
    with pytest.raises(AccessDeniedError) as info:  # ann no longer holds it
        await client.tasks.delegate(task.id, from_user=ann.id, to_user=bob.id)
    assert info.value.code == "ERROR_DELEGATION_NOT_ALLOWED"
    with pytest.raises(ValidationError) as invalid:
        await client.tasks.delegate(task.id, from_user=bob.id, to_user=9999)
    assert invalid.value.code == "ERROR_INVALID_USER_ID"


async def test_task_list_stream_and_select_error(staffed: EmulatedPortal, client: BizprocClient) -> None:
    portal = staffed
    ann = portal.state.add_user("Ann", "Lee")
    tpl = portal.state.add_template("T", DEAL, tasks=[{"activity": "ReviewActivity", "users": [ann.id]}])
    for i in range(60):
        await client.workflows.start(tpl.id, DocumentId.deal(i + 1))
    tasks = [t async for t in client.tasks.list(F.user_id == ann.id)]
    assert len({t.id for t in tasks}) == 60
    with pytest.raises(BitrixError) as info:  # bypass the client's check: the portal's own error
        await client.call("bizproc.task.list", {"SELECT": "ID"})  # not an array
    assert info.value.code == "ERROR_SELECT_VALIDATION_FAILURE"


async def test_users(staffed: EmulatedPortal, client: BizprocClient) -> None:
    portal = staffed
    gone = portal.state.add_user("John", "Smith", active=False)
    portal.state.add_user("Jane", "Smithson")
    page = await client.users.get_page({"ACTIVE": False, "%LAST_NAME": "Smith"}, admin_mode=True)
    assert [u.id for u in page.items] == [gone.id] and page.items[0].active is False
    assert (await client.users.get(gone.id)) is not None
    assert await client.users.get(99999) is None
    everyone = [u.id async for u in client.users.list()]
    assert gone.id in everyone and everyone == sorted(everyone)
