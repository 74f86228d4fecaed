"""``client.tasks``: list, complete and delegate workflow tasks."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._call import Pending
from ..models.enums import CommentRequired, TaskActivity, TaskCompletion
from ..models.filters import TASK_SPEC, FilterLike
from ..models.page import Page
from ..models.task import Task
from ..protocol.batch import Ref
from ..protocol.errors import ClientValidationError
from . import _checks
from .base import Listing, Service, WalkingService, true_result

if TYPE_CHECKING:
    from .._paging import Paginator

__all__ = [
    "DEFAULT_TASK_SELECT",
    "TaskCommands",
    "TasksService",
]

# The portal's own default (ENTITY, DOCUMENT_ID, ID, WORKFLOW_ID, DOCUMENT_NAME, NAME, DOCUMENT_URL) leaves
# out USER_ID, STATUS and PARAMETERS, so a Task would come back with them None: ask for every field instead.
DEFAULT_TASK_SELECT = (
    "ID", "WORKFLOW_ID", "DOCUMENT_NAME", "DESCRIPTION", "NAME", "MODIFIED", "WORKFLOW_STARTED",
    "WORKFLOW_STARTED_BY", "OVERDUE_DATE", "WORKFLOW_TEMPLATE_ID", "WORKFLOW_TEMPLATE_NAME", "WORKFLOW_STATE",
    "STATUS", "USER_ID", "USER_STATUS", "MODULE_ID", "ENTITY", "DOCUMENT_ID", "ACTIVITY", "ACTIVITY_NAME",
    "PARAMETERS", "DOCUMENT_URL",
)  # fmt: skip
_TASKS = Listing(TASK_SPEC, Task, default_select=DEFAULT_TASK_SELECT)


def _completion(status: Any) -> TaskCompletion:
    try:
        return TaskCompletion.parse(status)
    except ValueError:
        raise ClientValidationError(
            f"incorrect STATUS {status!r}: use TaskCompletion (1/yes, 2/no, 3/ok, 4/cancel)"
        ) from None


def _kind(activity: TaskActivity | str | None, task: Any) -> TaskActivity | None:
    if activity is not None:
        kind = TaskActivity.lookup(str(activity))
        if kind is None:
            raise ClientValidationError(f"unknown task activity {activity!r}")
        return kind
    return task.kind if isinstance(task, Task) else None


def _check_comment(task: Any, status: TaskCompletion, comment: str | None) -> None:
    """Refuse a missing comment the task's settings require (``CommentRequired``)."""
    params = task.parameters if isinstance(task, Task) else None
    rule = params.comment_required if params else None
    needed = rule is CommentRequired.YES or (
        (rule is CommentRequired.ON_APPROVE and status is TaskCompletion.APPROVE)
        or (rule is CommentRequired.ON_REJECT and status is TaskCompletion.REJECT)
    )
    if needed and not (comment and comment.strip()):
        raise ClientValidationError(f"task {task.id} requires a comment for this answer")


def _check_fields(task: Any, status: TaskCompletion, fields: Mapping[str, Any]) -> None:
    """Refuse a missing required field of a request-information task (when its description is known)."""
    params = task.parameters if isinstance(task, Task) else None
    if not params or not params.fields or status is TaskCompletion.CANCEL:
        return
    missing = [f.id for f in params.fields if f.required and f.id and f.id not in fields and not f.default]
    if missing:
        raise ClientValidationError(f"task {task.id} requires the fields {', '.join(map(repr, missing))}")


