"""``client.workflows``: start, list, terminate and kill workflow instances."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from .._call import Pending, ResultParser
from ..models.documents import DocumentId
from ..models.filters import WORKFLOW_SPEC, FilterLike
from ..models.page import Page
from ..models.workflow import WorkflowInstance
from ..protocol.batch import Ref
from ..protocol.encoding import normalize
from ..protocol.errors import ClientValidationError
from ..protocol.methods import method_info
from . import _checks
from .base import Listing, Service, WalkingService, true_result

if TYPE_CHECKING:
    from .._paging import Paginator

__all__ = [
    "DEFAULT_INSTANCE_SELECT",
    "WorkflowCommands",
    "WorkflowsService",
]

# The portal's own default is ID, MODIFIED, OWNED_UNTIL: no document, template, start time or starter.
DEFAULT_INSTANCE_SELECT = (
    "ID", "MODIFIED", "OWNED_UNTIL", "MODULE_ID", "ENTITY", "DOCUMENT_ID", "STARTED", "STARTED_BY",
    "TEMPLATE_ID",
)  # fmt: skip
_INSTANCES = Listing(
    WORKFLOW_SPEC,
    WorkflowInstance,
    page_form="instances_page",
    numeric_id=False,
    allow_no_count=False,
    default_select=DEFAULT_INSTANCE_SELECT,
)
_LEGACY = attrs.evolve(_INSTANCES, method="bizproc.workflow.instance.list")  # the old name, same method
_TERMINATE = method_info("bizproc.workflow.terminate")
_KILL = method_info("bizproc.workflow.kill")


@ResultParser
def _workflow_id(result: Any) -> str:
    return str(result)


def _parameters(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or not all(isinstance(k, str) and k for k in value):
        raise ClientValidationError("parameters must be a map of template parameter name -> value")
    return dict(value)


class WorkflowCommands(Service):
    """Workflow instances (``bizproc.workflow.*``). Every method here needs an administrator.

    The single calls: what a batch carries (``batch.workflows``).
    """

    def start(
        self,
        template_id: int,
        document: DocumentId | list[str] | tuple[str, str, str] | str | Ref,
        parameters: Mapping[str, Any] | None = None,
    ) -> Pending[str]:
        """Start template ``template_id`` on ``document``; returns the new workflow's ID (a string).

        Administrator only; paid plans. ``parameters`` fill the template's parameters (a user binding
        takes ``"user_14"``, see :func:`~bitrix_bizproc.models.user_ref`).
        Docs: https://apidocs.bitrix24.com/api-reference/bizproc/bizproc-workflow-start.html
        """
        doc = document if isinstance(document, Ref) else DocumentId.parse(document)
        params = {
            "TEMPLATE_ID": _checks.positive_id(template_id, "template_id"),
            "DOCUMENT_ID": doc,
            "PARAMETERS": _parameters(parameters),
        }
        return self._submit("bizproc.workflow.start", params, _workflow_id)

    def terminate(
        self, workflow_id: str | WorkflowInstance | Ref, *, status: str | None = None
    ) -> Pending[bool]:
        """Stop a workflow, keeping its data; ``status`` is the status text shown for it.

        Administrator only.
        Docs: https://apidocs.bitrix24.com/api-reference/bizproc/bizproc-workflow-terminate.html
        """
        if status is not None and not isinstance(status, str):
            raise ClientValidationError(f"status is a text, not {type(status).__name__}")
        wf_id = _checks.workflow_id(workflow_id)
        if status is None and type(wf_id) is str:  # the usual call: one ID, a wire value already
            return self._submit_text(_TERMINATE, "ID", wf_id, true_result)
        return self._submit(_TERMINATE.name, {"ID": wf_id, "STATUS": status}, true_result)

    def kill(self, workflow_id: str | WorkflowInstance | Ref) -> Pending[bool]:
        """Delete a running workflow together with all its data.

        Administrator only.
        Docs: https://apidocs.bitrix24.com/api-reference/bizproc/bizproc-workflow-kill.html
        """
        wf_id = _checks.workflow_id(workflow_id)
        if type(wf_id) is str:  # a wire value already
            return self._submit_text(_KILL, "ID", wf_id, true_result)
        return self._submit(_KILL.name, {"ID": wf_id}, true_result)

    def instances_page(
        self,
        filter: FilterLike | None = None,
        *,
        select: Sequence[str] | None = None,
        order: Mapping[str, str] | None = None,
        start: int = 0,
        legacy_alias: bool = False,
    ) -> Pending[Page[WorkflowInstance]]:
        """One page (50 rows from ``start``) of running workflows; ``legacy_alias`` calls the old
        ``bizproc.workflow.instance.list`` name. Without ``select`` every field is asked for
        (:data:`DEFAULT_INSTANCE_SELECT`; the portal's own default is only ``ID, MODIFIED, OWNED_UNTIL``);
        a ``select`` of yours is sent as given.

        Administrator only.
        Docs: https://apidocs.bitrix24.com/api-reference/bizproc/bizproc-workflow-instances.html
        """
        listing = _LEGACY if legacy_alias else _INSTANCES
        return self._page(listing, listing.params(filter, select, order), start)


class WorkflowsService(WorkflowCommands, WalkingService):
    """The single calls, and the walks over every page (not available in a batch)."""

    def instances(
        self,
        filter: FilterLike | None = None,
        *,
        select: Sequence[str] | None = None,
        order: Mapping[str, str] | None = None,
        strategy: str = "auto",
        limit: int | None = None,
        progress: Callable[[int, int | None], None] | None = None,
        legacy_alias: bool = False,
    ) -> Paginator[WorkflowInstance]:
        """Every running workflow matching ``filter``, page after page (``async for wf in ...``).

        Without ``select`` every field is asked for (see :meth:`instances_page`); a ``select`` of yours wins.
        Administrator only. Terminating what you walk shifts the offsets: see ``Paginator.drain()``.
        Docs: https://apidocs.bitrix24.com/api-reference/bizproc/bizproc-workflow-instances.html
        """
        listing = _LEGACY if legacy_alias else _INSTANCES
        params = listing.params(filter, select, order)
        return self._paginate(listing, params, strategy=strategy, limit=limit, progress=progress)

    def instance_rows(
        self,
        filter: FilterLike | None = None,
        *,
        select: Sequence[str],
        progress: Callable[[int, int | None], None] | None = None,
        max_buffered_pages: int | None = None,
    ) -> Paginator[dict[str, Any]]:
        """Like :meth:`instances`, the rows as the portal sent them (plain dicts, no model built per row).

        For a walk that reads a few ``select``-ed fields of many rows; ``max_buffered_pages`` caps the pages
        fetched ahead of the consumer (the walk's memory budget).
        """
        params = _INSTANCES.params(filter, select, None)
        options: dict[str, Any] = {}
        if max_buffered_pages is not None:
            options["max_buffered_pages"] = max_buffered_pages
        walk: Paginator[dict[str, Any]] = self._walk(
            _INSTANCES.method, normalize(params), id_key="ID", numeric_id=False, progress=progress, **options
        )
        return walk
