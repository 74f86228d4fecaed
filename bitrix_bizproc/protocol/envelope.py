"""Response envelopes: a body becomes a result with its ``total``/``next``/``time``, or a typed error."""

from __future__ import annotations

import datetime as _dt
import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from .encoding import digits
from .errors import BitrixError, MalformedResponseError, ServerError, UnexpectedRedirectError, error_from_code

__all__ = [
    "MAX_DEPTH",
    "MAX_ROWS",
    "MAX_WAIT",
    "ApiResponse",
    "TimeInfo",
    "bounded_retry_after",
    "by_command_key",
    "count_field",
    "decode_json",
    "error_from_body",
    "excerpt",
    "opt_float",
    "parse_response",
    "short_text",
]

MAX_WAIT = 660.0
"""The longest wait (seconds) any answer can impose: the portal's 10-minute operating window plus slack."""

MAX_DEPTH = 200
"""The deepest nesting of lists and objects an answer may have (a deep template is a few dozen levels)."""

MAX_ROWS = 2**31 - 1
"""The largest ``total`` or ``next`` accepted (MySQL's INT ID range); anything above is a malformed answer."""


def opt_float(value: Any) -> float | None:
    """A finite number, or ``None`` (missing, not a number, NaN or infinite: ignored, never trusted)."""
    kind = type(value)
    if kind is float:  # what JSON gives, the usual case
        return value if math.isfinite(value) else None
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _opt_dt(value: Any) -> _dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return _dt.datetime.fromisoformat(value)
    except ValueError:
        return None


@attrs.frozen(slots=False)  # a __dict__: a block from the wire fills it on first read
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
        """Parse a ``time`` block, tolerating missing and malformed fields.

        The fields are read when one of them first is (a batch answer has a block per command, mostly
        unread); the result equals, hashes and prints as one built field by field.
        """
        if type(data) is dict:  # a copy: a later edit of the answer must not change this frozen value
            info = object.__new__(cls)
            info.__dict__["_wire"] = data.copy()
            return info
        if not isinstance(data, Mapping):
            return None
        info = object.__new__(cls)
        info.__dict__["_wire"] = data
        return info

    def figure(self, name: str) -> float | None:
        """The number field ``name`` (``operating``, ``start``...), without reading the rest of the block.

        The same value as the attribute; a block still unread stays so (every answer's block is observed).
        """
        wire = self.__dict__.get("_wire")
        if wire is None:
            built: float | None = getattr(self, name)
            return built
        value = wire.get(name)
        if type(value) is float and math.isfinite(value):  # what JSON gives: opt_float's own first case
            return value
        return opt_float(value)

    if not TYPE_CHECKING:  # to mypy every field is set, as it is once read

        def __getattr__(self, name: str) -> Any:
            fields = self.__dict__
            wire = fields.get("_wire")
            if wire is None:
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            get = wire.get
            fields.update(
                start=opt_float(get("start")),
                finish=opt_float(get("finish")),
                duration=opt_float(get("duration")),
                processing=opt_float(get("processing")),
                date_start=_opt_dt(get("date_start")),
                date_finish=_opt_dt(get("date_finish")),
                operating=opt_float(get("operating")),
                operating_reset_at=opt_float(get("operating_reset_at")),
            )
            del fields["_wire"]
            return getattr(self, name)


@attrs.frozen(slots=False)  # built once per answer: a __dict__ is set faster than frozen slots are
class ApiResponse:
    """A successful answer: the ``result`` and, for lists, ``total`` and ``next``."""

    result: Any
    total: int | None = None
    next: int | None = None
    time: TimeInfo | None = None
    method: str | None = None
    # An earlier try of this call was sent and its answer lost (reset, timeout, 5xx page, truncated body):
    # the call may have run before this answer, so "not found" here can mean "done by that try".
    after_unknown: bool = False


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


def by_command_key(section: object) -> dict[str, Any]:
    """A batch answer's section (``result``, ``result_time``, ...) by command key, as strings.

    PHP sends keys ``0..n-1`` as a list, and an empty section as ``[]``; anything else reads as empty.
    """
    if isinstance(section, Mapping):
        return {str(k): v for k, v in section.items()}
    if isinstance(section, list):
        return {str(i): v for i, v in enumerate(section)}
    return {}


def short_text(value: Any, limit: int = 1000) -> str:
    """``value`` as text for an error message: a string cut to ``limit``, anything else by its JSON shape."""
    if isinstance(value, str):
        text = value
    elif value is None or isinstance(value, bool | int | float):
        text = str(value) if not isinstance(value, int) or abs(value) < 10**100 else "<huge number>"
    else:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[:limit] + "…"


def _not_finite(constant: str) -> float:
    raise ValueError(f"{constant} is not a JSON number")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{excerpt(text, 40)} is out of range")
    return number


