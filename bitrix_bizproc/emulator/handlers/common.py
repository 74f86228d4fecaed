"""What the handler modules share: the handler signature, access errors, and known document types."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ..context import CallContext, HandlerResult, PortalError
from ..state import PortalState
from .params import as_list

__all__ = ["DOCUMENT_ENTITIES", "Handler", "access_denied", "document_type", "parse_document_type"]

Handler = Callable[[PortalState, CallContext, dict[str, Any]], HandlerResult]

# (module, entity) -> the pattern of the document type (third element of DOCUMENT_TYPE)
DOCUMENT_ENTITIES: dict[tuple[str, str], re.Pattern[str]] = {
    ("crm", "CCrmDocumentLead"): re.compile(r"LEAD"),
    ("crm", "CCrmDocumentContact"): re.compile(r"CONTACT"),
    ("crm", "CCrmDocumentCompany"): re.compile(r"COMPANY"),
    ("crm", "CCrmDocumentDeal"): re.compile(r"DEAL"),
    ("crm", "Bitrix\\Crm\\Integration\\BizProc\\Document\\Quote"): re.compile(r"QUOTE"),
    ("crm", "Bitrix\\Crm\\Integration\\BizProc\\Document\\SmartInvoice"): re.compile(r"SMART_INVOICE"),
    ("crm", "Bitrix\\Crm\\Integration\\BizProc\\Document\\Dynamic"): re.compile(r"DYNAMIC_\d+"),
    ("lists", "BizprocDocument"): re.compile(r"iblock_\d+"),
    ("lists", "Bitrix\\Lists\\BizprocDocumentLists"): re.compile(r"iblock_\d+"),
    ("disk", "Bitrix\\Disk\\BizProcDocument"): re.compile(r"STORAGE_\d+"),
}


def access_denied(detail: str = "") -> PortalError:
    """``ACCESS_DENIED`` (HTTP 403): ``Access denied!`` and the detail, as the server's AccessException."""
    return PortalError("ACCESS_DENIED", "Access denied!" + (f" {detail}" if detail else ""), 403)


def parse_document_type(value: Any) -> tuple[str, str, str] | None:
    """A valid ``[module, entity, type]``, or None."""
    items = as_list(value) if not isinstance(value, str) else None
    if items is None or len(items) != 3 or not all(isinstance(i, str) and i for i in items):
        return None
    module, entity, doc_type = items
    pattern = DOCUMENT_ENTITIES.get((module, entity))
    if pattern is None or not pattern.fullmatch(doc_type):
        return None
    return (module, entity, doc_type)


def document_type(module: str, entity: str, document_id: str) -> str | None:
    """The type a document ID belongs to: ``DEAL_7`` -> ``DEAL``, ``DYNAMIC_147_1`` -> ``DYNAMIC_147``."""
    if module == "crm":
        head, sep, tail = document_id.rpartition("_")  # the item id follows the LAST underscore
        if not sep or not tail.isdigit() or int(tail) <= 0:
            return None
        pattern = DOCUMENT_ENTITIES.get((module, entity))
        return head if pattern is not None and pattern.fullmatch(head) else None
    return "" if (module, entity) in DOCUMENT_ENTITIES and document_id.isdigit() else None
