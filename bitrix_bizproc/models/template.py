"""Workflow templates, as listed by ``bizproc.workflow.template.list``."""

from __future__ import annotations

import datetime as _dt
from typing import Any

import attrs

from .converter import LocalizedText, wire
from .documents import DocumentType, from_row
from .enums import AutoExecute

__all__ = ["Template", "TemplateField"]


@attrs.frozen
class TemplateField:
    """A template parameter, variable or constant (constants carry their value in ``default``)."""

    name: LocalizedText | None = attrs.field(default=None, metadata=wire("Name"))
    description: LocalizedText | None = attrs.field(default=None, metadata=wire("Description"))
    type: str | None = attrs.field(default=None, metadata=wire("Type"))
    required: bool | None = attrs.field(default=None, metadata=wire("Required"))
    multiple: bool | None = attrs.field(default=None, metadata=wire("Multiple"))
    options: Any = attrs.field(default=None, metadata=wire("Options"))
    default: Any = attrs.field(default=None, metadata=wire("Default"))
    extra: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class Template:
    """One workflow template; fields not selected are ``None`` (the default select is ``ID`` only)."""

    id: int | None = attrs.field(default=None, metadata=wire("ID"))
    module_id: str | None = attrs.field(default=None, metadata=wire("MODULE_ID"))
    entity: str | None = attrs.field(default=None, metadata=wire("ENTITY"))
    document_type: str | None = attrs.field(default=None, metadata=wire("DOCUMENT_TYPE"))
    auto_execute: AutoExecute | None = attrs.field(default=None, metadata=wire("AUTO_EXECUTE"))
    name: str | None = attrs.field(default=None, metadata=wire("NAME"))
    template: list[Any] | None = attrs.field(default=None, metadata=wire("TEMPLATE"))
    parameters: dict[str, TemplateField] | None = attrs.field(default=None, metadata=wire("PARAMETERS"))
    variables: dict[str, TemplateField] | None = attrs.field(default=None, metadata=wire("VARIABLES"))
    constants: dict[str, TemplateField] | None = attrs.field(default=None, metadata=wire("CONSTANTS"))
    modified: _dt.datetime | None = attrs.field(default=None, metadata=wire("MODIFIED"))
    is_modified: bool | None = attrs.field(default=None, metadata=wire("IS_MODIFIED", yn=True))
    user_id: int | None = attrs.field(default=None, metadata=wire("USER_ID"))
    system_code: str | None = attrs.field(default=None, metadata=wire("SYSTEM_CODE"))
    extra: dict[str, Any] = attrs.field(factory=dict)

    @property
    def document(self) -> DocumentType | None:
        """The typed document type, when ``MODULE_ID``, ``ENTITY`` and ``DOCUMENT_TYPE`` were selected."""
        return from_row(DocumentType, self.module_id, self.entity, self.document_type)
