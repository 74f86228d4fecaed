"""Each mapped operation through the emulated gateway, with the same client code as over a webhook."""

from __future__ import annotations

import pytest

from bitrix_bizproc._client import BizprocClient
from bitrix_bizproc.emulator import EmulatedPortal
from bitrix_bizproc.emulator.vibecode import VibecodeGateway
from bitrix_bizproc.models.documents import DocumentId
from bitrix_bizproc.protocol.errors import NotFoundError, UnsupportedOperationError

from .conftest import DEAL_TYPE, Connect


async def test_start_then_list_shows_the_new_instance(portal: EmulatedPortal, client: BizprocClient) -> None:
    template = portal.state.add_template("Approve", DEAL_TYPE, parameters={"Comment": {"Type": "string"}})
    workflow_id = await client.workflows.start(template.id, DocumentId.deal(5141), {"Comment": "hi"})
    assert isinstance(workflow_id, str)
    started = portal.state.instance(workflow_id)
    assert started is not None
    assert (started.document_id, started.parameters) == ("DEAL_5141", {"Comment": "hi"})
    page = await client.workflows.instances_page(
        {"TEMPLATE_ID": template.id}, select=["TEMPLATE_ID", "DOCUMENT_ID"]
    )
    assert [(w.id, w.template_id, w.document_id) for w in page.items] == [
        (workflow_id, template.id, "DEAL_5141")
    ]


@pytest.mark.parametrize("kind", ["lead", "contact", "company"])
async def test_start_on_each_crm_entity(portal: EmulatedPortal, client: BizprocClient, kind: str) -> None:
    entity = {"lead": "CCrmDocumentLead", "contact": "CCrmDocumentContact", "company": "CCrmDocumentCompany"}[
        kind
    ]
    template = portal.state.add_template("T", ["crm", entity, kind.upper()])
    workflow_id = await client.workflows.start(template.id, getattr(DocumentId, kind)(7))
    started = portal.state.instance(workflow_id)
    assert started is not None and started.document_id == f"{kind.upper()}_7"


async def test_soft_termination_keeps_the_record_with_its_status(
    portal: EmulatedPortal, client: BizprocClient
) -> None:
    portal.state.add_template("T", DEAL_TYPE)
    [workflow] = portal.state.add_instances(1)
    assert await client.workflows.terminate(workflow.id, status="cleanup") is True
    stopped = portal.state.instance(workflow.id)
    assert stopped is not None and (stopped.state, stopped.status_text) == ("Terminated", "cleanup")
    assert portal.state.counts()["terminated"] == 1


async def test_forced_termination_is_the_immediate_abort(
    portal: EmulatedPortal, client: BizprocClient
) -> None:
    portal.state.add_template("T", DEAL_TYPE)
    [workflow] = portal.state.add_instances(1)
    assert await client.workflows.kill(workflow.id) is True
    assert portal.state.instance(workflow.id) is None
    assert portal.state.counts()["killed"] == 1


async def test_terminating_an_unknown_workflow_is_not_found(client: BizprocClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        await client.workflows.terminate("66e412fdc9bd44.36306599")
    assert (caught.value.code, caught.value.status) == ("ENTITY_NOT_FOUND", 404)


async def test_paging_by_offset_walks_every_row_once(portal: EmulatedPortal, client: BizprocClient) -> None:
    portal.state.add_template("T", DEAL_TYPE)
    made = portal.state.add_instances(120)
    first = await client.workflows.instances_page(start=0)
    assert (len(first.items), first.total, first.next) == (50, 120, 50)
    seen = [str(w.id) for w in first.items]
    start: int | None = first.next
    while start is not None:
        page = await client.workflows.instances_page(start=start)
        seen += [str(w.id) for w in page.items]
        start = page.next
    assert sorted(seen) == sorted(w.id for w in made)
    walked = await client.workflows.instances(order={"MODIFIED": "DESC"}, strategy="sequential").collect()
    assert len({w.id for w in walked}) == 120


async def test_filters_by_template_and_starter(portal: EmulatedPortal, client: BizprocClient) -> None:
    one = portal.state.add_template("One", DEAL_TYPE)
    two = portal.state.add_template("Two", DEAL_TYPE)
    portal.state.add_instances(3, template_id=one.id, started_by=1)
    portal.state.add_instances(4, template_id=two.id, started_by=1)
    portal.state.add_instances(2, template_id=two.id, started_by=9)
    page = await client.workflows.instances_page({"TEMPLATE_ID": two.id, "STARTED_BY": 9})
    assert page.total == 2
    with pytest.raises(UnsupportedOperationError, match="MODULE_ID"):
        await client.workflows.instances_page({"MODULE_ID": "crm"})


async def test_template_list(portal: EmulatedPortal, client: BizprocClient) -> None:
    made = [portal.state.add_template(f"T{i}", DEAL_TYPE) for i in range(3)]
    page = await client.templates.list_page(select=["ID", "NAME", "DOCUMENT_TYPE"], order={"ID": "DESC"})
    assert [(t.id, t.name) for t in page.items] == [(t.id, t.name) for t in reversed(made)]
    assert page.items[0].document_type is not None


async def test_event_send_reaches_the_waiting_workflow(portal: EmulatedPortal, client: BizprocClient) -> None:
    portal.state.add_template("T", DEAL_TYPE)
    [workflow] = portal.state.add_instances(1)
    token = portal.state.make_event_token(workflow.id)
    assert await client.events.send(token, {"answer": "yes"}, log_message="done") is True
    assert portal.state.event_tokens[token].return_values == {"answer": "yes"}


async def test_app_key_with_session_token_acts_as_the_session_user(
    portal: EmulatedPortal, gateway: VibecodeGateway, connect: Connect
) -> None:
    portal.state.add_template("T", DEAL_TYPE)
    [workflow] = portal.state.add_instances(1)
    app_key = gateway.add_key(kind="app")
    client = connect(app_key, gateway.add_session(app_key))
    assert await client.workflows.kill(workflow.id) is True


async def test_unsupported_operations_fail_before_any_request(
    gateway: VibecodeGateway, client: BizprocClient
) -> None:
    before = gateway.requests
    with pytest.raises(UnsupportedOperationError, match=r"bizproc\.task\.list.*Vibecode gateway"):
        await client.tasks.list_page()
    with pytest.raises(UnsupportedOperationError, match=r"bizproc\.robot\.list"):
        await client.call("bizproc.robot.list")
    assert gateway.requests == before
    assert client.stats.requests == 0
