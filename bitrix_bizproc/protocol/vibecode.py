"""The Vibecode REST gateway (``https://vibecode.bitrix24.tech/v1``): bizproc calls -> gateway requests.

Pure functions and data, no I/O. :func:`build_request` turns a bizproc method and its REST parameters into
the gateway request that does the same thing, or raises :class:`UnsupportedOperationError` naming the
operation before anything is sent; :mod:`.vibecode_answers` reads the answer back into the REST shape.
What maps where:

==================================  ======================================================================
REST method                         gateway
==================================  ======================================================================
bizproc.workflow.instances (alias)  ``GET /workflows?templateId&startedBy&offset`` (MODIFIED DESC only)
bizproc.workflow.start              ``POST /workflows/start`` (CRM deals, leads, contacts, companies)
bizproc.workflow.terminate          ``DELETE /workflows/{id}?status=...``: the *soft* stop, which lets
                                    the current step finish
bizproc.workflow.kill               ``DELETE /workflows/{id}?force=true``: the immediate abort
bizproc.event.send                  ``POST /workflows/event``
bizproc.workflow.template.list      ``GET /entities/bizproc-templates?offset&limit&select&order``
batch                               ``POST /batch`` (see :mod:`.vibecode_batch`)
==================================  ======================================================================

A successful ``DELETE`` is ``204 No Content``: the result is ``True``, as ``terminate``/``kill`` return.

How ``force`` maps: the gateway has one stop with two speeds. Without ``force`` it waits for the running
step to finish (so the instance may still be listed for a moment after the 204), which is what
``terminate`` stands for; ``force=true`` aborts at once, which is what ``kill`` stands for. The gateway's
docs do not say whether a forced stop also deletes the process data as ``bizproc.workflow.kill`` does;
the emulated gateway treats it as ``kill``. A ``STATUS`` text goes with the soft stop only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any, Literal
from urllib.parse import quote, urlencode

import attrs

from .auth import check_base_url
from .encoding import digits, normalize
from .errors import (
    ClientValidationError,
    ConfigurationError,
    ConfigurationTypeError,
    UnsupportedOperationError,
    ValidationError,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "GATEWAY_FILTERS",
    "GATEWAY_ORDER",
    "PAGE_SIZE",
    "TRANSPORT",
    "GatewayRequest",
    "VibecodeCredentials",
    "build_request",
    "supported_methods",
    "validate_base_url",
]

DEFAULT_BASE_URL = "https://vibecode.bitrix24.tech/v1"
TRANSPORT = "the Vibecode gateway"
PAGE_SIZE = 50
PERSONAL_PREFIX = "vibe_api_"
APP_PREFIX = "vibe_app_"

GATEWAY_ORDER: Mapping[str, Mapping[str, str]] = {
    "bizproc.workflow.instances": {"MODIFIED": "DESC"},
    "bizproc.workflow.instance.list": {"MODIFIED": "DESC"},
}
"""List methods whose order the gateway fixes: any other ``ORDER`` is refused."""

GATEWAY_FILTERS: Mapping[str, frozenset[str]] = {
    "bizproc.workflow.instances": frozenset({"TEMPLATE_ID", "STARTED_BY"}),
    "bizproc.workflow.instance.list": frozenset({"TEMPLATE_ID", "STARTED_BY"}),
    "bizproc.workflow.template.list": frozenset(),
}
"""The fields each list method can be filtered on through the gateway (equality only)."""

_INSTANCE_DEFAULT_SELECT = ("ID", "MODIFIED", "OWNED_UNTIL")
_TEMPLATE_DEFAULT_SELECT = ("ID",)
_KEY_CHARS = re.compile(r"[A-Za-z0-9_\-]+")
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_\-.~+/=]+")
_CRM_ENTITIES = {
    "CCrmDocumentDeal": ("deal", "DEAL"),
    "CCrmDocumentLead": ("lead", "LEAD"),
    "CCrmDocumentContact": ("contact", "CONTACT"),
    "CCrmDocumentCompany": ("company", "COMPANY"),
}


def _unsupported(method: str, why: str) -> UnsupportedOperationError:
    return UnsupportedOperationError(
        f"{TRANSPORT} cannot express this: {why}", code="UNSUPPORTED_OPERATION", method=method
    )


@attrs.frozen(repr=False)
class VibecodeCredentials:
    """A personal key (``vibe_api_...``), or an app key (``vibe_app_...``) plus the user's session token."""

    api_key: str = attrs.field(repr=False)
    session_token: str | None = attrs.field(default=None, repr=False)

    def __attrs_post_init__(self) -> None:
        key = self.api_key
        if not isinstance(key, str):
            raise ConfigurationTypeError(f"api_key must be a string, not {type(key).__name__}")
        if not key.startswith((PERSONAL_PREFIX, APP_PREFIX)):
            raise ConfigurationError(
                f"a Vibecode API key starts with {PERSONAL_PREFIX!r} (personal) or {APP_PREFIX!r} (app)"
            )
        if not _KEY_CHARS.fullmatch(key) or len(key) == len(PERSONAL_PREFIX):
            raise ConfigurationError(
                "the Vibecode API key is malformed: letters, digits, '_' and '-' after the prefix"
            )
        token = self.session_token
        if self.kind == "personal" and token is not None:
            raise ConfigurationError("a personal key (vibe_api_...) takes no session token; only app keys do")
        if self.kind == "app":
            if not token:
                raise ConfigurationError(
                    "an app key (vibe_app_...) needs the user's session token (session_token=...)"
                )
            if not isinstance(token, str) or not _TOKEN_CHARS.fullmatch(token):
                raise ConfigurationError("the session token is malformed")

    @property
    def kind(self) -> Literal["personal", "app"]:
        """``"personal"`` or ``"app"``, from the key's prefix."""
        return "personal" if self.api_key.startswith(PERSONAL_PREFIX) else "app"

    def headers(self) -> dict[str, str]:
        """The authentication headers of every gateway request."""
        headers = {"X-Api-Key": self.api_key}
        if self.session_token:
            headers["Authorization"] = f"Bearer {self.session_token}"
        return headers

    def __repr__(self) -> str:
        return f"VibecodeCredentials(kind={self.kind!r})"


