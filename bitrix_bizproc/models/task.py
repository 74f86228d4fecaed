"""Workflow tasks, as listed by ``bizproc.task.list``, with their ``PARAMETERS`` and field descriptions."""

from __future__ import annotations

import datetime as _dt
from typing import Any

import attrs

from .converter import LocalizedText, wire
from .documents import DocumentId, from_row
from .enums import CommentRequired, TaskActivity, TaskCompletion, TaskStatus, TaskUserStatus

__all__ = ["Task", "TaskField", "TaskParameters"]


@attrs.frozen
class TaskField:
    """A field a request-information task asks the user to fill in (``PARAMETERS.Fields[]``)."""

    id: str | None = attrs.field(default=None, metadata=wire("Id"))
    type: str | None = attrs.field(default=None, metadata=wire("Type"))
    name: LocalizedText | None = attrs.field(default=None, metadata=wire("Name"))
    description: LocalizedText | None = attrs.field(default=None, metadata=wire("Description"))
    multiple: bool | None = attrs.field(default=None, metadata=wire("Multiple"))
    required: bool | None = attrs.field(default=None, metadata=wire("Required"))
    options: Any = attrs.field(default=None, metadata=wire("Options"))
    settings: Any = attrs.field(default=None, metadata=wire("Settings"))
    default: Any = attrs.field(default=None, metadata=wire("Default"))
    extra: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class TaskParameters:
    """A task's ``PARAMETERS``: button labels, comment rules, and the fields to fill in."""

    comment_label: str | None = attrs.field(default=None, metadata=wire("CommentLabel"))
    comment_required: CommentRequired | None = attrs.field(default=None, metadata=wire("CommentRequired"))
    show_comment: bool | None = attrs.field(default=None, metadata=wire("ShowComment", yn=True))
    status_ok_label: str | None = attrs.field(default=None, metadata=wire("StatusOkLabel"))
    status_yes_label: str | None = attrs.field(default=None, metadata=wire("StatusYesLabel"))
    status_no_label: str | None = attrs.field(default=None, metadata=wire("StatusNoLabel"))
    fields: list[TaskField] | None = attrs.field(default=None, metadata=wire("Fields"))
    extra: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class Task:
    """One workflow task; fields not selected are ``None``."""

    id: int | None = attrs.field(default=None, metadata=wire("ID"))
    workflow_id: str | None = attrs.field(default=None, metadata=wire("WORKFLOW_ID"))
    document_name: str | None = attrs.field(default=None, metadata=wire("DOCUMENT_NAME"))
    description: str | None = attrs.field(default=None, metadata=wire("DESCRIPTION"))
    name: str | None = attrs.field(default=None, metadata=wire("NAME"))
    modified: _dt.datetime | None = attrs.field(default=None, metadata=wire("MODIFIED"))
    workflow_started: _dt.datetime | None = attrs.field(default=None, metadata=wire("WORKFLOW_STARTED"))
    workflow_started_by: int | None = attrs.field(default=None, metadata=wire("WORKFLOW_STARTED_BY"))
    overdue_date: _dt.datetime | None = attrs.field(default=None, metadata=wire("OVERDUE_DATE"))
    workflow_template_id: int | None = attrs.field(default=None, metadata=wire("WORKFLOW_TEMPLATE_ID"))
    workflow_template_name: str | None = attrs.field(default=None, metadata=wire("WORKFLOW_TEMPLATE_NAME"))
    workflow_state: str | None = attrs.field(default=None, metadata=wire("WORKFLOW_STATE"))
    status: TaskStatus | None = attrs.field(default=None, metadata=wire("STATUS"))
    user_id: int | None = attrs.field(default=None, metadata=wire("USER_ID"))
    user_status: TaskUserStatus | None = attrs.field(default=None, metadata=wire("USER_STATUS"))
    module_id: str | None = attrs.field(default=None, metadata=wire("MODULE_ID"))
    entity: str | None = attrs.field(default=None, metadata=wire("ENTITY"))
    document_id: str | None = attrs.field(default=None, metadata=wire("DOCUMENT_ID"))
    activity: str | None = attrs.field(default=None, metadata=wire("ACTIVITY"))
    activity_name: str | None = attrs.field(default=None, metadata=wire("ACTIVITY_NAME"))
    parameters: TaskParameters | None = attrs.field(default=None, metadata=wire("PARAMETERS"))
    document_url: str | None = attrs.field(default=None, metadata=wire("DOCUMENT_URL"))
    extra: dict[str, Any] = attrs.field(factory=dict)

    @property
    def kind(self) -> TaskActivity | None:
        """The task's kind, if ``ACTIVITY`` was selected and is one of the four known kinds."""
        return TaskActivity.lookup(self.activity)

    @property
    def completions(self) -> frozenset[TaskCompletion] | None:
        """The completion answers this task accepts, when its kind is known."""
        kind = self.kind
        return kind.completions if kind else None

    @property
    def document(self) -> DocumentId | None:
        """The typed document, when ``MODULE_ID``, ``ENTITY`` and ``DOCUMENT_ID`` were selected and valid."""
        return from_row(DocumentId, self.module_id, self.entity, self.document_id)