class TaskCommands(Service):
    """Workflow tasks (``bizproc.task.*``): any user, for their own tasks (or subordinates' for lists).

    The single calls: what a batch carries (``batch.tasks``).
    """

    def list_page(
        self,
        filter: FilterLike | None = None,
        *,
        select: Sequence[str] | None = None,
        order: Mapping[str, str] | None = None,
        start: int = 0,
    ) -> Pending[Page[Task]]:
        """One page of tasks; without a ``USER_ID`` filter a non-admin sees their own.

        Without ``select`` every field is asked for (:data:`DEFAULT_TASK_SELECT`; the portal's own default
        leaves out ``USER_ID``, ``STATUS`` and ``PARAMETERS``); a ``select`` of yours is sent as given.
        Any user (an administrator may list anyone's; a manager their subordinates'). The cloud keeps
        tasks of completed workflows for one day.
        Docs: https://apidocs.bitrix24.com/api-reference/bizproc/bizproc-task/bizproc-task-list.html
        """
        return self._page(_TASKS, _TASKS.params(filter, select, order), start)

    def complete(
        self,
        task: int | Task | Ref,
        status: TaskCompletion | int | str,
        *,
        comment: str | None = None,
        fields: Mapping[str, Any] | None = None,
        activity: TaskActivity | str | None = None,
    ) -> Pending[bool]:
        """Answer one of your own tasks: approve/reject, acknowledge (ok), or fill in requested fields.

        Pass the :class:`Task` (from ``list``) to have its kind, comment rule and required fields checked
        before sending; or give ``activity`` to check the answer suits that kind of task.
        Any user, for their own task.
        Docs: https://apidocs.bitrix24.com/api-reference/bizproc/bizproc-task/bizproc-task-complete.html
        """
        completion = _completion(status)
        kind = _kind(activity, task)
        if kind is not None and completion not in kind.completions:
            allowed = ", ".join(c.word for c in sorted(kind.completions))
            raise ClientValidationError(f"a {kind.value} task takes {allowed}, not {completion.word}")
        if comment is not None and not isinstance(comment, str):
            raise ClientValidationError(f"comment is a text, not {type(comment).__name__}")
        if fields is not None and (
            not isinstance(fields, Mapping) or not all(isinstance(k, str) for k in fields)
        ):
            raise ClientValidationError("fields must be a map of task field Id -> value")
        _check_comment(task, completion, comment)
        _check_fields(task, completion, fields or {})
        params = {
            "TASK_ID": _checks.positive_id(task, "task_id"),
            "STATUS": completion,
            "COMMENT": comment,
            "FIELDS": dict(fields) if fields else None,
        }
        return self._submit("bizproc.task.complete", params, true_result)

    def delegate(
        self,
        task_ids: int | Task | Iterable[int | Task],
        *,
        from_user: int,
        to_user: int,
    ) -> Pending[bool]:
        """Hand tasks of ``from_user`` over to ``to_user`` (an intranet user the task settings allow).

        Any user responsible for the tasks (or an administrator).
        Docs: https://apidocs.bitrix24.com/api-reference/bizproc/bizproc-task/bizproc-task-delegate.html
        """
        params = {
            "TASK_IDS": _checks.positive_ids(task_ids, "task_ids"),
            "FROM_USER_ID": _checks.positive_id(from_user, "from_user"),
            "TO_USER_ID": _checks.positive_id(to_user, "to_user"),
        }
        return self._submit("bizproc.task.delegate", params, true_result)


class TasksService(TaskCommands, WalkingService):
    """The single calls, and the walks over every page (not available in a batch)."""

    def list(
        self,
        filter: FilterLike | None = None,
        *,
        select: Sequence[str] | None = None,
        order: Mapping[str, str] | None = None,
        strategy: str = "auto",
        limit: int | None = None,
        progress: Callable[[int, int | None], None] | None = None,
    ) -> Paginator[Task]:
        """Every task matching ``filter``, page after page (``async for task in ...``).

        Without ``select`` every field is asked for (see :meth:`list_page`); a ``select`` of yours wins.
        Any user (see :meth:`list_page`).
        Docs: https://apidocs.bitrix24.com/api-reference/bizproc/bizproc-task/bizproc-task-list.html
        """
        params = _TASKS.params(filter, select, order)
        return self._paginate(_TASKS, params, strategy=strategy, limit=limit, progress=progress)
