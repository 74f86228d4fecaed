"""What each emulated gateway operation does: its arguments -> the bizproc method it runs -> its answer.

Shared by the single routes and by ``POST /v1/batch`` (whose calls name an ``entity`` and an ``action``).
Portal refusals become gateway errors: ``ACCESS_DENIED`` -> 403 ``BITRIX_ACCESS_DENIED``, "not found"
-> 404 ``ENTITY_NOT_FOUND``, 5xx and portal limits -> 502 ``BITRIX_UNAVAILABLE``, other codes -> 400.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from .auth import Credential
from .context import HandlerResult, PortalError
from .runner import MethodRunner

__all__ = ["BATCH_OPERATIONS", "Answer", "GatewayError", "from_portal", "run_batch", "run_route"]

MAX_CALLS = 50
_INSTANCE_SELECT = [
    *("ID", "MODIFIED", "OWNED_UNTIL", "MODULE_ID", "ENTITY"),
    *("DOCUMENT_ID", "STARTED", "STARTED_BY", "TEMPLATE_ID"),
]
_TEMPLATE_SELECT = [  # every template field but the activity tree
    *("ID", "MODULE_ID", "ENTITY", "DOCUMENT_TYPE", "AUTO_EXECUTE", "NAME", "DESCRIPTION"),
    *("PARAMETERS", "VARIABLES", "CONSTANTS", "MODIFIED", "IS_MODIFIED", "USER_ID", "SYSTEM_CODE"),
]
_CRM = {
    "deal": ("CCrmDocumentDeal", "DEAL"),
    "lead": ("CCrmDocumentLead", "LEAD"),
    "contact": ("CCrmDocumentContact", "CONTACT"),
    "company": ("CCrmDocumentCompany", "COMPANY"),
}
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NOT_FOUND = ("not found", "notfound")


class GatewayError(Exception):
    """An error answer: ``{"success": false, "error": {code, message, hint?, retryAfter?}}`` and a status."""

    def __init__(
        self, status: int, code: str, message: str, *, hint: str | None = None, retry_after: int | None = None
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.hint = hint
        self.retry_after = retry_after

    def envelope(self) -> dict[str, Any]:
        """The ``error`` object."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.hint:
            error["hint"] = self.hint
        if self.retry_after is not None:
            error["retryAfter"] = self.retry_after
        return error


@attrs.frozen
class Answer:
    """A successful answer: HTTP status, ``data`` and ``meta`` (a 204 has neither)."""

    status: int = 200
    data: Any = None
    meta: dict[str, Any] | None = None


def _invalid(message: str) -> GatewayError:
    return GatewayError(400, "VALIDATION_ERROR", message)


def _names_a_workflow(text: str) -> bool:
    """The portal's not-found text is about a workflow ("The business process is not found.")."""
    return any(word in text.lower() for word in ("workflow", "business process", "бизнес-процесс"))


def from_portal(exc: PortalError) -> GatewayError:
    """The gateway's answer to a refusal from Bitrix24."""
    code, text = exc.code, exc.description
    if code in ("ACCESS_DENIED", "insufficient_scope", "user_access_error"):
        return GatewayError(403, "BITRIX_ACCESS_DENIED", f"Bitrix24 denied access: {text}")
    if exc.status >= 500 or code in ("QUERY_LIMIT_EXCEEDED", "OVERLOAD_LIMIT"):
        return GatewayError(502, "BITRIX_UNAVAILABLE", "Bitrix24 is unavailable")
    if code == "OPERATION_TIME_LIMIT":
        return GatewayError(429, "RATE_LIMITED", "Request limit exceeded", retry_after=2)
    if code.endswith("NOT_FOUND") or any(hint in text.lower() for hint in _NOT_FOUND):
        return GatewayError(
            404, "ENTITY_NOT_FOUND", "Workflow not found" if _names_a_workflow(text) else text
        )
    return GatewayError(400, code or "BITRIX_ERROR", text)


def _run(runner: MethodRunner, cred: Credential, method: str, params: dict[str, Any]) -> HandlerResult:
    outcome = runner.run(cred, method, params)
    if outcome.error is not None:
        raise from_portal(outcome.error)
    assert outcome.result is not None
    return outcome.result


def _int(args: Mapping[str, Any], name: str, *, minimum: int = 0) -> int | None:
    value = args.get(name)
    if value is None or value == "":
        return None
    text = str(value)
    if isinstance(value, bool) or not text.lstrip("-").isdigit() or int(text) < minimum:
        raise _invalid(f"{name} must be an integer >= {minimum}")
    return int(text)


def _list_workflows(runner: MethodRunner, cred: Credential, args: Mapping[str, Any]) -> Answer:
    filt: dict[str, Any] = {}
    for arg, field in (("templateId", "TEMPLATE_ID"), ("startedBy", "STARTED_BY")):
        value = _int(args, arg)
        if value is not None:
            filt[field] = value
    offset = _int(args, "offset") or 0
    params = {"SELECT": _INSTANCE_SELECT, "FILTER": filt, "ORDER": {"MODIFIED": "DESC"}, "START": offset}
    result = _run(runner, cred, "bizproc.workflow.instances", params)
    return Answer(data=result.result, meta={"total": result.total})


def _start(runner: MethodRunner, cred: Credential, args: Mapping[str, Any]) -> Answer:
    template_id = _int(args, "templateId", minimum=1)
    entity_id = _int(args, "entityId", minimum=1)
    kind = _CRM.get(str(args.get("entityType", "")))
    if template_id is None or entity_id is None or kind is None:
        raise _invalid("templateId, entityId and entityType (deal, lead, contact, company) are required")
    parameters = args.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise _invalid("parameters must be an object")
    document = ["crm", kind[0], f"{kind[1]}_{entity_id}"]
    params = {"TEMPLATE_ID": template_id, "DOCUMENT_ID": document, "PARAMETERS": parameters}
    result = _run(runner, cred, "bizproc.workflow.start", params)
    return Answer(data={"workflowId": result.result})


