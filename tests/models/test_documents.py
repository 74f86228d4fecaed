"""DocumentId / DocumentType: building, parsing both ways, and refusing malformed triples."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bitrix_bizproc.models import DocumentId, DocumentType, Task, Template, WorkflowInstance, user_ref
from bitrix_bizproc.protocol.encoding import normalize
from bitrix_bizproc.protocol.errors import ValidationError

NS = "Bitrix\\Crm\\Integration\\BizProc\\Document\\"


@pytest.mark.parametrize(
    ("built", "wire"),
    [
        (DocumentId.lead(777), ["crm", "CCrmDocumentLead", "LEAD_777"]),
        (DocumentId.contact(777), ["crm", "CCrmDocumentContact", "CONTACT_777"]),
        (DocumentId.company(777), ["crm", "CCrmDocumentCompany", "COMPANY_777"]),
        (DocumentId.deal(777), ["crm", "CCrmDocumentDeal", "DEAL_777"]),
        (DocumentId.estimate(777), ["crm", NS + "Quote", "QUOTE_777"]),
        (DocumentId.invoice(3), ["crm", NS + "SmartInvoice", "SMART_INVOICE_3"]),
        (DocumentId.legacy_invoice(3), ["crm", NS + "Invoice", "INVOICE_3"]),
        (DocumentId.smart_process(147, 1), ["crm", NS + "Dynamic", "DYNAMIC_147_1"]),
        (DocumentId.list_element(777), ["lists", "Bitrix\\Lists\\BizprocDocumentLists", "777"]),
        (DocumentId.list_element(777, news_feed=True), ["lists", "BizprocDocument", "777"]),
        (DocumentId.drive_file(777), ["disk", "Bitrix\\Disk\\BizProcDocument", "777"]),
    ],
)
def test_document_ids_match_the_docs_and_parse_back(built: DocumentId, wire: list[str]) -> None:
    assert built.to_wire() == wire
    assert normalize({"DOCUMENT_ID": built}) == {"DOCUMENT_ID": wire}
    assert DocumentId.parse(wire) == built


@pytest.mark.parametrize(
    ("built", "wire"),
    [
        (DocumentType.lead(), ["crm", "CCrmDocumentLead", "LEAD"]),
        (DocumentType.deal(), ["crm", "CCrmDocumentDeal", "DEAL"]),
        (DocumentType.quote(), ["crm", NS + "Quote", "QUOTE"]),
        (DocumentType.invoice(), ["crm", NS + "SmartInvoice", "SMART_INVOICE"]),
        (DocumentType.smart_process(147), ["crm", NS + "Dynamic", "DYNAMIC_147"]),
        (DocumentType.lists(164, news_feed=True), ["lists", "BizprocDocument", "iblock_164"]),
        (DocumentType.lists(164), ["lists", "Bitrix\\Lists\\BizprocDocumentLists", "iblock_164"]),
        (DocumentType.drive(5), ["disk", "Bitrix\\Disk\\BizProcDocument", "STORAGE_5"]),
    ],
)
def test_document_types_match_the_docs(built: DocumentType, wire: list[str]) -> None:
    assert built.to_wire() == wire
    assert DocumentType.parse(wire) == built


def test_smart_process_id_splits_at_the_last_underscore() -> None:
    doc = DocumentId.parse(["crm", NS + "Dynamic", "DYNAMIC_147_1"])
    assert doc.item_id == 1
    assert doc.document_type == DocumentType.smart_process(147)
    assert doc.document_type is not None and doc.document_type.smart_process_id == 147


def test_smart_invoice_type_keeps_its_inner_underscore() -> None:
    doc = DocumentId.invoice(3)
    assert doc.item_id == 3
    assert doc.document_type == DocumentType.invoice()


@given(type_id=st.integers(1, 10**9), item_id=st.integers(1, 10**9))
def test_smart_process_round_trip(type_id: int, item_id: int) -> None:
    doc = DocumentId.smart_process(type_id, item_id)
    back = DocumentId.parse(doc.to_wire())
    assert (back.item_id, back.document_type) == (item_id, DocumentType.smart_process(type_id))


@pytest.mark.parametrize(
    "wire",
    [
        ["crm", "CCrmDocumentDeal"],
        ["crm", "CCrmDocumentDeal", "DEAL_777", "x"],
        "crm,CCrmDocumentDeal,DEAL_777",
        ["crm", "CCrmDocumentDeal", ""],
        ["crm", "CCrmDocumentDeal", 777],
        ["crm", "CCrmDocumentDeal", "LEAD_777"],
        ["crm", "CCrmDocumentDeal", "DEAL_"],
        ["crm", "CCrmDocumentDeal", "DEAL_x"],
        ["crm", "CCrmDocumentDeal", "777"],
        ["crm", NS + "Dynamic", "DYNAMIC_147"],
        ["crm", NS + "Dynamic", "DYNAMIC__1"],
        ["lists", "BizprocDocument", "abc"],
        ["disk", "Bitrix\\Disk\\BizProcDocument", "-1"],
    ],
)
def test_malformed_document_ids_are_refused(wire: object) -> None:
    with pytest.raises(ValidationError):
        DocumentId.parse(wire)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "wire",
    [
        ["crm", "CCrmDocumentDeal", "LEAD"],
        ["crm", NS + "Dynamic", "DYNAMIC_"],
        ["lists", "BizprocDocument", "164"],
        ["disk", "Bitrix\\Disk\\BizProcDocument", "storage_5"],
        ["crm", "", "DEAL"],
    ],
)
def test_malformed_document_types_are_refused(wire: list[str]) -> None:
    with pytest.raises(ValidationError):
        DocumentType.parse(wire)


@pytest.mark.parametrize("bad", [0, -3, True, "7a", 1.5])
def test_builders_refuse_non_positive_ids(bad: object) -> None:
    with pytest.raises(ValidationError):
        DocumentId.deal(bad)  # type: ignore[arg-type]


def test_unknown_modules_pass_through_when_well_formed() -> None:
    doc = DocumentId.parse(["tasks", "Bitrix\\Tasks\\Integration\\Bizproc\\Document\\Task", "TASK_5"])
    assert doc.item_id == 5
    assert doc.document_type is None


def test_document_type_of_a_list_cannot_invent_an_id() -> None:
    with pytest.raises(ValidationError):
        DocumentType.lists(5).document(1)


def test_user_ref() -> None:
    assert user_ref(14) == "user_14"
    with pytest.raises(ValidationError):
        user_ref(0)


@pytest.mark.parametrize(
    "row",
    [
        WorkflowInstance(module_id="crm", entity="CCrmDocumentDeal"),  # DOCUMENT_ID not selected
        WorkflowInstance(module_id="crm", entity="CCrmDocumentDeal", document_id="LEAD_5"),  # malformed
        Task(module_id="crm", entity="CCrmDocumentDeal", document_id="DEAL_x"),
        Template(module_id="crm", entity="CCrmDocumentDeal", document_type="LEAD"),
        Template(entity="CCrmDocumentDeal", document_type="DEAL"),
    ],
)
def test_a_listed_row_without_a_valid_document_has_none(row: WorkflowInstance | Task | Template) -> None:
    assert row.document is None


def test_a_listed_row_types_its_document() -> None:
    deal = {"module_id": "crm", "entity": "CCrmDocumentDeal"}
    assert WorkflowInstance(**deal, document_id="DEAL_5").document == DocumentId.deal(5)
    assert Task(**deal, document_id="DEAL_5").document == DocumentId.deal(5)
    assert Template(**deal, document_type="DEAL").document == DocumentType.deal()


def test_colon_strings_parse_like_the_list_form() -> None:
    assert DocumentId.parse("crm:CCrmDocumentDeal:DEAL_1") == DocumentId.deal(1)
    assert DocumentId.parse(f"crm:{NS}Dynamic:DYNAMIC_147_1") == DocumentId.smart_process(147, 1)
    assert DocumentType.parse("crm:CCrmDocumentDeal:DEAL") == DocumentType.deal()


@pytest.mark.parametrize(
    "text", ["crm:CCrmDocumentDeal", "crm:CCrmDocumentDeal:DEAL_1:x", "crm,CCrmDocumentDeal,DEAL"]
)
def test_error_names_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValidationError, match=r"\[module, entity, type\] or 'module:entity:type'"):
        DocumentType.parse(text)
    with pytest.raises(ValidationError, match=r"\[module, entity, id\] or 'module:entity:id'"):
        DocumentId.parse(text)
