"""bizproc.workflow.template.add / update / delete / list (update/delete refusals: an empty code, as live)."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import zlib
from collections.abc import Mapping
from typing import Any

from ..context import CallContext, HandlerResult, PortalError
from ..records import Template
from ..state import PortalState
from ..table import Condition, Query
from .common import Handler, parse_document_type
from .filtering import Field, list_result, parse_filter, parse_order, parse_select
from .params import as_int, as_list, as_mapping, as_str

__all__ = ["AUTOMATION", "HANDLERS", "TEMPLATE_FIELDS", "decode_template_data", "encode_template_data"]

AUTOMATION = 64  # AUTO_EXECUTE of automation-rule templates, which template.list hides

TEMPLATE_FIELDS: dict[str, Field] = {
    "ID": Field("id", "int"),
    "MODULE_ID": Field("module_id"),
    "ENTITY": Field("entity"),
    "DOCUMENT_TYPE": Field("document_type"),
    "AUTO_EXECUTE": Field("auto_execute", "int"),
    "NAME": Field("name"),
    "DESCRIPTION": Field("description"),
    "TEMPLATE": Field("activities", "str", "raw", lambda t: t.activities or []),
    "PARAMETERS": Field("parameters", "str", "raw", lambda t: t.parameters or []),
    "VARIABLES": Field("variables", "str", "raw", lambda t: t.variables or []),
    "CONSTANTS": Field("constants", "str", "raw", lambda t: t.constants or []),
    "MODIFIED": Field("modified", "datetime", "iso"),
    "IS_MODIFIED": Field("is_modified", "bool", "yn"),
    "USER_ID": Field("user_id", "int"),
    "SYSTEM_CODE": Field("system_code"),
}
_VISIBLE = Condition("auto_execute", "!=", AUTOMATION)


def _invalid(description: str) -> PortalError:
    return PortalError("ERROR_TEMPLATE_VALIDATION_FAILURE", description, 400)


def encode_template_data(content: Mapping[str, Any], name: str = "template.bpt") -> list[str]:
    """A TEMPLATE_DATA file this emulator understands: zlib-compressed JSON with PARAMETERS, TASKS, ..."""
    packed = zlib.compress(json.dumps(dict(content)).encode())
    return [name, base64.b64encode(packed).decode()]


def decode_template_data(value: Any) -> bytes | None:
    """The file's bytes from ``["name.bpt", "<base64>"]`` (or ``{"fileData": [...]}``); None if invalid."""
    if isinstance(value, Mapping):
        inner = {str(k).lower(): v for k, v in value.items()}
        value = inner.get("filedata", value)
    items = as_list(value) if isinstance(value, list | Mapping) else None
    if not items or len(items) != 2 or not isinstance(items[1], str) or not items[1]:
        return None
    try:
        data = base64.b64decode(items[1], validate=True)
    except (binascii.Error, ValueError):
        return None
    return data or None


def _apply_data(template: Template, data: bytes) -> None:
    """Read what the emulator understands from a template file; anything else is kept opaque."""
    template.data = data
    with contextlib.suppress(zlib.error):
        data = zlib.decompress(data)
    try:
        content = json.loads(data)
    except (UnicodeDecodeError, ValueError):
        return
    if not isinstance(content, dict):
        return
    for key, attr in (("PARAMETERS", "parameters"), ("VARIABLES", "variables"), ("CONSTANTS", "constants")):
        if isinstance(content.get(key), dict):
            setattr(template, attr, content[key])
    if isinstance(content.get("TEMPLATE"), list):
        template.activities = content["TEMPLATE"]
    if isinstance(content.get("TASKS"), list):
        template.tasks = [t for t in content["TASKS"] if isinstance(t, dict)]


def _auto_execute(value: Any) -> int:
    text = as_str(value)
    number = as_int(value)
    if text is None or not text.strip().isdigit() or number not in (0, 1, 2, 3):
        raise _invalid("Incorrect field AUTO_EXECUTE!")
    return number