def _delete(runner: MethodRunner, cred: Credential, args: Mapping[str, Any]) -> Answer:
    workflow_id = str(args.get("entityId") or "")
    if str(args.get("force", "")).lower() in ("true", "1"):
        _run(runner, cred, "bizproc.workflow.kill", {"ID": workflow_id})
    else:
        params: dict[str, Any] = {"ID": workflow_id}
        if args.get("status"):
            params["STATUS"] = str(args["status"])
        _run(runner, cred, "bizproc.workflow.terminate", params)
    return Answer(status=204)


def _event(runner: MethodRunner, cred: Credential, args: Mapping[str, Any]) -> Answer:
    token = args.get("eventToken")
    if not isinstance(token, str) or not token:
        raise _invalid("eventToken is required")
    params: dict[str, Any] = {"EVENT_TOKEN": token}
    if args.get("returnValues") is not None:
        params["RETURN_VALUES"] = args["returnValues"]
    if args.get("logMessage") is not None:
        params["LOG_MESSAGE"] = args["logMessage"]
    _run(runner, cred, "bizproc.event.send", params)
    return Answer(data=True)


def _upper(field: str) -> str:
    return _CAMEL.sub("_", field).upper()


def _camel(field: str) -> str:
    head, *rest = field.lower().split("_")
    return head + "".join(part.capitalize() for part in rest)


def _list_templates(runner: MethodRunner, cred: Credential, args: Mapping[str, Any]) -> Answer:
    offset = _int(args, "offset") or 0
    limit = _int(args, "limit", minimum=1) or 50
    if limit > 5000:
        raise _invalid("limit must be at most 5000")
    select = args.get("select")
    names = select.split(",") if isinstance(select, str) else select
    upper = [_upper(str(n).strip()) for n in names] if isinstance(names, list) else _TEMPLATE_SELECT
    order = args.get("order") or {}
    if not isinstance(order, Mapping):
        raise _invalid("order must be an object")
    params: dict[str, Any] = {
        "SELECT": upper,
        "ORDER": {_upper(str(k)): str(v).upper() for k, v in order.items()},
    }
    rows: list[Any] = []
    total: int | None = None
    while len(rows) < limit:  # the gateway pages Bitrix24 by 50 until ``limit`` rows
        result = _run(runner, cred, "bizproc.workflow.template.list", {**params, "START": offset + len(rows)})
        total = result.total
        rows.extend(result.result[: limit - len(rows)])
        if result.next is None or not result.result:
            break
    data = [{_camel(k): v for k, v in row.items()} for row in rows]
    return Answer(data=data, meta={"total": total})


Operation = Callable[[MethodRunner, Credential, Mapping[str, Any]], Answer]

ROUTES: dict[str, Operation] = {
    "workflows.list": _list_workflows,
    "workflows.start": _start,
    "workflows.delete": _delete,
    "workflows.event": _event,
    "bizproc-templates.list": _list_templates,
}
BATCH_OPERATIONS = frozenset({"workflows.list", "workflows.delete", "bizproc-templates.list"})


def run_route(runner: MethodRunner, cred: Credential, operation: str, args: Mapping[str, Any]) -> Answer:
    """Run one gateway operation (``"workflows.list"``, ...) with its arguments."""
    return ROUTES[operation](runner, cred, args)


def _call_parts(index: int, call: Any) -> tuple[str, str, dict[str, Any]]:
    if (
        not isinstance(call, dict)
        or not isinstance(call.get("entity"), str)
        or not isinstance(call.get("action"), str)
    ):
        raise _invalid(f"calls[{index}] needs 'entity' and 'action' strings")
    call_id = str(call.get("id", index))
    params = call.get("params") or {}
    if not isinstance(params, dict):
        raise _invalid(f"calls[{index}].params must be an object")
    operation = f"{call['entity']}.{call['action']}"
    if call["action"] in ("get", "update", "delete") and call.get("entityId") in (None, ""):
        raise GatewayError(400, "MISSING_ENTITY_ID", f"calls[{index}]: {call['action']} needs entityId")
    if "entityId" in call:
        params = {**params, "entityId": call["entityId"]}
    return call_id, operation, params


def run_batch(runner: MethodRunner, cred: Credential, body: Mapping[str, Any]) -> Answer:
    """``POST /v1/batch``: 1-50 independent calls, each answered on its own."""
    calls = body.get("calls")
    if not isinstance(calls, list) or not 1 <= len(calls) <= MAX_CALLS:
        raise _invalid(f"calls must be an array of 1 to {MAX_CALLS} calls")
    parsed = [_call_parts(i, call) for i, call in enumerate(calls)]  # validation errors fail the whole batch
    results: list[dict[str, Any]] = []
    for call_id, operation, params in parsed:
        try:
            if operation not in BATCH_OPERATIONS:
                raise _invalid(f"{operation} is not available in a batch")
            answer = ROUTES[operation](runner, cred, params)
        except GatewayError as exc:
            results.append({"id": call_id, "success": False, "status": exc.status, "error": exc.envelope()})
            continue
        item: dict[str, Any] = {"id": call_id, "success": True, "status": answer.status, "data": answer.data}
        if answer.meta is not None:
            item["meta"] = answer.meta
        results.append(item)
    return Answer(data={"results": results})
