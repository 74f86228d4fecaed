"""``terminate_workflows(document_type=...)``: it acts on that document type's workflows, or refuses.

``bizproc.workflow.instances`` rows carry MODULE_ID, ENTITY and DOCUMENT_ID but no document type
(api-reference/bizproc/bizproc-workflow-instances.md). A CRM document's ID names its type (``DEAL_5``,
``DYNAMIC_147_1``); a list element's or a Drive file's is a bare number (``['lists',
'Bitrix\\Lists\\BizprocDocumentLists', '123']``), so nothing in a row tells which list or storage it is in.
"""

from __future__ import annotations

import pytest

from bitrix_bizproc import BizprocClient, ValidationError
from bitrix_bizproc.emulator import EmulatedPortal
from bitrix_bizproc.jobs import ReportOutcome, terminate_workflows
from bitrix_bizproc.models import DocumentType

from ._seed import DEAL


@pytest.mark.parametrize("document_type", [DocumentType.lists(22), DocumentType.drive(5)])
async def test_a_list_or_drive_type_is_refused_not_silently_matched_to_nothing(
    portal: EmulatedPortal, client: BizprocClient, document_type: DocumentType
) -> None:
    template = portal.state.add_template("On the list", tuple(document_type.to_wire()))
    portal.state.add_instances(3, template_id=template.id)
    with pytest.raises(ValidationError, match="TEMPLATE_ID"):
        await terminate_workflows(client, filter={"STARTED_BY": 1}, document_type=document_type)
    assert portal.counters.requests == 0 and portal.state.running_count == 3


async def test_a_document_type_alone_is_a_filter(portal: EmulatedPortal, client: BizprocClient) -> None:
    """The CLI allows ``--document-type`` as the only criterion; the job must not call it an empty filter."""
    state = portal.state
    deal = state.add_template("Deals", DEAL)
    lead = state.add_template("Leads", ("crm", "CCrmDocumentLead", "LEAD"))
    deals = state.add_instances(4, template_id=deal.id)
    state.add_instances(2, template_id=lead.id)
    report = await terminate_workflows(client, filter={}, document_type=DocumentType.deal())
    assert report.count(ReportOutcome.DONE) == 4 and report.remaining == 0
    assert {w.id for w in deals}.isdisjoint(w.id for w in state.instances) and state.running_count == 2


@pytest.mark.parametrize(
    "triple",
    [
        ["crm", "CCrmDocumentDeal", "DEAL_1"],
        ("lists", "Bitrix\\Lists\\BizprocDocumentLists", "123"),
    ],
)
async def test_a_document_id_triple_is_refused_not_read_as_three_ids(
    portal: EmulatedPortal, client: BizprocClient, triple: list[str]
) -> None:
    """A list is IN there: ``[module, entity, id]`` would match DOCUMENT_ID "123" of every module."""
    with pytest.raises(ValidationError, match="MODULE_ID"):
        await terminate_workflows(client, filter={"DOCUMENT_ID": triple})
    assert portal.counters.requests == 0
