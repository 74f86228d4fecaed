"""The REST ``batch`` over the Vibecode gateway: ``{"halt", "cmd"}`` -> ``POST /batch {"calls": [...]}``.

The gateway's batch runs 1-50 *independent* calls, each ``{id, entity, action, entityId?, params?}``.
:func:`plan_batch` sorts a REST batch's commands into the ones a gateway batch can carry (listing
instances and templates, terminating, killing) and the ones that must travel alone (starting a workflow,
sending an event: the gateway has no batch action for them). It refuses before anything is sent what
cannot be expressed at all: references between commands (``$result[...]`` and kin), ``halt=1`` (the
gateway runs every call whatever happens) and methods without a gateway route.
:func:`rest_batch_result` puts the per-call answers back into the REST ``batch`` shape, so the batch
composer and the coalescer read them exactly as they read a portal's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import attrs

from .batch import parse_batch_result
from .encoding import parse_query
from .envelope import ApiResponse
from .errors import (
    BitrixError,
    ClientValidationError,
    ServerError,
    UnsupportedOperationError,
)
from .vibecode import TRANSPORT, GatewayRequest, build_request
from .vibecode_answers import answer_to_response, error_from_envelope

__all__ = [
    "MAX_CALLS",
    "BatchPlan",
    "CallAnswer",
    "Command",
    "batch_refused",
    "combine",
    "plan_batch",
    "rest_batch_result",
    "to_rest_batch",
]

MAX_CALLS = 50
REFUSED_STATUSES = frozenset({400, 404, 405, 422, 501})
_MACRO = re.compile(r"\$(result|next|total|error|error_description)\[", re.IGNORECASE)


@attrs.frozen
class Command:
    """One command of a REST batch: its key, method, decoded parameters and gateway request."""

    key: str
    text: str  # the command as the REST batch carried it, ``method?query``
    method: str
    params: Mapping[str, Any]
    request: GatewayRequest


@attrs.frozen
class BatchPlan:
    """Commands the gateway batch carries (``grouped``) and those sent one by one (``alone``)."""

    keys: tuple[str, ...]
    grouped: tuple[Command, ...]
    alone: tuple[Command, ...]

    def gateway_request(self) -> GatewayRequest:
        """The ``POST /batch`` request for the grouped commands."""
        calls = [{"id": c.key, **(c.request.batch_call or {})} for c in self.grouped]
        return GatewayRequest("batch", "POST", "/batch", body={"calls": calls}, shape="batch")


def batch_refused(error: BitrixError) -> bool:
    """Whether the gateway refused ``POST /batch`` as a whole (no such route, method or entity in batch).

    A whole-request 4xx (other than the key checks and the rate limit) or 501 means no call of it ran, so
    each may be sent on its own; nothing documents that the gateway batches workflow calls.
    """
    return error.status in REFUSED_STATUSES


def _unsupported(why: str) -> UnsupportedOperationError:
    return UnsupportedOperationError(
        f"{TRANSPORT} cannot express this: {why}", code="UNSUPPORTED_OPERATION", method="batch"
    )


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _commands(params: Mapping[str, Any]) -> dict[str, str]:
    upper = {str(k).upper(): v for k, v in params.items()}
    unknown = set(upper) - {"HALT", "CMD"}
    if unknown:
        raise ClientValidationError(f"unknown batch parameter(s): {', '.join(sorted(unknown))}")
    if upper.get("HALT") not in (None, 0, "0", False, ""):
        raise _unsupported("halt=1: the gateway runs every call of a batch whatever happens; use halt=False")
    cmd = upper.get("CMD")
    if isinstance(cmd, list):
        cmd = {str(i): v for i, v in enumerate(cmd)}
    if not isinstance(cmd, Mapping) or not cmd:
        raise ClientValidationError("batch needs a non-empty 'cmd' mapping", method="batch")
    if len(cmd) > MAX_CALLS:
        raise ClientValidationError(f"a batch holds at most {MAX_CALLS} commands, got {len(cmd)}")
    if not all(isinstance(v, str) for v in cmd.values()):
        raise ClientValidationError("batch commands must be 'method?query' strings")
    return {str(k): v for k, v in cmd.items()}


def plan_batch(params: Mapping[str, Any]) -> BatchPlan:
    """Split a REST batch's commands for the gateway, or refuse it before anything is sent."""
    grouped: list[Command] = []
    alone: list[Command] = []
    commands = _commands(params)
    for key, text in commands.items():
        method, _, query = text.partition("?")
        decoded = parse_query(query)
        if any(_MACRO.search(s) for s in _strings(decoded)):
            raise _unsupported(
                f"command {key!r} refers to another command's answer; gateway calls are independent"
            )
        request = build_request(method.strip(), decoded)
        (grouped if request.batch_call is not None else alone).append(
            Command(key, text, request.operation, decoded, request)
        )
    return BatchPlan(tuple(commands), tuple(grouped), tuple(alone))