def validate_base_url(url: str) -> str:
    """The gateway base URL without a trailing ``/``; HTTPS required except on loopback hosts."""
    return check_base_url(url, what="the Vibecode base_url").rstrip("/")


Shape = Literal["list", "workflow_id", "done", "batch"]


@attrs.frozen
class GatewayRequest:
    """One gateway request standing for one REST call, and how to read its answer back."""

    operation: str
    http_method: Literal["GET", "POST", "DELETE"]
    path: str
    query: tuple[tuple[str, str], ...] = ()
    body: Mapping[str, Any] | None = None
    shape: Shape = "done"
    offset: int = 0
    select: tuple[str, ...] | None = None  # the projection the REST API would have applied; None: all
    idempotent: bool = True
    batch_call: Mapping[str, Any] | None = None  # the same call as a /batch entry, if it can be one

    def url(self, base_url: str) -> str:
        """The full URL under ``base_url``."""
        query = urlencode(self.query)
        return f"{base_url}{self.path}" + (f"?{query}" if query else "")

    def json_body(self) -> bytes | None:
        """The JSON request body, if any."""
        return None if self.body is None else json.dumps(self.body, ensure_ascii=False).encode()


class _Params:
    """REST parameters by upper-case name (the portal reads names case-insensitively)."""

    def __init__(self, method: str, params: Mapping[str, Any] | None) -> None:
        self.method = method
        self._values: dict[str, Any] = {}
        for key, value in (params or {}).items():
            if not isinstance(key, str):
                raise ClientValidationError(
                    f"parameter names must be strings, not {type(key).__name__}", method=method
                )
            upper = key.upper()
            if upper in self._values:
                raise ClientValidationError(
                    f"parameter {key!r} is given twice in different casings", method=method
                )
            self._values[upper] = normalize(value)

    def pop(self, name: str, default: Any = None) -> Any:
        return self._values.pop(name, default)

    def require(self, name: str) -> Any:
        value = self._values.pop(name, None)
        if value is None or value == "" or value == [] or value == {}:
            raise ClientValidationError(f"{name} is required", method=self.method)
        return value

    def done(self) -> None:
        if self._values:
            names = ", ".join(sorted(self._values))
            raise _unsupported(self.method, f"parameter(s) {names} have no counterpart on the gateway")


