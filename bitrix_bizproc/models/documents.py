"""``DOCUMENT_ID`` and ``DOCUMENT_TYPE`` triples: build them by name, parse them back, reject malformed ones.

::

    DocumentId.deal(777)                  # ['crm', 'CCrmDocumentDeal', 'DEAL_777']
    DocumentId.smart_process(147, 1)      # [..., 'Dynamic', 'DYNAMIC_147_1']: type 147, item 1
    DocumentType.deal()                   # ['crm', 'CCrmDocumentDeal', 'DEAL']
    DocumentId.parse(["crm", "CCrmDocumentLead", "LEAD_5"]).item_id  # 5
    DocumentId.parse("crm:CCrmDocumentLead:LEAD_5")  # the same; exactly two colons (no part holds one)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, TypeVar

import attrs

from ..protocol.errors import ClientValidationError, ValidationError

__all__ = ["CRM", "DISK", "LISTS", "DocumentId", "DocumentType", "user_ref"]

CRM = "crm"
LISTS = "lists"
DISK = "disk"

_NS = "Bitrix\\Crm\\Integration\\BizProc\\Document\\"
LEAD_ENTITY = "CCrmDocumentLead"
CONTACT_ENTITY = "CCrmDocumentContact"
COMPANY_ENTITY = "CCrmDocumentCompany"
DEAL_ENTITY = "CCrmDocumentDeal"
QUOTE_ENTITY = _NS + "Quote"
INVOICE_ENTITY = _NS + "Invoice"
SMART_INVOICE_ENTITY = _NS + "SmartInvoice"
DYNAMIC_ENTITY = _NS + "Dynamic"
FEED_ENTITY = "BizprocDocument"
LIST_ENTITY = "Bitrix\\Lists\\BizprocDocumentLists"
DRIVE_ENTITY = "Bitrix\\Disk\\BizProcDocument"

# CRM entity -> the fixed type code ("" for smart processes, whose code is DYNAMIC_<type id>).
_CRM_TYPES: dict[str, str] = {
    LEAD_ENTITY: "LEAD",
    CONTACT_ENTITY: "CONTACT",
    COMPANY_ENTITY: "COMPANY",
    DEAL_ENTITY: "DEAL",
    QUOTE_ENTITY: "QUOTE",
    INVOICE_ENTITY: "INVOICE",
    SMART_INVOICE_ENTITY: "SMART_INVOICE",
    DYNAMIC_ENTITY: "",
}
_DYNAMIC_TYPE = re.compile(r"DYNAMIC_([1-9]\d*)")
_NUMBER = re.compile(r"[1-9]\d*")
_IBLOCK_TYPE = re.compile(r"iblock_([1-9]\d*)")
_STORAGE_TYPE = re.compile(r"STORAGE_([1-9]\d*)")


def _fail(what: str, value: Any, why: str) -> ValidationError:
    return ClientValidationError(f"malformed {what} {value!r}: {why}")


def _positive(value: int | str, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str) or not _NUMBER.fullmatch(str(value)):
        raise _fail(what, value, "expected a positive integer")
    return int(value)


def _triple(value: Any, what: str, last: str) -> tuple[str, str, str]:
    """``[module, entity, last]`` from a 3-item list/tuple or a ``"module:entity:last"`` string.

    The string form is unambiguous: module ids and PHP class names (the entity) never contain ``:``, and
    exactly two colons are required, so a part with a colon of its own must be given in the list form.
    """
    forms = f"expected [module, entity, {last}] or 'module:entity:{last}'"
    if isinstance(value, str):
        parts = value.split(":")
        if len(parts) != 3:
            raise _fail(what, value, forms)
        value = parts
    if isinstance(value, bytes) or not isinstance(value, Sequence) or len(value) != 3:
        raise _fail(what, value, forms)
    if not all(isinstance(part, str) and part.strip() for part in value):
        raise _fail(what, value, "every part must be a non-empty string")
    return value[0], value[1], value[2]


def _check_type(module: str, entity: str, code: str) -> None:
    what = "DOCUMENT_TYPE"
    triple = [module, entity, code]
    if module == CRM and entity in _CRM_TYPES:
        fixed = _CRM_TYPES[entity]
        if fixed and code != fixed:
            raise _fail(what, triple, f"{entity} documents have type {fixed!r}")
        if not fixed and not _DYNAMIC_TYPE.fullmatch(code):
            raise _fail(what, triple, "smart-process types look like 'DYNAMIC_<type id>'")
    elif module == LISTS and entity in (FEED_ENTITY, LIST_ENTITY) and not _IBLOCK_TYPE.fullmatch(code):
        raise _fail(what, triple, "list types look like 'iblock_<id>'")
    elif module == DISK and entity == DRIVE_ENTITY and not _STORAGE_TYPE.fullmatch(code):
        raise _fail(what, triple, "Drive types look like 'STORAGE_<id>'")


def _is_list_or_drive(module: str, entity: str) -> bool:
    return (module == LISTS and entity in (FEED_ENTITY, LIST_ENTITY)) or (
        module == DISK and entity == DRIVE_ENTITY
    )


def _split_crm_id(entity: str, code: str) -> tuple[str, int] | None:
    """``DYNAMIC_147_1`` -> (``DYNAMIC_147``, 1): the item id follows the LAST underscore."""
    head, sep, tail = code.rpartition("_")
    if not sep or not _NUMBER.fullmatch(tail):
        return None
    fixed = _CRM_TYPES[entity]
    if (fixed and head != fixed) or (not fixed and not _DYNAMIC_TYPE.fullmatch(head)):
        return None
    return head, int(tail)


@attrs.frozen
class DocumentType:
    """A kind of document (``[module, entity, type]``) that templates, actions and robots bind to."""

    module: str
    entity: str
    type: str

    def __attrs_post_init__(self) -> None:
        _triple([self.module, self.entity, self.type], "DOCUMENT_TYPE", "type")
        _check_type(self.module, self.entity, self.type)

    @classmethod
    def parse(cls, value: DocumentType | Sequence[str] | str) -> DocumentType:
        """Read ``[module, entity, type]`` or ``"module:entity:type"``; raises :class:`ValidationError`."""
        if isinstance(value, DocumentType):
            return value
        return cls(*_triple(value, "DOCUMENT_TYPE", "type"))

    @classmethod
    def lead(cls) -> DocumentType:
        """CRM leads."""
        return cls(CRM, LEAD_ENTITY, "LEAD")

    @classmethod
    def contact(cls) -> DocumentType:
        """CRM contacts."""
        return cls(CRM, CONTACT_ENTITY, "CONTACT")

    @classmethod
    def company(cls) -> DocumentType:
        """CRM companies."""
        return cls(CRM, COMPANY_ENTITY, "COMPANY")

    @classmethod
    def deal(cls) -> DocumentType:
        """CRM deals."""
        return cls(CRM, DEAL_ENTITY, "DEAL")

    @classmethod
    def quote(cls) -> DocumentType:
        """CRM estimates (quotes)."""
        return cls(CRM, QUOTE_ENTITY, "QUOTE")

    estimate = quote

    @classmethod
    def invoice(cls) -> DocumentType:
        """CRM invoices (the current, smart invoices)."""
        return cls(CRM, SMART_INVOICE_ENTITY, "SMART_INVOICE")

    @classmethod
    def legacy_invoice(cls) -> DocumentType:
        """CRM invoices of the old kind."""
        return cls(CRM, INVOICE_ENTITY, "INVOICE")

    @classmethod
    def smart_process(cls, type_id: int) -> DocumentType:
        """Items of the smart process (SPA) ``type_id``."""
        return cls(CRM, DYNAMIC_ENTITY, f"DYNAMIC_{_positive(type_id, 'smart-process type id')}")

    @classmethod
    def lists(cls, iblock_id: int, *, news_feed: bool = False) -> DocumentType:
        """Elements of the list (information block) ``iblock_id``; ``news_feed`` for news-feed processes."""
        entity = FEED_ENTITY if news_feed else LIST_ENTITY
        return cls(LISTS, entity, f"iblock_{_positive(iblock_id, 'information block id')}")

    @classmethod
    def drive(cls, storage_id: int) -> DocumentType:
        """Files of the Drive storage ``storage_id``."""
        return cls(DISK, DRIVE_ENTITY, f"STORAGE_{_positive(storage_id, 'storage id')}")

    @property
    def smart_process_id(self) -> int | None:
        """The smart-process type id of a ``DYNAMIC_<id>`` type, else ``None``."""
        match = _DYNAMIC_TYPE.fullmatch(self.type) if self.entity == DYNAMIC_ENTITY else None
        return int(match.group(1)) if match else None

    def document(self, item_id: int) -> DocumentId:
        """The document ``item_id`` of this type (CRM types only: others have no id pattern to follow)."""
        if self.module != CRM or self.entity not in _CRM_TYPES:
            raise ClientValidationError(
                f"cannot derive a document id from {self.to_wire()!r}; build the DocumentId directly",
            )
        return DocumentId(self.module, self.entity, f"{self.type}_{_positive(item_id, 'document id')}")

    def to_wire(self) -> list[str]:
        """The ``[module, entity, type]`` list the portal takes."""
        return [self.module, self.entity, self.type]

    def __bitrix_wire__(self) -> list[str]:
        return self.to_wire()


@attrs.frozen
class DocumentId:
    """One document (``[module, entity, id]``) a workflow runs on."""

    module: str
    entity: str
    id: str

    def __attrs_post_init__(self) -> None:
        triple = [self.module, self.entity, self.id]
        _triple(triple, "DOCUMENT_ID", "id")
        if self.module == CRM and self.entity in _CRM_TYPES:
            if _split_crm_id(self.entity, self.id) is None:
                pattern = _CRM_TYPES[self.entity] or "DYNAMIC_<type id>"
                raise _fail("DOCUMENT_ID", triple, f"{self.entity} ids look like '{pattern}_<item id>'")
        elif _is_list_or_drive(self.module, self.entity) and not _NUMBER.fullmatch(self.id):
            raise _fail("DOCUMENT_ID", triple, "list and Drive ids are positive integers")

    @classmethod
    def parse(cls, value: DocumentId | Sequence[str] | str) -> DocumentId:
        """Read ``[module, entity, id]`` or ``"module:entity:id"``; raises :class:`ValidationError`."""
        if isinstance(value, DocumentId):
            return value
        return cls(*_triple(value, "DOCUMENT_ID", "id"))

    @classmethod
    def lead(cls, item_id: int) -> DocumentId:
        """A CRM lead."""
        return DocumentType.lead().document(item_id)

    @classmethod
    def contact(cls, item_id: int) -> DocumentId:
        """A CRM contact."""
        return DocumentType.contact().document(item_id)

    @classmethod
    def company(cls, item_id: int) -> DocumentId:
        """A CRM company."""
        return DocumentType.company().document(item_id)

    @classmethod
    def deal(cls, item_id: int) -> DocumentId:
        """A CRM deal."""
        return DocumentType.deal().document(item_id)

    @classmethod
    def quote(cls, item_id: int) -> DocumentId:
        """A CRM estimate (quote)."""
        return DocumentType.quote().document(item_id)

    estimate = quote

    @classmethod
    def invoice(cls, item_id: int) -> DocumentId:
        """A CRM (smart) invoice."""
        return DocumentType.invoice().document(item_id)

    @classmethod
    def legacy_invoice(cls, item_id: int) -> DocumentId:
        """A CRM invoice of the old kind."""
        return DocumentType.legacy_invoice().document(item_id)

    @classmethod
    def smart_process(cls, type_id: int, item_id: int) -> DocumentId:
        """Item ``item_id`` of the smart process ``type_id`` (``DYNAMIC_<type>_<item>``)."""
        return DocumentType.smart_process(type_id).document(item_id)

    @classmethod
    def list_element(cls, element_id: int, *, news_feed: bool = False) -> DocumentId:
        """A list element; ``news_feed`` for a news-feed process document."""
        entity = FEED_ENTITY if news_feed else LIST_ENTITY
        return cls(LISTS, entity, str(_positive(element_id, "list element id")))

    @classmethod
    def drive_file(cls, file_id: int) -> DocumentId:
        """A Drive file."""
        return cls(DISK, DRIVE_ENTITY, str(_positive(file_id, "Drive file id")))

    @property
    def item_id(self) -> int | None:
        """The numeric id of the document (the part after the LAST ``_`` for CRM), if it has one."""
        if self.module == CRM and self.entity in _CRM_TYPES:
            split = _split_crm_id(self.entity, self.id)
            return split[1] if split else None
        tail = self.id.rpartition("_")[2]
        return int(tail) if _NUMBER.fullmatch(tail) else None

    @property
    def document_type(self) -> DocumentType | None:
        """The document's type where the id tells it (CRM), else ``None``."""
        if self.module == CRM and self.entity in _CRM_TYPES:
            split = _split_crm_id(self.entity, self.id)
            return DocumentType(self.module, self.entity, split[0]) if split else None
        return None

    def to_wire(self) -> list[str]:
        """The ``[module, entity, id]`` list the portal takes."""
        return [self.module, self.entity, self.id]

    def __bitrix_wire__(self) -> list[str]:
        return self.to_wire()


_D = TypeVar("_D", DocumentId, DocumentType)


def from_row(cls: type[_D], module: str | None, entity: str | None, last: str | None) -> _D | None:
    """``cls(module, entity, last)`` from a listed row's fields; ``None`` if one is missing or invalid."""
    if not (module and entity and last):
        return None
    try:
        return cls(module, entity, last)
    except ValidationError:
        return None


def user_ref(user_id: int) -> str:
    """A "user binding" parameter value: ``user_ref(14) == 'user_14'``."""
    return f"user_{_positive(user_id, 'user id')}"
