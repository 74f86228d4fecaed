"""bizproc.activity.add / update / delete / list / log; the robot methods reuse this with other messages."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs

from ..context import CallContext, HandlerResult, PortalError
from ..records import AppActivity, LogEntry
from ..state import PortalState
from .common import Handler, access_denied, parse_document_type
from .params import as_str

__all__ = ["ACTIVITY", "HANDLERS", "Kind", "make_handlers"]

_CODE = re.compile(r"^[a-zA-Z0-9._-]+$")
_PROPERTY_KEY = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]*$")
_UPDATABLE = (
    "HANDLER",
    "AUTH_USER_ID",
    "USE_SUBSCRIPTION",
    "NAME",
    "DESCRIPTION",
    "PROPERTIES",
    "RETURN_PROPERTIES",
    "DOCUMENT_TYPE",
    "FILTER",
    "USE_PLACEMENT",
    "PLACEMENT_HANDLER",
)


@attrs.frozen
class Kind:
    """Activities and robots share one mechanism; they differ in flag and wording."""

    is_robot: bool
    prefix: str
    already_installed: str
    not_found: str


# the server's own texts, the same for both kinds (bizproc/lib/restservice.php); some English docs tables
# say "Automation rule" where the server says "Robot"
ACTIVITY = Kind(
    False,
    "bizproc.activity",
    "Activity or Robot already installed!",
    "Activity or Robot not found!",
)


def _invalid(description: str) -> PortalError:
    return PortalError("ERROR_ACTIVITY_VALIDATION_FAILURE", description, 400)


def _code(params: Mapping[str, Any]) -> str:
    code = as_str(params.get("CODE"))
    if not code:
        raise _invalid("Empty activity code!")
    if not _CODE.match(code):
        raise _invalid("Wrong activity code!")
    return code


def _handler_url(state: PortalState, ctx: CallContext, value: Any) -> str:
    url = as_str(value) or ""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:
        raise PortalError("ERROR_WRONG_HANDLER_URL", "Wrong handler URL", 400) from None
    if parts.scheme and parts.scheme.lower() not in ("http", "https") and host:
        raise PortalError("ERROR_UNSUPPORTED_PROTOCOL", "Unsupported handler protocol", 400)
    domain = state.app_domains.get(ctx.app_id or "")
    if not parts.scheme or not host or (domain and host != domain and not host.endswith("." + domain)):
        raise PortalError("ERROR_WRONG_HANDLER_URL", "Wrong handler URL", 400)
    return url.strip()


def _name_given(value: Any) -> bool:
    if isinstance(value, Mapping):
        return any(as_str(v) for v in value.values())
    return bool((as_str(value) or "").strip())


def _properties(value: Any) -> dict[str, Any]:
    if value is None or value == "" or value == []:
        return {}
    if not isinstance(value, Mapping):
        raise _invalid("Wrong properties array!")
    checked: dict[str, Any] = {}
    for key, prop in value.items():
        if not _PROPERTY_KEY.match(str(key)):
            raise _invalid(f"Wrong property key {key}!")
        if not isinstance(prop, Mapping):
            raise _invalid("Wrong properties array!")
        name = next((v for k, v in prop.items() if str(k).upper() == "NAME"), None)
        if not _name_given(name):
            raise _invalid(f"Empty property NAME {key}!")
        checked[str(key)] = dict(prop)
    return checked


def _filter(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _invalid("Wrong activity FILTER!")
    checked: dict[str, Any] = {}
    for key, rules in value.items():
        upper = str(key).upper()
        if upper not in ("INCLUDE", "EXCLUDE") or not isinstance(rules, list | Mapping):
            raise _invalid("Wrong activity FILTER!")
        items = list(rules.values()) if isinstance(rules, Mapping) else rules
        for rule in items:
            parts = list(rule.values()) if isinstance(rule, Mapping) else rule
            if not (
                isinstance(rule, str) or (isinstance(parts, list) and all(isinstance(p, str) for p in parts))
            ):
                raise _invalid("Wrong activity FILTER!")
        checked[upper] = items
    return checked


def _validated(
    state: PortalState, ctx: CallContext, fields: Mapping[str, Any], *, adding: bool
) -> dict[str, Any]:
    out = {k: v for k, v in fields.items() if k in _UPDATABLE}
    if adding or "HANDLER" in fields:
        out["HANDLER"] = _handler_url(state, ctx, fields.get("HANDLER"))
    if (adding or "NAME" in fields) and not _name_given(fields.get("NAME")):
        raise _invalid("Empty activity NAME!")
    for key in ("PROPERTIES", "RETURN_PROPERTIES"):
        if key in fields:
            out[key] = _properties(fields[key])
    if "DOCUMENT_TYPE" in fields and fields["DOCUMENT_TYPE"] not in (None, ""):
        doc_type = parse_document_type(fields["DOCUMENT_TYPE"])
        if doc_type is None:
            raise _invalid("Wrong activity DOCUMENT_TYPE!")
        out["DOCUMENT_TYPE"] = list(doc_type)
    if "FILTER" in fields and fields["FILTER"] not in (None, ""):
        out["FILTER"] = _filter(fields["FILTER"])
    if (as_str(fields.get("USE_PLACEMENT")) or "").upper() == "Y":
        out["PLACEMENT_HANDLER"] = _handler_url(
            state, ctx, fields.get("PLACEMENT_HANDLER") or fields.get("HANDLER") or ""
        )
    return out


def _app(ctx: CallContext) -> str:
    if ctx.app_id is None:
        raise access_denied("Application context required")
    return ctx.app_id


def make_handlers(kind: Kind) -> dict[str, Handler]:
    """add / update / delete / list for one kind of application activity."""

    def find(state: PortalState, app_id: str, code: str) -> AppActivity:
        found = state.activities.get((app_id, code))
        if found is None or found.is_robot != kind.is_robot:
            raise PortalError("ERROR_ACTIVITY_NOT_FOUND", kind.not_found, 400)
        return found

    def add(state: PortalState, ctx: CallContext, params: dict[str, Any]) -> HandlerResult:
        app_id = _app(ctx)
        if not params:
            raise _invalid("Empty data!")
        code = _code(params)
        fields = _validated(state, ctx, params, adding=True)
        if (app_id, code) in state.activities:
            raise PortalError("ERROR_ACTIVITY_ALREADY_INSTALLED", kind.already_installed, 400)
        state.activities[(app_id, code)] = AppActivity(app_id, code, kind.is_robot, fields)
        return HandlerResult(True)

    def update(state: PortalState, ctx: CallContext, params: dict[str, Any]) -> HandlerResult:
        app_id = _app(ctx)
        found = find(state, app_id, _code(params))
        raw = params.get("FIELDS")
        fields = {str(k).upper(): v for k, v in raw.items()} if isinstance(raw, Mapping) else {}
        if "NAME" in fields and not _name_given(fields["NAME"]):
            del fields["NAME"]  # the server skips an empty NAME on update: `if (!empty($fields['NAME']))`
        if not any(k in _UPDATABLE for k in fields):
            raise _invalid("No fields to update")
        found.fields.update(_validated(state, ctx, fields, adding=False))
        return HandlerResult(True)

    def delete(state: PortalState, ctx: CallContext, params: dict[str, Any]) -> HandlerResult:
        app_id = _app(ctx)
        found = find(state, app_id, _code(params))
        del state.activities[(app_id, found.code)]
        return HandlerResult(True)

    def list_codes(state: PortalState, ctx: CallContext, params: dict[str, Any]) -> HandlerResult:
        return HandlerResult([a.code for a in state.app_activities(_app(ctx), robots=kind.is_robot)])

    return {
        f"{kind.prefix}.add": add,
        f"{kind.prefix}.update": update,
        f"{kind.prefix}.delete": delete,
        f"{kind.prefix}.list": list_codes,
    }


def log(state: PortalState, ctx: CallContext, params: dict[str, Any]) -> HandlerResult:
    """Write LOG_MESSAGE to the log of the workflow the EVENT_TOKEN belongs to."""
    message = as_str(params.get("LOG_MESSAGE")) or ""
    if not message.strip():
        raise PortalError("ERROR_EMPTY_LOG_MESSAGE", "Empty log message!", 400)
    token = state.event_tokens.get(as_str(params.get("EVENT_TOKEN")) or "")
    if token is None or token.used or (ctx.is_app and token.app_id not in (None, ctx.app_id)):
        raise access_denied()
    state.activity_log.append(LogEntry(token.workflow_id, message, state.clock()))
    return HandlerResult(True)


HANDLERS: dict[str, Handler] = {**make_handlers(ACTIVITY), "bizproc.activity.log": log}