# Built once: ``json.loads`` with options builds a decoder (and its scanner) on every call.
_DECODER = json.JSONDecoder(parse_constant=_not_finite, parse_float=_finite_float)


def _loads(body: bytes) -> Any:
    """``json.loads(body)`` refusing ``NaN``/``Infinity`` and numbers out of a double's range."""
    encoding = "utf-8" if body.startswith(b'{"') else json.detect_encoding(body)  # what it would say
    return _DECODER.decode(body.decode(encoding, "surrogatepass"))


def decode_json(body: bytes, *, status: int | None = None, method: str | None = None) -> Any:
    """Decode a JSON body; anything else becomes a :class:`MalformedResponseError` with a short excerpt.

    Refused: non-JSON, truncated or non-UTF-8 bodies, ``NaN``/``Infinity`` and numbers out of a double's
    range (``1e400``; PHP never sends them), and nesting deeper than :data:`MAX_DEPTH`. With an HTTP 5xx
    status (an HTML 502 page) the error is the plain :class:`ServerError` of a failed portal.
    """
    try:
        data = _loads(body)
    except RecursionError:
        data = _TOO_DEEP
    except ValueError:  # UnicodeDecodeError and JSONDecodeError included
        return _raise_not_json(body, status, method)
    if data is _TOO_DEEP or (body.count(b"[") + body.count(b"{") > MAX_DEPTH and _too_deep(data)):
        raise _unreadable(status)(
            f"the portal answered with JSON nested deeper than {MAX_DEPTH} levels",
            status=status,
            method=method,
        )
    return data


_TOO_DEEP = object()


def _too_deep(data: Any) -> bool:
    """Whether ``data`` nests lists and objects more than :data:`MAX_DEPTH` levels (without recursing)."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value
        if depth >= MAX_DEPTH:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _unreadable(status: int | None) -> type[ServerError]:
    return ServerError if status is not None and status >= 500 else MalformedResponseError


def _raise_not_json(body: bytes, status: int | None, method: str | None) -> Any:
    raise _unreadable(status)(
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
        description = code.get("message") or description
        code = code.get("code")
    return error_from_code(
        short_text(code, 100) if code is not None else "",
        short_text(description),
        status=status,
        method=method,
        retry_after=retry_after,
    )


def bounded_retry_after(seconds: float | None) -> float | None:
    """A ``Retry-After`` in ``0..MAX_WAIT``; ``None`` for NaN, infinite or negative values."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return None
    return min(seconds, MAX_WAIT)


def count_field(value: Any, name: str, *, method: str | None = None) -> int | None:
    """A ``total`` or ``next``: a whole number in ``0..MAX_ROWS`` (``"120"`` too), ``None`` when absent.

    Anything else (``Infinity``, ``1e400``, ``10**30``, ``-5``, ``2.5``, ``"abc"``, a list) would end a walk
    early or plan it without limit, so it is a :class:`MalformedResponseError`.
    """
    if value is None or value == "" or isinstance(value, bool):
        return None
    number: int | None = None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and digits(value.strip()) and len(value.strip()) <= 12:
        number = int(value.strip())
    if number is None or not 0 <= number <= MAX_ROWS:
        raise MalformedResponseError(
            f"the answer's {name!r} is not a row count: {short_text(value, 40)!r}", method=method
        )
    return number


def parse_response(
    status: int, body: bytes, *, method: str | None = None, retry_after: float | None = None
) -> ApiResponse:
    """Turn an HTTP status and body into an :class:`ApiResponse`, or raise the typed error.

    ``retry_after`` (a ``Retry-After`` header's seconds) is kept only if finite, at most :data:`MAX_WAIT`.
    """
    retry_after = bounded_retry_after(retry_after)
    if 300 <= status < 400:  # a transport that does not follow redirects: never guess what came next
        raise UnexpectedRedirectError(
            f"the portal answered with a redirect (HTTP {status}); the call was not sent there",
            code="UNEXPECTED_REDIRECT",
            status=status,
            method=method,
        )
    data = decode_json(body, status=status, method=method)
    mapping = type(data) is dict or isinstance(data, Mapping)
    if mapping and "error" in data and "result" not in data:
        raise error_from_body(data, status=status, method=method, retry_after=retry_after)
    if status >= 500:
        raise ServerError(f"HTTP {status}: {excerpt(body)!r}", status=status, method=method)
    if not mapping or "result" not in data:
        if status >= 400:
            raise error_from_code("", excerpt(body), status=status, method=method)
        raise ServerError(
            f"unexpected answer without 'result': {excerpt(body)!r}", status=status, method=method
        )
    total, next_ = data.get("total"), data.get("next")  # each read by count_field when present
    return ApiResponse(
        data["result"],
        None if total is None else count_field(total, "total", method=method),
        None if next_ is None else count_field(next_, "next", method=method),
        TimeInfo.from_wire(data.get("time")),
        method,
    )
