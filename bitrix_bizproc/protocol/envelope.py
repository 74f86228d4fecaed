"""Response envelopes: a body becomes a result with its ``total``/``next``/``time``, or a typed error."""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping
from typing import Any

import attrs

from .errors import BitrixError, ServerError, error_from_code

__all__ = ["ApiResponse", "TimeInfo", "decode_json", "error_from_body", "parse_response"]


def _opt_float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _opt_dt(value: Any) -> _dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return _dt.datetime.fromisoformat(value)
    except ValueError:
        return None


@attrs.frozen
class TimeInfo:
    """The ``time`` block of a response; every field may be missing (self-hosted portals omit some)."""

    start: float | None = None
    finish: float | None = None
    duration: float | None = None
    processing: float | None = None
    date_start: _dt.datetime | None = None
    date_finish: _dt.datetime | None = None
    operating: float | None = None
    operating_reset_at: float | None = None

    @classmethod
    def from_wire(cls, data: Any) -> TimeInfo | None:
        """Parse a ``time`` block, tolerating missing and malformed fields."""
        if not isinstance(data, Mapping):
            return None
        return cls(
            start=_opt_float(data.get("start")),
            finish=_opt_float(data.get("finish")),
            duration=_opt_float(data.get("duration")),
            processing=_opt_float(data.get("processing")),
            date_start=_opt_dt(data.get("date_start")),
            date_finish=_opt_dt(data.get("date_finish")),
            operating=_opt_float(data.get("operating")),
            operating_reset_at=_opt_float(data.get("operating_reset_at")),
        )


@attrs.frozen
class ApiResponse:
    """A successful answer: the ``result`` and, for lists, ``total`` and ``next``."""

    result: Any
    total: int | None = None
    next: int | None = None
    time: TimeInfo | None = None
    method: str | None = None


def excerpt(value: bytes | str | object, limit: int = 200) -> str:
    """A short one-line excerpt of a body or value for an error message (never the whole of it)."""
    if isinstance(value, bytes):
        text = value[: limit * 4].decode("utf-8", "replace")
    elif isinstance(value, str):
        text = value[: limit * 4]
    else:
        text = type(value).__name__
    text = " ".join(text.split())
    return text[:limit] + ("…" if len(text) > limit else "")


def decode_json(body: bytes, *, status: int | None = None, method: str | None = None) -> Any:
    """Decode a JSON body; anything else (an HTML 502 page) becomes a :class:`ServerError` with an excerpt."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _raise_not_json(body, status, method)


def _raise_not_json(body: bytes, status: int | None, method: str | None) -> Any:
    raise ServerError(
        f"the portal answered with a body that is not JSON: {excerpt(body)!r}" if body else "empty body",
        code="",
        status=status,
        method=method,
    )


def error_from_body(
    data: Mapping[str, Any], *, status: int | None, method: str | None, retry_after: float | None = None
) -> BitrixError:
    """The typed error for an ``{"error", "error_description"}`` body."""
    code = data.get("error")
    description = data.get("error_description") or ""
    if isinstance(code, Mapping):  # some gateways nest it
        description = str(code.get("message") or description)
        code = code.get("code")
    return error_from_code(
        str(code) if code is not None else "",
        str(description),
        status=status,
        method=method,
        retry_after=retry_after,
    )


def _opt_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def parse_response(
    status: int, body: bytes, *, method: str | None = None, retry_after: float | None = None
) -> ApiResponse:
    """Turn an HTTP status and body into an :class:`ApiResponse`, or raise the typed error."""
    data = decode_json(body, status=status, method=method)
    if isinstance(data, Mapping) and "error" in data and "result" not in data:
        raise error_from_body(data, status=status, method=method, retry_after=retry_after)
    if status >= 500:
        raise ServerError(f"HTTP {status}: {excerpt(body)!r}", status=status, method=method)
    if not isinstance(data, Mapping) or "result" not in data:
        if status >= 400:
            raise error_from_code("", excerpt(body), status=status, method=method)
        raise ServerError(
            f"unexpected answer without 'result': {excerpt(body)!r}", status=status, method=method
        )
    return ApiResponse(
        result=data["result"],
        total=_opt_int(data.get("total")),
        next=_opt_int(data.get("next")),
        time=TimeInfo.from_wire(data.get("time")),
        method=method,
    )
