"""Gateway answers -> the REST API's answers: rows with REST field names, ``total``/``next``, typed errors.

The gateway wraps results as ``{"success": true, "data": ..., "meta": {"total": n}}`` and errors as
``{"success": false, "error": {"code", "message", "hint"?, "retryAfter"?}}`` with HTTP 401/403/404/429/502.
Its codes map onto the same error classes as the portal's (``MISSING_API_KEY``, ``INVALID_API_KEY``,
``TOKEN_MISSING`` -> :class:`InvalidCredentialsError`; ``TOKEN_EXPIRED`` -> :class:`ExpiredTokenError`;
``SCOPE_DENIED``, ``BITRIX_ACCESS_DENIED`` -> :class:`AccessDeniedError`; ``ENTITY_NOT_FOUND`` ->
:class:`NotFoundError`; ``RATE_LIMITED`` -> :class:`QueryLimitError` with ``retry_after``;
``BITRIX_UNAVAILABLE`` -> :class:`ServerError`), so retries and callers treat both transports alike.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .envelope import ApiResponse, bounded_retry_after, count_field, decode_json, short_text
from .errors import BitrixError, ServerError, error_from_code
from .vibecode import GatewayRequest

__all__ = [
    "answer_to_response",
    "error_from_envelope",
    "parse_gateway_response",
    "read_envelope",
    "rest_rows",
    "retry_after_seconds",
]

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _rest_key(key: str) -> str:
    return _CAMEL_BOUNDARY.sub("_", key).upper() if any(c.islower() for c in key) else key


def rest_rows(rows: list[Any], select: tuple[str, ...] | None) -> list[Any]:
    """Gateway rows with REST field names (``documentType`` -> ``DOCUMENT_TYPE``), projected on ``select``."""
    out = []
    for row in rows:
        if not isinstance(row, Mapping):
            raise ServerError(f"unexpected list row of type {type(row).__name__}")
        fields = {_rest_key(str(k)): v for k, v in row.items()}
        out.append(fields if select is None else {k: v for k, v in fields.items() if k in select})
    return out


def retry_after_seconds(header: str | None, body_value: Any = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds) or the envelope's ``retryAfter``.

    At most :data:`~bitrix_bizproc.protocol.envelope.MAX_WAIT`; NaN, infinite or negative values are ignored.
    """
    for value in (header, body_value):
        if value is None or isinstance(value, bool):
            continue
        try:
            seconds = bounded_retry_after(float(value))
        except (TypeError, ValueError, OverflowError):
            continue
        if seconds is not None:
            return seconds
    return None


def error_from_envelope(
    data: Any, *, status: int, method: str | None, retry_after_header: str | None = None
) -> BitrixError:
    """The typed error for ``{"success": false, "error": {code, message, hint?, retryAfter?}}``."""
    err = data.get("error") if isinstance(data, Mapping) else None
    if isinstance(err, Mapping):
        code, message = short_text(err.get("code") or "", 100), short_text(err.get("message") or "")
        hint, body_retry = err.get("hint"), err.get("retryAfter")
    else:
        code, message, hint, body_retry = "", "" if err is None else short_text(err), None, None
    hint = short_text(hint) if hint else None
    details = {"hint": hint} if hint else None
    description = f"{message} (hint: {hint})" if hint else message
    retry_after = retry_after_seconds(retry_after_header, body_retry)
    return error_from_code(
        code, description, status=status, method=method, retry_after=retry_after, details=details
    )


def _total(meta: Any, method: str) -> int | None:
    value = meta.get("total") if isinstance(meta, Mapping) else None
    return count_field(value, "total", method=method)


def answer_to_response(request: GatewayRequest, data: Any, meta: Any = None) -> ApiResponse:
    """A successful gateway ``data`` (and ``meta``) as the REST answer of ``request.operation``."""
    method = request.operation
    if request.shape == "batch":
        raise ValueError("batch answers are read by vibecode_batch.rest_batch_result")
    if request.shape == "done":
        return ApiResponse(result=True, method=method)
    if request.shape == "workflow_id":
        wf_id = data.get("workflowId") if isinstance(data, Mapping) else None
        if not isinstance(wf_id, str) or not wf_id:
            raise ServerError("the gateway started a workflow but sent no workflowId", method=method)
        return ApiResponse(result=wf_id, method=method)
    if not isinstance(data, list):
        raise ServerError(f"expected a list of rows, got {type(data).__name__}", method=method)
    rows = rest_rows(data, request.select)
    total = _total(meta, method)
    end = request.offset + len(rows)
    more = total is not None and end < total and bool(rows)
    return ApiResponse(result=rows, total=total, next=end if more else None, method=method)


def read_envelope(
    status: int, body: bytes, *, method: str, retry_after: str | None = None
) -> tuple[Any, Any]:
    """The ``data`` and ``meta`` of a successful answer (``None`` for a 204), or raise its typed error."""
    if status == 204 or (not body and 200 <= status < 300):
        return None, None
    if status in (404, 405) and not body.lstrip().startswith(b"{"):  # a plain-text 404: no such route
        raise error_from_code(
            "", f"the gateway has no such route (HTTP {status})", status=status, method=method
        )
    data = decode_json(body, status=status, method=method)
    if status >= 400 or not isinstance(data, Mapping) or data.get("success") is False:
        if isinstance(data, Mapping) and "error" in data:
            raise error_from_envelope(data, status=status, method=method, retry_after_header=retry_after)
        raise error_from_code(
            "",
            f"unexpected gateway answer (HTTP {status})",
            status=status if status >= 400 else 502,
            method=method,
            retry_after=retry_after_seconds(retry_after),
        )
    return data.get("data"), data.get("meta")


def parse_gateway_response(
    request: GatewayRequest, status: int, body: bytes, *, retry_after: str | None = None
) -> ApiResponse:
    """The gateway's HTTP answer as the REST :class:`ApiResponse`, or raise the same typed error."""
    data, meta = read_envelope(status, body, method=request.operation, retry_after=retry_after)
    return answer_to_response(request, data, meta)
