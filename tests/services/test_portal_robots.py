"""robots.*, activities.* and events.send against the emulated portal: success and documented errors."""

from __future__ import annotations

from typing import Any

import pytest

from bitrix_bizproc import BizprocClient
from bitrix_bizproc.emulator import EmulatedPortal
from bitrix_bizproc.models import DocumentId, DocumentType, Property, PropertyType
from bitrix_bizproc.protocol.errors import AccessDeniedError, NotFoundError, ValidationError

SMS: dict[str, Any] = {
    "code": "sms_robot",
    "handler": "https://app.example.com/robot",
    "name": {"en": "SMS", "de": "SMS"},
    "properties": {"phone": Property(name="Phone", type=PropertyType.STRING, required=True)},
    "return_properties": {"sent": Property(name="Sent", type=PropertyType.BOOL)},
    "document_type": DocumentType.deal(),
    "filter": {"INCLUDE": [["crm", "CCrmDocumentDeal"]]},
    "use_subscription": True,
}


@pytest.mark.parametrize("namespace", ["robots", "activities"])
async def test_register_update_list_delete(
    portal: EmulatedPortal, app: BizprocClient, namespace: str
) -> None:
    service = getattr(app, namespace)
    assert await service.add(**SMS) is True
    stored = portal.state.activities[(portal.oauth_app.client_id, "sms_robot")]
    assert stored.is_robot is (namespace == "robots")
    assert stored.fields["PROPERTIES"]["phone"]["Required"] == "Y"
    assert await service.list() == ["sms_robot"]
    assert await service.update("sms_robot", name="SMS v2", use_subscription=False) is True
    assert stored.fields["NAME"] == "SMS v2"
    with pytest.raises(ValidationError) as info:
        await service.add(**SMS)
    assert info.value.code == "ERROR_ACTIVITY_ALREADY_INSTALLED"
    assert await service.delete("sms_robot") is True
    assert await service.list() == []
    with pytest.raises(NotFoundError) as missing:
        await service.delete("sms_robot")
    assert missing.value.code == "ERROR_ACTIVITY_NOT_FOUND"
    with pytest.raises(NotFoundError):
        await service.update("sms_robot", name="x")


async def test_webhooks_are_not_an_application(client: BizprocClient) -> None:
    for call in (client.robots.add(**SMS), client.activities.list(), client.robots.delete("x")):
        with pytest.raises(AccessDeniedError, match="Application context required"):
            await call


async def test_handler_must_be_on_the_app_domain(portal: EmulatedPortal, app: BizprocClient) -> None:
    portal.state.register_app(portal.oauth_app.client_id, "app.example.com")
    with pytest.raises(ValidationError) as info:  # well-formed, so only the portal can refuse it
        await app.robots.add(**{**SMS, "handler": "https://elsewhere.example.org/robot"})
    assert info.value.code == "ERROR_WRONG_HANDLER_URL"


async def test_event_send_and_log(portal: EmulatedPortal, client: BizprocClient, app: BizprocClient) -> None:
    tpl = portal.state.add_template("T", ("crm", "CCrmDocumentDeal", "DEAL"))
    wf_id = await client.workflows.start(tpl.id, DocumentId.deal(5))
    token = portal.state.make_event_token(wf_id, app_id=portal.oauth_app.client_id, code="sms_robot")
    assert await app.activities.log(token, "sending") is True
    assert await app.events.send(token, {"sent": "Y"}, log_message="done") is True
    assert portal.state.event_tokens[token].return_values == {"sent": "Y"}
    assert [e.message for e in portal.state.activity_log][:1] == ["sending"]
    with pytest.raises(AccessDeniedError):  # the token is spent
        await app.events.send(token, {"sent": "Y"})
    with pytest.raises(AccessDeniedError):
        await app.activities.log("not-a-token", "x")
    with pytest.raises(ValidationError) as info:
        await app.call("bizproc.activity.log", {"EVENT_TOKEN": "x", "LOG_MESSAGE": ""})
    assert info.value.code == "ERROR_EMPTY_LOG_MESSAGE"


async def test_batch_uses_the_same_namespaces(portal: EmulatedPortal, client: BizprocClient) -> None:
    tpl = portal.state.add_template("T", ("crm", "CCrmDocumentDeal", "DEAL"))
    ids = [await client.workflows.start(tpl.id, DocumentId.deal(i)) for i in (1, 2, 3)]
    async with client.batch() as batch:
        workflows = batch.workflows
        commands = [workflows.terminate(wf_id, status="bulk") for wf_id in ids]
        missing = workflows.kill("66e412fdc9bd44.36306599")
        page = workflows.instances_page()
        with pytest.raises(AttributeError, match="instances"):  # and refused by the type checker
            workflows.instances()  # type: ignore[attr-defined]
    assert [c.result() for c in commands] == [True, True, True]
    assert isinstance(missing.error, NotFoundError)
    assert page.result().items == []
