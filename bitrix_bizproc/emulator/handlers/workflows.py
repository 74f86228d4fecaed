"""bizproc.workflow.start / instances (alias instance.list) / terminate / kill."""

from __future__ import annotations

import re
from typing import Any

from ..context import CallContext, HandlerResult, PortalError
from ..records import Template
from ..state import PortalState
from ..table import Query
from .common import Handler, document_type
from .filtering import Field, list_result, parse_filter, parse_order, parse_select
from .params import as_int, as_list, as_mapping, as_str, is_empty

__all__ = ["HANDLERS", "INSTANCE_FIELDS"]

INSTANCE_FIELDS: dict[str, Field] = {
    "ID": Field("id"),
    "MODIFIED": Field("modified", "datetime", "iso"),
    "OWNED_UNTIL": Field("owned_until", "datetime", "iso"),
    "OWNED_ID": Field("owned_id"),
    "MODULE_ID": Field("module_id"),
    "ENTITY": Field("entity"),
    "DOCUMENT_ID": Field("document_id"),
    "STARTED": Field("started", "datetime", "iso"),
    "STARTED_BY": Field("started_by", "int"),
    "TEMPLATE_ID": Field("template_id", "int"),
}
_DEFAULT_SELECT = ("ID", "MODIFIED", "OWNED_UNTIL")
_DEFAULT_ORDER = (("modified", True),)
_USER_VALUE = re.compile(r"^(user_)?\d+$")


def _error(description: str) -> PortalError:
    return PortalError("", description, 400)


def instances(state: PortalState, ctx: CallContext, params: dict[str, Any]) -> HandlerResult:
    """Running workflows: SELECT / FILTER / ORDER / start; always counted."""
    settings = state.settings
    names = parse_select(params.get("SELECT"), INSTANCE_FIELDS, _DEFAULT_SELECT) or list(_DEFAULT_SELECT)
    query = Query(
        parse_filter(params.get("FILTER"), INSTANCE_FIELDS, settings, settings.instances_filter_ignores),
        parse_order(params.get("ORDER"), INSTANCE_FIELDS, _DEFAULT_ORDER),
    )
    no_count = settings.instances_support_start_minus_one
    return list_result(
        state.instances, query, params, names, INSTANCE_FIELDS, settings, no_count_allowed=no_count
    )


def _workflow_id(params: dict[str, Any]) -> str:
    value = params.get("ID")
    if is_empty(value) or not isinstance(value, str):
        raise PortalError("ERROR_WRONG_WORKFLOW_ID", "Empty workflow instance ID", 400)
    return value


def _not_found(state: PortalState) -> PortalError:
    settings = state.settings
    return PortalError(settings.workflow_not_found_code, settings.workflow_not_found_description, 400)


def terminate(state: PortalState, ctx: CallContext, params: dict[str, Any]) -> HandlerResult:
    """Stop a running workflow; its record stays, with the optional STATUS text."""
    workflow_id = _workflow_id(params)
    if not state.terminate(workflow_id, as_str(params.get("STATUS")) or ""):
        raise _not_found(state)
    return HandlerResult(True)


def kill(state: PortalState, ctx: CallContext, params: dict[str, Any]) -> HandlerResult:
    """Delete a running workflow with all its data; a finished one is not found (its record stays)."""
    workflow_id = _workflow_id(params)
    if not state.kill(workflow_id):
        raise _not_found(state)
    return HandlerResult(True)


def _check_parameters(template: Template, given: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, spec in template.parameters.items():
        value = given.get(key, spec.get("Default"))
        label = spec.get("Name") or key
        if is_empty(value) and value != 0:
            if spec.get("Required") in (True, "Y", 1, "1"):
                raise _error(f'Parameter "{label}" is required.')
            continue
        if spec.get("Type") == "user":
            items = as_list(value) if isinstance(value, list | dict) else [value]
            if not items or not all(_USER_VALUE.match(str(i)) for i in items):
                raise _error(f'Incorrect value of parameter "{label}".')
        elif spec.get("Type") in ("int", "double") and as_str(value) is not None:
            try:
                float(str(value))
            except ValueError:
                raise _error(f'Incorrect value of parameter "{label}".') from None
        values[key] = value
    return values


def start(state: PortalState, ctx: CallContext, params: dict[str, Any]) -> HandlerResult:
    """Start a workflow from TEMPLATE_ID on DOCUMENT_ID with PARAMETERS; the result is the new ID."""
    template_id = as_int(params.get("TEMPLATE_ID"))
    if not template_id:
        raise PortalError("ERROR_WRONG_WORKFLOW_ID", "Empty TEMPLATE_ID", 400)
    template = state.templates.get(template_id)
    if template is None:
        raise PortalError("ERROR_WRONG_WORKFLOW_ID", "Template not found", 400)
    document = as_list(params.get("DOCUMENT_ID")) if not isinstance(params.get("DOCUMENT_ID"), str) else None
    if document is None or len(document) != 3 or not all(isinstance(p, str) and p for p in document):
        raise _error("Wrong DOCUMENT_ID!")
    module, entity, element = document
    doc_type = document_type(module, entity, element)
    if doc_type is None:
        raise _error("Incorrect document type!")
    if (module, entity) != (template.module_id, template.entity) or doc_type not in (
        "",
        template.document_type,
    ):
        raise _error("Template type and DOCUMENT_ID mismatch!")
    given = as_mapping(params.get("PARAMETERS", {}))
    values = _check_parameters(template, given or {})
    workflow = state.start_workflow(template, element, ctx.user_id, values)
    return HandlerResult(workflow.id)


HANDLERS: dict[str, Handler] = {
    "bizproc.workflow.start": start,
    "bizproc.workflow.instances": instances,
    "bizproc.workflow.instance.list": instances,
    "bizproc.workflow.terminate": terminate,
    "bizproc.workflow.kill": kill,
}