def _items(data: Any) -> dict[str, Any]:
    """Per-call answers by id: ``data`` is a list, or ``{"results": ...}`` holding a list or a mapping."""
    if isinstance(data, Mapping) and "results" in data:
        data = data["results"]
    if isinstance(data, Mapping):
        return {str(k): v for k, v in data.items()}
    if isinstance(data, list):
        return {str(item.get("id", i)): item for i, item in enumerate(data) if isinstance(item, Mapping)}
    raise ServerError(f"unexpected gateway batch answer of type {type(data).__name__}", method="batch")


def _rest_error(error: BitrixError) -> dict[str, str]:
    return {"error": error.code, "error_description": error.description}


def _outcome(command: Command, item: Any) -> ApiResponse | BitrixError:
    if not isinstance(item, Mapping):
        return ServerError("the gateway sent no answer for this call", method=command.method)
    if item.get("success") is False or "error" in item:
        status = item.get("status")
        return error_from_envelope(
            item, status=status if isinstance(status, int) else 400, method=command.method
        )
    try:
        return answer_to_response(command.request, item.get("data"), item.get("meta"))
    except BitrixError as exc:
        return exc


CallAnswer = ApiResponse | BitrixError


def to_rest_batch(keys: tuple[str, ...], outcomes: Mapping[str, CallAnswer]) -> dict[str, Any]:
    """Per-key outcomes in the REST ``batch`` shape: ``result``, ``result_error``, ``result_total``, ..."""
    result: dict[str, Any] = {}
    errors: dict[str, Any] = {}
    totals: dict[str, int] = {}
    nexts: dict[str, int] = {}
    for key in keys:
        outcome = outcomes.get(key)
        if isinstance(outcome, BitrixError):
            errors[key] = _rest_error(outcome)
        elif outcome is not None:
            result[key] = outcome.result
            if outcome.total is not None:
                totals[key] = outcome.total
            if outcome.next is not None:
                nexts[key] = outcome.next
    return {
        "result": result,
        "result_error": errors,
        "result_total": totals,
        "result_next": nexts,
        "result_time": {},
    }


def rest_batch_result(plan: BatchPlan, gateway_data: Any) -> dict[str, Any]:
    """The gateway batch's ``data`` as the REST ``batch`` result of the grouped commands."""
    items = _items(gateway_data)
    keys = tuple(c.key for c in plan.grouped)
    return to_rest_batch(keys, {c.key: _outcome(c, items.get(c.key)) for c in plan.grouped})


def combine(
    plan: BatchPlan, grouped: Mapping[str, Any] | BitrixError | None, alone: Mapping[str, CallAnswer]
) -> dict[str, Any]:
    """One REST ``batch`` result from the gateway batch's (or its whole-request error) and the lone calls'."""
    outcomes: dict[str, CallAnswer] = {}
    keys = [c.key for c in plan.grouped]
    if isinstance(grouped, BitrixError):
        outcomes.update(dict.fromkeys(keys, grouped))
    elif grouped is not None:
        for key, o in parse_batch_result(keys, grouped, halt=False).items():
            outcomes[key] = (
                o.error if o.error is not None else ApiResponse(o.result, total=o.total, next=o.next)
            )
    outcomes.update(alone)
    return to_rest_batch(plan.keys, outcomes)
