"""A running workflow, as listed by ``bizproc.workflow.instances``."""

from __future__ import annotations

import datetime as _dt
from typing import Any

import attrs

from .converter import wire
from .documents import DocumentId, from_row

__all__ = ["WorkflowInstance"]


@attrs.frozen
class WorkflowInstance:
    """One running workflow; fields not selected are ``None``. The ID is a string: never a number."""

    id: str | None = attrs.field(default=None, metadata=wire("ID"))
    modified: _dt.datetime | None = attrs.field(default=None, metadata=wire("MODIFIED"))
    owned_until: _dt.datetime | None = attrs.field(default=None, metadata=wire("OWNED_UNTIL"))
    module_id: str | None = attrs.field(default=None, metadata=wire("MODULE_ID"))
    entity: str | None = attrs.field(default=None, metadata=wire("ENTITY"))
    document_id: str | None = attrs.field(default=None, metadata=wire("DOCUMENT_ID"))
    started: _dt.datetime | None = attrs.field(default=None, metadata=wire("STARTED"))
    started_by: int | None = attrs.field(default=None, metadata=wire("STARTED_BY"))
    template_id: int | None = attrs.field(default=None, metadata=wire("TEMPLATE_ID"))
    extra: dict[str, Any] = attrs.field(factory=dict)

    @property
    def document(self) -> DocumentId | None:
        """The typed document, when ``MODULE_ID``, ``ENTITY`` and ``DOCUMENT_ID`` were selected and valid."""
        return from_row(DocumentId, self.module_id, self.entity, self.document_id)

    def is_stuck(self, now: _dt.datetime, *, grace: _dt.timedelta = _dt.timedelta(minutes=5)) -> bool:
        """Whether its lock (``OWNED_UNTIL``) lapsed more than ``grace`` before ``now`` ."""
        return self.owned_until is not None and now - self.owned_until > grace
