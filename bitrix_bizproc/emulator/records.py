"""The rows the emulated portal keeps: users, templates, workflow instances, tasks, app activities, tokens."""

from __future__ import annotations

from typing import Any

import attrs

__all__ = [
    "TASK_ACTIVITIES",
    "TASK_DEFAULT_PARAMETERS",
    "AppActivity",
    "EventToken",
    "LogEntry",
    "PortalSettings",
    "Task",
    "Template",
    "User",
    "Workflow",
]

TASK_ACTIVITIES = (
    "ApproveActivity",
    "ReviewActivity",
    "RequestInformationActivity",
    "RequestInformationOptionalActivity",
)

TASK_DEFAULT_PARAMETERS: dict[str, dict[str, Any]] = {  # a new task's PARAMETERS by its type
    "ApproveActivity": {
        "CommentLabel": "Comment",
        "CommentRequired": "N",
        "ShowComment": "Y",
        "StatusYesLabel": "Approve",
        "StatusNoLabel": "Reject",
    },
    "ReviewActivity": {
        "CommentLabel": "Comment",
        "CommentRequired": "N",
        "ShowComment": "Y",
        "StatusOkLabel": "Read",
    },
    "RequestInformationActivity": {
        "CommentLabel": "Comment",
        "CommentRequired": "N",
        "ShowComment": "Y",
        "StatusOkLabel": "Save",
        "Fields": [],
    },
    "RequestInformationOptionalActivity": {
        "CommentLabel": "Comment",
        "CommentRequired": "N",
        "ShowComment": "Y",
        "StatusOkLabel": "Save",
        "StatusCancelLabel": "Reject",
        "Fields": [],
    },
}


@attrs.define
class PortalSettings:
    """Where docs and live portals differ; defaults follow the live portal (protocol-facts)."""

    page_size: int = 50
    utc_offset_minutes: int = 180  # datetimes go out in the portal's zone, e.g. ``+03:00``
    # The server code (restservice.php) reads only the prefixes "", !, <, <=, >, >= and drops other keys;
    # newer docs also list = and !=: True emulates such a portal.
    extended_filter_operators: bool = False
    instances_support_start_minus_one: bool = False  # the live server always counts instances
    workflow_not_found_code: str = ""  # kill/terminate of an unknown ID: an empty code ...
    # ... and this description: BPCGWP_INVALID_WF of an English portal (lang/en workflowpersister.php)
    workflow_not_found_description: str = "The business process is not found."
    task_retention_seconds: float | None = 86_400.0  # cloud: tasks of finished workflows live one day
    delegate_partially: bool = True  # task.delegate moves the valid tasks even when others fail
    template_error_codes: bool = False  # template update/delete: the docs' codes instead of the server's ""
    # Filter fields a portal drops: restservice.php (getWorkflowInstances) converts only MODIFIED and
    # OWNED_UNTIL filter dates, not STARTED, so a <STARTED condition may be compared wrongly or not at
    # all; {"STARTED"} emulates the worst case. The task setting is fault injection for the client's re-check.
    instances_filter_ignores: frozenset[str] = frozenset()
    tasks_filter_ignores: frozenset[str] = frozenset()


@attrs.define(eq=False)
class User:
    """An employee (or extranet user); inactive means dismissed."""

    id: int
    name: str
    last_name: str
    second_name: str = ""
    email: str = ""
    active: bool = True
    is_admin: bool = False
    user_type: str = "employee"
    head_id: int | None = None
    departments: list[int] = attrs.Factory(lambda: [1])
    work_position: str = ""
    date_register: float = 0.0
    last_login: float | None = None
    online: bool = False  # IS_ONLINE

    @property
    def search_text(self) -> str:
        """What ``NAME_SEARCH`` looks in."""
        return f"{self.name} {self.last_name} {self.second_name} {self.email}"


@attrs.define(eq=False)
class Template:
    """A workflow template; ``tasks`` says which tasks a started workflow creates."""

    id: int
    name: str
    module_id: str
    entity: str
    document_type: str
    modified: float
    description: str = ""
    auto_execute: int = 0  # 0..3; 64 marks an automation-rule template (hidden from template.list)
    user_id: int = 1
    app_id: str | None = None
    system_code: str = ""
    is_modified: bool = False
    parameters: dict[str, dict[str, Any]] = attrs.Factory(dict)
    variables: dict[str, dict[str, Any]] = attrs.Factory(dict)
    constants: dict[str, dict[str, Any]] = attrs.Factory(dict)
    activities: list[Any] = attrs.Factory(list)
    tasks: list[dict[str, Any]] = attrs.Factory(list)
    data: bytes = b""

    @property
    def document_type_triple(self) -> tuple[str, str, str]:
        """``[module, entity, type]`` as the API spells it."""
        return (self.module_id, self.entity, self.document_type)


@attrs.define(eq=False)
class Workflow:
    """A workflow instance; ``state`` is Running, Completed or Terminated."""

    id: str
    template_id: int
    module_id: str
    entity: str
    document_id: str
    started: float
    started_by: int
    modified: float
    owned_until: float | None = None
    owned_id: str | None = None
    state: str = "Running"
    status_text: str = ""
    finished: float | None = None
    parameters: dict[str, Any] = attrs.Factory(dict)


@attrs.define(eq=False)
class Task:
    """One user's task in a workflow (one user per task in this emulator)."""

    id: int
    workflow_id: str
    user_id: int
    activity: str
    activity_name: str
    name: str
    modified: float
    module_id: str
    entity: str
    document_id: str
    document_name: str
    workflow_template_id: int
    workflow_template_name: str
    workflow_started: float
    workflow_started_by: int
    description: str = ""
    status: int = 0  # 0 running, 1 yes, 2 no, 3 ok, 4 overdue, 5 cancelled
    user_status: int = 0  # 0 waiting, 1 yes, 2 no, 3 ok, 4 cancel
    overdue_date: float | None = None
    workflow_state: str = "In progress"
    parameters: dict[str, Any] = attrs.Factory(dict)
    comment: str = ""
    result_fields: dict[str, Any] = attrs.Factory(dict)
    delegated_from: int | None = None

    @property
    def document_url(self) -> str:
        """The document's page on the portal."""
        kind = self.document_id.split("_", 1)[0].lower()
        return f"/crm/{kind}/details/{self.document_id.rsplit('_', 1)[-1]}/"


@attrs.define(eq=False)
class AppActivity:
    """An application's workflow action or automation rule (``is_robot``)."""

    app_id: str
    code: str
    is_robot: bool
    fields: dict[str, Any] = attrs.Factory(dict)


@attrs.define(eq=False)
class EventToken:
    """What a workflow hands an app activity's handler so that it can answer with ``event.send``."""

    token: str
    workflow_id: str
    app_id: str | None
    code: str
    use_subscription: bool = True
    used: bool = False
    return_values: dict[str, Any] | None = None


@attrs.frozen
class LogEntry:
    """A line an app wrote to a workflow's log."""

    workflow_id: str
    message: str
    at: float