def _offset(p: _Params) -> int:
    start = p.pop("START", 0)
    try:
        offset = int(start or 0)
    except (TypeError, ValueError):
        raise ClientValidationError(f"start must be an integer, got {start!r}", method=p.method) from None
    if offset < 0:
        raise _unsupported(p.method, "start=-1 (paging without a COUNT) is not offered; page by offset")
    return offset


def _select(p: _Params, default: tuple[str, ...]) -> tuple[str, ...] | None:
    value = p.pop("SELECT")
    if value is None or value == []:
        return default
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ClientValidationError("SELECT must be a list of field names", method=p.method)
    if "*" in value:
        return None
    fields = [v.upper() for v in value]
    return tuple(fields if "ID" in fields else ["ID", *fields])


def _mapping(p: _Params, name: str) -> dict[str, Any]:
    value = p.pop(name) or {}
    if not isinstance(value, Mapping):
        raise ClientValidationError(f"{name} must be a mapping", method=p.method)
    return dict(value)


def _id_number(method: str, field: str, value: Any) -> str:
    text = str(value)
    if isinstance(value, bool) or not digits(text):
        raise _unsupported(method, f"filter {field} takes one numeric id on the gateway, got {value!r}")
    return text


def _instances(method: str, p: _Params) -> GatewayRequest:
    query: dict[str, str] = {}
    for key, value in _mapping(p, "FILTER").items():
        name = key.lstrip("=").upper()
        if key.startswith(("!", "<", ">", "==")) or name not in GATEWAY_FILTERS[method]:
            raise _unsupported(
                method, f"filter {key!r}: only TEMPLATE_ID and STARTED_BY equality are offered"
            )
        query["templateId" if name == "TEMPLATE_ID" else "startedBy"] = _id_number(method, key, value)
    order = {str(k).upper(): str(v).upper() for k, v in _mapping(p, "ORDER").items()}
    if order and order != GATEWAY_ORDER[method]:
        raise _unsupported(method, f"order {order}: workflow instances come ordered by MODIFIED DESC only")
    select = _select(p, _INSTANCE_DEFAULT_SELECT)
    offset = _offset(p)
    p.done()
    batch_params: dict[str, Any] = {k: int(v) for k, v in query.items()}
    batch_params["offset"] = offset
    query["offset"] = str(offset)
    return GatewayRequest(
        method,
        "GET",
        "/workflows",
        tuple(query.items()),
        shape="list",
        offset=offset,
        select=select,
        batch_call={"entity": "workflows", "action": "list", "params": batch_params},
    )


def _templates(method: str, p: _Params) -> GatewayRequest:
    if _mapping(p, "FILTER"):
        raise _unsupported(method, "template list filters are not offered; list all and filter the rows")
    order: dict[str, str] = {}
    for field, direction in _mapping(p, "ORDER").items():
        if not isinstance(direction, str) or direction.upper() not in ("ASC", "DESC"):
            raise ClientValidationError(f"order of {field!r} must be 'ASC' or 'DESC'", method=method)
        order[_camel(str(field))] = direction.lower()
    select = _select(p, _TEMPLATE_DEFAULT_SELECT)
    offset = _offset(p)
    p.done()
    query: list[tuple[str, str]] = [("offset", str(offset)), ("limit", str(PAGE_SIZE))]
    if select is not None:
        query.append(("select", ",".join(_camel(f) for f in select)))
    query.extend((f"order[{field}]", direction) for field, direction in order.items())
    params: dict[str, Any] = {"offset": offset, "limit": PAGE_SIZE}
    if select is not None:
        params["select"] = [_camel(f) for f in select]
    if order:
        params["order"] = order
    return GatewayRequest(
        method,
        "GET",
        "/entities/bizproc-templates",
        tuple(query),
        shape="list",
        offset=offset,
        select=select,
        batch_call={"entity": "bizproc-templates", "action": "list", "params": params},
    )