def add(state: PortalState, ctx: CallContext, params: dict[str, Any]) -> HandlerResult:
    """Add a template from a .bpt file; it belongs to the calling application."""
    doc_type = parse_document_type(params.get("DOCUMENT_TYPE"))
    if doc_type is None:
        raise _invalid("Incorrect field DOCUMENT_TYPE!")
    name = as_str(params.get("NAME"))
    if not name or not name.strip():
        raise _invalid("Empty template name!")
    auto_execute = _auto_execute(params["AUTO_EXECUTE"]) if "AUTO_EXECUTE" in params else 0
    data = decode_template_data(params.get("TEMPLATE_DATA"))
    if data is None:
        raise _invalid("Incorrect field TEMPLATE_DATA!")
    template = state.add_template(
        name,
        doc_type,
        description=as_str(params.get("DESCRIPTION")) or "",
        auto_execute=auto_execute,
        user_id=ctx.user_id,
        app_id=ctx.app_id,
    )
    _apply_data(template, data)
    return HandlerResult(template.id)


def _code(state: PortalState, documented: str) -> str:
    """The live server throws these without a code (an empty ``error``); the docs name one."""
    return documented if state.settings.template_error_codes else ""


def _owned(state: PortalState, ctx: CallContext, params: dict[str, Any], verb: str) -> Template:
    template = state.templates.get(as_int(params.get("ID")) or 0)
    if template is None:
        raise PortalError(_code(state, "ERROR_TEMPLATE_NOT_FOUND"), "Workflow template not found.", 400)
    if template.app_id is None or template.app_id != ctx.app_id:
        raise PortalError(
            _code(state, "ERROR_TEMPLATE_NOT_OWNER"),
            f"You can {verb} ONLY templates created by current application",
            400,
        )
    return template


def update(state: PortalState, ctx: CallContext, params: dict[str, Any]) -> HandlerResult:
    """Update NAME, DESCRIPTION, TEMPLATE_DATA or AUTO_EXECUTE of the app's own template."""
    fields = as_mapping(params.get("FIELDS")) if isinstance(params.get("FIELDS"), Mapping) else None
    if not fields:
        raise PortalError(_code(state, "ERROR_TEMPLATE_VALIDATION_FAILURE"), "No fields to update.", 400)
    fields = {k.upper(): v for k, v in fields.items()}
    template = _owned(state, ctx, params, "update")
    changes: dict[str, Any] = {}
    if "NAME" in fields:
        name = as_str(fields["NAME"])
        if not name or not name.strip():
            raise _invalid("Empty template name!")
        changes["name"] = name
    if "DESCRIPTION" in fields:
        changes["description"] = as_str(fields["DESCRIPTION"]) or ""
    if "AUTO_EXECUTE" in fields:
        changes["auto_execute"] = _auto_execute(fields["AUTO_EXECUTE"])
    data = None
    if "TEMPLATE_DATA" in fields:
        data = decode_template_data(fields["TEMPLATE_DATA"])
        if data is None:
            raise _invalid("Incorrect field TEMPLATE_DATA!")
    state.templates.update(template.id, modified=state.clock(), user_id=ctx.user_id, **changes)
    if data is not None:
        _apply_data(template, data)
    return HandlerResult(template.id)


def delete(state: PortalState, ctx: CallContext, params: dict[str, Any]) -> HandlerResult:
    """Delete the app's own template."""
    template = _owned(state, ctx, params, "delete")
    state.templates.remove(template.id)
    return HandlerResult(None)


def list_templates(state: PortalState, ctx: CallContext, params: dict[str, Any]) -> HandlerResult:
    """Templates (automation-rule templates hidden): SELECT / FILTER / ORDER / start; always counted."""
    settings = state.settings
    names = parse_select(params.get("SELECT"), TEMPLATE_FIELDS, ("ID",)) or ["ID"]
    query = Query(
        (_VISIBLE, *parse_filter(params.get("FILTER"), TEMPLATE_FIELDS, settings)),
        parse_order(params.get("ORDER"), TEMPLATE_FIELDS, (("id", False),)),
    )
    return list_result(
        state.templates, query, params, names, TEMPLATE_FIELDS, settings, no_count_allowed=False
    )


HANDLERS: dict[str, Handler] = {
    "bizproc.workflow.template.add": add,
    "bizproc.workflow.template.update": update,
    "bizproc.workflow.template.delete": delete,
    "bizproc.workflow.template.list": list_templates,
}
