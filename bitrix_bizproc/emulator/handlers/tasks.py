"""bizproc.task.list / complete / delegate."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..context import CallContext, HandlerResult, PortalError
from ..records import PortalSettings, Task
from ..state import PortalState
from ..table import Condition, Query
from .common import Handler, access_denied
from .filtering import (
    Field,
    list_result,
    parse_datetime,
    parse_filter,
    parse_order,
    parse_select,
)
from .params import as_bool, as_int, as_list, as_mapping, as_str, is_empty

__all__ = ["ALLOWED_STATUSES", "HANDLERS", "TASK_FIELDS"]

TASK_FIELDS: dict[str, Field] = {
    "ID": Field("id", "int"),
    "WORKFLOW_ID": Field("workflow_id"),
    "DOCUMENT_NAME": Field("document_name"),
    "DESCRIPTION": Field("description"),
    "NAME": Field("name"),
    "MODIFIED": Field("modified", "datetime", "iso"),
    "WORKFLOW_STARTED": Field("workflow_started", "datetime", "iso"),
    "WORKFLOW_STARTED_BY": Field("workflow_started_by", "int"),
    "OVERDUE_DATE": Field("overdue_date", "datetime", "iso"),
    "WORKFLOW_TEMPLATE_ID": Field("workflow_template_id", "int"),
    "WORKFLOW_TEMPLATE_NAME": Field("workflow_template_name"),
    "WORKFLOW_STATE": Field("workflow_state"),
    "STATUS": Field("status", "int"),
    "USER_ID": Field("user_id", "int"),
    "USER_STATUS": Field("user_status", "int"),
    "MODULE_ID": Field("module_id"),
    "ENTITY": Field("entity"),
    "DOCUMENT_ID": Field("document_id"),
    "ACTIVITY": Field("activity"),
    "ACTIVITY_NAME": Field("activity_name"),
    "PARAMETERS": Field("parameters", "str", "raw"),
    "DOCUMENT_URL": Field("document_url", "str", "str", lambda t: t.document_url),
}
_DEFAULT_SELECT = ("ENTITY", "DOCUMENT_ID", "ID", "WORKFLOW_ID", "DOCUMENT_NAME", "NAME", "DOCUMENT_URL")

_STATUS_WORDS = {"1": 1, "yes": 1, "2": 2, "no": 2, "3": 3, "ok": 3, "4": 4, "cancel": 4}
ALLOWED_STATUSES: dict[str, frozenset[int]] = {
    "ApproveActivity": frozenset({1, 2}),
    "ReviewActivity": frozenset({3}),
    "RequestInformationActivity": frozenset({3}),
    "RequestInformationOptionalActivity": frozenset({3, 4}),
}
# complete STATUS -> (task STATUS, USER_STATUS)
_OUTCOME = {1: (1, 1), 2: (2, 2), 3: (3, 3), 4: (5, 4)}


def _validation(description: str) -> PortalError:
    return PortalError("ERROR_TASK_VALIDATION", description, 400)


def _visible_users(state: PortalState, ctx: CallContext) -> set[int]:
    return {ctx.user_id} | {u.id for u in state.users if u.head_id == ctx.user_id}


def list_tasks(state: PortalState, ctx: CallContext, params: dict[str, Any]) -> HandlerResult:
    """Tasks: admins see all, others their own (or their subordinates'); start=-1 skips the count."""
    settings = state.settings
    names = parse_select(params.get("SELECT"), TASK_FIELDS, _DEFAULT_SELECT)
    if names is None:
        raise PortalError("ERROR_SELECT_VALIDATION_FAILURE", "Invalid data in SELECT parameter", 400)
    conditions = parse_filter(params.get("FILTER"), TASK_FIELDS, settings, settings.tasks_filter_ignores)
    if not ctx.is_admin:
        asked = [c for c in conditions if c.attr == "user_id"]
        if not asked:
            conditions = (*conditions, Condition("user_id", "=", ctx.user_id))
        else:
            allowed = _visible_users(state, ctx)
            for cond in asked:
                wanted = cond.value if isinstance(cond.value, tuple) else (cond.value,)
                if cond.op != "=" or not set(wanted) <= allowed:
                    raise access_denied()
    state.purge_expired_tasks()
    query = Query(conditions, parse_order(params.get("ORDER"), TASK_FIELDS, (("id", True),)))
    return list_result(state.tasks, query, params, names, TASK_FIELDS, settings, no_count_allowed=True)


def _execution(description: str) -> PortalError:
    return PortalError("ERROR_TASK_EXECUTION", description, 400)


def _check_comment(task: Task, status: int, comment: str) -> None:
    rule = str(task.parameters.get("CommentRequired", "N"))
    approving = status in (1, 3)
    if comment.strip() or rule == "N" or (rule == "YA" and not approving) or (rule == "YR" and approving):
        return
    label = task.parameters.get("CommentLabel") or "Comment"
    raise _execution(f'The "{label}" field is required.')


def _check_fields(task: Task, given: Mapping[str, Any], settings: PortalSettings) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for spec in task.parameters.get("Fields") or []:
        if not isinstance(spec, Mapping) or not spec.get("Id"):
            continue
        key, label = str(spec["Id"]), spec.get("Name") or spec["Id"]
        value = given.get(key, spec.get("Default"))
        if is_empty(value) and value != 0:
            if spec.get("Required") in (True, "Y"):
                raise _execution(f'The "{label}" field is required.')
            continue
        kind = spec.get("Type")
        bad = (
            (kind in ("int", "double") and not _is_number(value))
            or (kind == "bool" and as_bool(value) is None)
            or (kind in ("date", "datetime") and parse_datetime(value, settings) is None)
            or (
                kind == "select"
                and isinstance(spec.get("Options"), Mapping)
                and str(value) not in spec["Options"]
            )
        )
        if bad:
            raise _execution(f'Incorrect value of the "{label}" field.')
        values[key] = value
    return values


def _is_number(value: Any) -> bool:
    try:
        float(str(value))
    except ValueError:
        return False
    return not isinstance(value, list | Mapping)


def complete(state: PortalState, ctx: CallContext, params: dict[str, Any]) -> HandlerResult:
    """Answer one's own task with a status valid for its type (and COMMENT, FIELDS when required)."""
    task_id = as_int(params.get("TASK_ID"))
    if not task_id:
        raise _validation("empty TASK_ID")
    status = _STATUS_WORDS.get((as_str(params.get("STATUS")) or "").strip().lower())
    if status is None:
        raise _validation("incorrect STATUS")
    task = state.tasks.get(task_id)
    if task is None or task.user_id != ctx.user_id:
        raise PortalError("ERROR_TASK_NOT_FOUND", "Task not found", 400)
    if task.status != 0:
        raise PortalError("ERROR_TASK_COMPLETED", "Task already completed", 400)
    allowed = ALLOWED_STATUSES.get(task.activity)
    if allowed is None:
        raise PortalError("ERROR_TASK_TYPE", "Incorrect task type", 400)
    if status not in allowed:
        raise _validation("incorrect STATUS")
    comment = as_str(params.get("COMMENT")) or ""
    _check_comment(task, status, comment)
    given = as_mapping(params.get("FIELDS")) if isinstance(params.get("FIELDS"), Mapping) else {}
    fields = _check_fields(task, given or {}, state.settings) if status != 4 else {}
    task_status, user_status = _OUTCOME[status]
    state.finish_task(task, task_status, user_status, comment, fields)
    return HandlerResult(True)


def _user_id(state: PortalState, value: Any, name: str, *, active: bool) -> int:
    user_id = as_int(value) if not isinstance(value, list | Mapping) else None
    user = state.users.get(user_id or 0)
    if user is None or (active and not user.active):
        raise PortalError("ERROR_INVALID_USER_ID", f"Invalid {name}", 400)
    return user.id


def delegate(state: PortalState, ctx: CallContext, params: dict[str, Any]) -> HandlerResult:
    """Hand open tasks from FROM_USER_ID to TO_USER_ID; per-task refusals are joined with "; "."""
    raw_ids = as_list(params.get("TASK_IDS")) if isinstance(params.get("TASK_IDS"), list | Mapping) else None
    ids = [as_int(i) for i in raw_ids or [] if not isinstance(i, list | Mapping)]
    if not ids or not all(ids) or len(ids) != len(raw_ids or []):
        raise _validation("Invalid TASK_IDS")
    from_id = _user_id(state, params.get("FROM_USER_ID"), "FROM_USER_ID", active=False)
    to_id = _user_id(state, params.get("TO_USER_ID"), "TO_USER_ID", active=True)
    if not ctx.is_admin and from_id != ctx.user_id:
        raise access_denied()
    to_user = state.users.get(to_id)
    assert to_user is not None
    errors: list[str] = []
    movable: list[Task] = []
    for task_id in dict.fromkeys(ids):
        task = state.tasks.get(task_id or 0)
        if task is None or task.user_id != from_id:
            errors.append("User is not responsible for the task")
        elif task.status != 0:
            errors.append("Task already completed")
        elif to_user.user_type != "employee":
            errors.append("Task delegation is only available for intranet users")
        elif not ctx.is_admin and not _delegation_allowed(task, state, from_id, to_id):
            errors.append("Task delegation is not allowed")
        else:
            movable.append(task)
    if not errors or state.settings.delegate_partially:
        for task in movable:
            state.delegate_task(task, to_id)
    if errors:
        raise PortalError("ERROR_DELEGATION_NOT_ALLOWED", "; ".join(dict.fromkeys(errors)), 400)
    return HandlerResult(True)


def _delegation_allowed(task: Task, state: PortalState, from_id: int, to_id: int) -> bool:
    kind = as_int(task.parameters.get("DelegationType", 1))  # 0 subordinates, 1 anyone, 2 nobody
    if kind == 2:
        return False
    target = state.users.get(to_id)
    return kind != 0 or (target is not None and target.head_id == from_id)


HANDLERS: dict[str, Handler] = {
    "bizproc.task.list": list_tasks,
    "bizproc.task.complete": complete,
    "bizproc.task.delegate": delegate,
}