def _entity_of(method: str, document: Any) -> tuple[str, int]:
    if not isinstance(document, list) or len(document) != 3 or not all(isinstance(x, str) for x in document):
        raise ClientValidationError("DOCUMENT_ID must be [module, entity, id]", method=method)
    module, entity, doc_id = document
    kind = _CRM_ENTITIES.get(entity) if module == "crm" else None
    if kind is None:
        raise _unsupported(
            method, f"workflows start on CRM deals, leads, contacts and companies only, not {document}"
        )
    head, _, tail = doc_id.rpartition("_")
    if head != kind[1] or not digits(tail):
        raise ClientValidationError(
            f"malformed DOCUMENT_ID {document}: {entity} ids look like '{kind[1]}_<id>'", method=method
        )
    return kind[0], int(tail)


def _start(method: str, p: _Params) -> GatewayRequest:
    template = p.require("TEMPLATE_ID")
    if isinstance(template, bool) or not digits(str(template)):
        raise ClientValidationError(
            f"TEMPLATE_ID must be a positive integer, got {template!r}", method=method
        )
    entity_type, entity_id = _entity_of(method, p.require("DOCUMENT_ID"))
    body: dict[str, Any] = {"templateId": int(template), "entityType": entity_type, "entityId": entity_id}
    parameters = p.pop("PARAMETERS")
    if parameters:
        if not isinstance(parameters, Mapping):
            raise ClientValidationError("PARAMETERS must be a mapping", method=method)
        body["parameters"] = dict(parameters)
    p.done()
    return GatewayRequest(
        method, "POST", "/workflows/start", body=body, shape="workflow_id", idempotent=False
    )


def _workflow_id(p: _Params) -> str:
    value = p.pop("ID")
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("the workflow ID is empty", code="ERROR_WRONG_WORKFLOW_ID", method=p.method)
    return value


def _delete(method: str, p: _Params, *, force: bool) -> GatewayRequest:
    wf_id = _workflow_id(p)
    query: dict[str, str] = {}
    params: dict[str, Any] = {}
    if force:
        query["force"] = "true"
        params["force"] = True
    else:
        status = p.pop("STATUS")
        if status not in (None, ""):
            query["status"] = params["status"] = str(status)
    p.done()
    call: dict[str, Any] = {"entity": "workflows", "action": "delete", "entityId": wf_id}
    if params:
        call["params"] = params
    return GatewayRequest(
        method, "DELETE", "/workflows/" + quote(wf_id, safe=""), tuple(query.items()), batch_call=call
    )


def _event(method: str, p: _Params) -> GatewayRequest:
    body: dict[str, Any] = {"eventToken": p.require("EVENT_TOKEN")}
    for name, field in (("RETURN_VALUES", "returnValues"), ("LOG_MESSAGE", "logMessage")):
        value = p.pop(name)
        if value not in (None, "", [], {}):
            body[field] = value
    p.done()
    return GatewayRequest(method, "POST", "/workflows/event", body=body, idempotent=False)


_ROUTES: dict[str, Callable[[str, _Params], GatewayRequest]] = {
    "bizproc.workflow.instances": _instances,
    "bizproc.workflow.instance.list": _instances,
    "bizproc.workflow.template.list": _templates,
    "bizproc.workflow.start": _start,
    "bizproc.workflow.terminate": lambda m, p: _delete(m, p, force=False),
    "bizproc.workflow.kill": lambda m, p: _delete(m, p, force=True),
    "bizproc.event.send": _event,
}


def supported_methods() -> frozenset[str]:
    """The REST methods the gateway can stand in for (``batch`` aside)."""
    return frozenset(_ROUTES)


def build_request(method: str, params: Mapping[str, Any] | None = None) -> GatewayRequest:
    """The gateway request doing what ``method(params)`` does over REST; refuses what it cannot express."""
    name = method.lower().removesuffix(".json")
    route = _ROUTES.get(name)
    if route is None:
        raise _unsupported(
            name, f"{name} has no gateway route (it offers: {', '.join(sorted(_ROUTES))}, batch)"
        )
    return route(name, _Params(name, params))


def _camel(field: str) -> str:
    head, *rest = field.lower().split("_")
    return head + "".join(part.capitalize() for part in rest)
