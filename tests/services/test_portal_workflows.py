"""workflows.* and templates.* against the emulated portal: success and the documented error codes."""

from __future__ import annotations

import datetime as dt

import pytest

from bitrix_bizproc import BizprocClient
from bitrix_bizproc.emulator import EmulatedPortal
from bitrix_bizproc.models import AutoExecute, DocumentId, DocumentType, F, Filter
from bitrix_bizproc.protocol.errors import AccessDeniedError, BitrixError, NotFoundError, ValidationError


async def test_start_list_terminate_kill(portal: EmulatedPortal, client: BizprocClient) -> None:
    tpl = portal.state.add_template("Approval", ("crm", "CCrmDocumentDeal", "DEAL"))
    wf_id = await client.workflows.start(tpl.id, DocumentId.deal(777), parameters={"resp": "user_1"})
    assert isinstance(wf_id, str) and "." in wf_id
    page = await client.workflows.instances_page(
        F.template_id == tpl.id, select=["ID", "MODULE_ID", "ENTITY", "DOCUMENT_ID", "STARTED", "TEMPLATE_ID"]
    )
    assert [wf.id for wf in page.items] == [wf_id] and page.total == 1
    (wf,) = page.items
    assert wf.document == DocumentId.deal(777) and wf.template_id == tpl.id
    assert wf.started is not None and wf.started.tzinfo is not None
    assert await client.workflows.terminate(wf_id, status="Stopped by sync job") is True
    assert (await client.workflows.instances_page(F.template_id == tpl.id)).items == []
    second = await client.workflows.start(tpl.id, DocumentId.deal(778))
    assert await client.workflows.kill(second) is True
    assert portal.state.counts()["killed"] == 1


async def test_instances_filter_by_start_date(portal: EmulatedPortal, client: BizprocClient) -> None:
    portal.state.add_template("T", ("crm", "CCrmDocumentDeal", "DEAL"))
    old = dt.datetime(2023, 1, 1, tzinfo=dt.UTC).timestamp()
    new = dt.datetime(2025, 1, 1, tzinfo=dt.UTC).timestamp()
    portal.state.add_instances(3, started=old)
    portal.state.add_instances(2, started=new)
    cutoff = dt.datetime(2024, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=3)))
    page = await client.workflows.instances_page(Filter(F.started < cutoff), select=["ID", "STARTED"])
    assert page.total == 3 and all(wf.started and wf.started < cutoff for wf in page.items)
    legacy = await client.workflows.instances_page(F.started < cutoff, legacy_alias=True)
    assert legacy.total == 3


async def test_instances_stream(portal: EmulatedPortal, client: BizprocClient) -> None:
    portal.state.add_template("T", ("crm", "CCrmDocumentDeal", "DEAL"))
    made = portal.state.add_instances(120)
    seen = [wf.id async for wf in client.workflows.instances()]
    assert sorted(seen) == sorted(w.id for w in made)


async def test_instance_rows_are_the_selected_fields_as_plain_dicts(
    portal: EmulatedPortal, client: BizprocClient
) -> None:
    tpl = portal.state.add_template("T", ("crm", "CCrmDocumentDeal", "DEAL"))
    made = portal.state.add_instances(120)
    seen: list[tuple[int, int | None]] = []
    walk = client.workflows.instance_rows(
        F.template_id == tpl.id, select=["ID", "TEMPLATE_ID"], progress=lambda n, t: seen.append((n, t))
    )
    rows = await walk.collect()
    assert all(type(r) is dict and set(r) == {"ID", "TEMPLATE_ID"} for r in rows)
    assert sorted(r["ID"] for r in rows) == sorted(w.id for w in made) and seen[-1] == (120, 120)
    with pytest.raises(ValidationError):
        client.workflows.instance_rows(select=["NOPE"])
    with pytest.raises(ValidationError, match="max_buffered_pages"):
        client.workflows.instance_rows(select=["ID"], max_buffered_pages=0)


async def test_workflow_errors(portal: EmulatedPortal, client: BizprocClient) -> None:
    tpl = portal.state.add_template("Approval", ("crm", "CCrmDocumentDeal", "DEAL"))
    with pytest.raises(BitrixError) as info:  # unknown template
        await client.workflows.start(tpl.id + 100, DocumentId.deal(1))
    assert info.value.code == "ERROR_WRONG_WORKFLOW_ID"
    with pytest.raises(BitrixError) as info:  # a lead for a deal template
        await client.workflows.start(tpl.id, DocumentId.lead(1))
    assert "mismatch" in info.value.description
    with pytest.raises(NotFoundError):
        await client.workflows.terminate("66e412fdc9bd44.36306599")
    with pytest.raises(NotFoundError):
        await client.workflows.kill("66e412fdc9bd44.36306599")
    employee = portal.state.add_user("Ann", "Lee")
    hook = portal.add_webhook(employee.id, admin=False)
    async with BizprocClient.from_webhook(hook, limiter="off") as non_admin:
        with pytest.raises(AccessDeniedError):
            await non_admin.workflows.instances_page()
        with pytest.raises(AccessDeniedError):
            await non_admin.workflows.start(tpl.id, DocumentId.deal(1))
        with pytest.raises(AccessDeniedError):
            await non_admin.workflows.terminate("66e412fdc9bd44.36306599")
        with pytest.raises(AccessDeniedError):
            await non_admin.templates.list_page()


async def test_templates_in_an_app_context(portal: EmulatedPortal, app: BizprocClient) -> None:
    tpl_id = await app.templates.add(
        document_type=DocumentType.deal(), name="Approval", template_data=b"bpt-bytes", description="d"
    )
    assert isinstance(tpl_id, int)
    page = await app.templates.list_page({"ID": tpl_id}, select=["ID", "NAME", "AUTO_EXECUTE", "SYSTEM_CODE"])
    (tpl,) = page.items
    assert (tpl.id, tpl.name, tpl.auto_execute) == (tpl_id, "Approval", AutoExecute.NONE)
    assert tpl.system_code and tpl.system_code.startswith("rest_app_")
    assert await app.templates.update(tpl_id, name="Approval 2", auto_execute=AutoExecute.BOTH) == tpl_id
    (tpl,) = (await app.templates.list_page({"ID": tpl_id}, select=["NAME", "AUTO_EXECUTE"])).items
    assert (tpl.name, tpl.auto_execute) == ("Approval 2", AutoExecute.BOTH)
    assert [t.id async for t in app.templates.list({"ID": tpl_id})] == [tpl_id]
    assert await app.templates.delete(tpl_id) is None
    with pytest.raises(NotFoundError) as info:
        await app.templates.delete(tpl_id)
    assert (info.value.code, info.value.description) == ("", "Workflow template not found.")  # as live


async def test_template_errors(portal: EmulatedPortal, client: BizprocClient, app: BizprocClient) -> None:
    with pytest.raises(AccessDeniedError, match="Application context required"):
        await client.templates.add(document_type=DocumentType.deal(), name="A", template_data=b"x")
    foreign = portal.state.add_template("UI made", ("crm", "CCrmDocumentDeal", "DEAL"))
    # not-owner refusals (an empty code on a live portal) are checked in tests/compat/test_client_parsing.py
    with pytest.raises(NotFoundError):
        await app.templates.update(foreign.id + 100, name="x")
    with pytest.raises(ValidationError):  # refused before sending
        await app.templates.update(foreign.id)
