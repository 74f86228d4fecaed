"""Filter values checked against their field's kind, before any request.

The portal casts what it is given: ``{"STATUS": "open"}`` becomes status 0 and quietly matches the tasks
in progress, ``{"<STARTED": "yesterday"}`` matches nothing. So each known field has a kind, and a value
that does not fit it is refused with a :class:`ValidationError` naming the field, the operator and the
value's type:

* ``int``: an int (an ``IntEnum`` member such as ``TaskStatus.IN_PROGRESS`` is one) or a digit string;
* ``datetime``: a timezone-aware ``datetime``, a ``date``, or an ISO 8601 string that parses (a time
  needs its UTC offset: a naive time is ambiguous);
* ``bool``: ``True``/``False`` or ``"Y"``/``"N"``;
* ``str``: text (a number is accepted too: ``DOCUMENT_ID`` digits from a command line);
* ``any``: not checked at all (structured fields such as ``DOCUMENT_TYPE``, user fields ``UF_*``).

For the other kinds, a list is the IN form: allowed only with the operators that take one (equality on
the bizproc lists, ``@``/``!@`` on ``user.get``), never empty, and each item is checked. ``None`` (is
empty) is allowed with equality operators; a batch reference (:class:`~bitrix_bizproc.protocol.batch.Ref`)
always passes.
"""

from __future__ import annotations

import datetime as _dt
import enum
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from ..protocol.batch import Ref
from ..protocol.errors import ClientValidationError, ValidationError

__all__ = ["EQUALITY_OPERATORS", "Kind", "check_value"]

Kind = Literal["int", "datetime", "bool", "str", "any"]

EQUALITY_OPERATORS = frozenset({"", "=", "!", "!="})
_DIGITS = re.compile(r"[+-]?\d+")
_EXPECTED: dict[str, str] = {
    "int": "an integer, an enum member or a digit string",
    "datetime": "a timezone-aware datetime, a date or an ISO 8601 string such as '2025-01-31T09:00:00+03:00'",
    "bool": "True/False or 'Y'/'N'",
    "str": "a string",
}


def _fits_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    if not isinstance(value, str) or isinstance(value, enum.Enum):
        return False
    return _DIGITS.fullmatch(value.strip()) is not None


def _fits_datetime(value: Any) -> bool:
    if isinstance(value, _dt.datetime):
        return value.utcoffset() is not None
    if isinstance(value, _dt.date):
        return True
    if not isinstance(value, str):
        return False
    text = value.strip()
    try:
        _dt.date.fromisoformat(text)
        return True
    except ValueError:
        pass
    try:
        parsed = _dt.datetime.fromisoformat(text)
    except ValueError:
        return False
    return parsed.utcoffset() is not None


def _fits_bool(value: Any) -> bool:
    return isinstance(value, bool) or (isinstance(value, str) and value in ("Y", "N"))


def _fits_str(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool | enum.Enum))


_FITS = {"int": _fits_int, "datetime": _fits_datetime, "bool": _fits_bool, "str": _fits_str}


def _invalid(method: str, field: str, op: str, message: str) -> ValidationError:
    shown = op or "="
    return ClientValidationError(f"{method}: {field} with operator {shown!r} {message}")


def _describe(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def _why_naive(value: Any) -> str:
    if isinstance(value, str):
        try:
            value = _dt.datetime.fromisoformat(value.strip())
        except ValueError:
            return ""
    if isinstance(value, _dt.datetime) and value.utcoffset() is None:
        return " (a time without a UTC offset is ambiguous: add one, e.g. +00:00)"
    return ""


def check_value(method: str, field: str, op: str, value: Any, kind: Kind, list_ops: frozenset[str]) -> None:
    """Refuse ``value`` for ``op`` + ``field`` if it does not fit ``kind`` (see the module docstring)."""
    if kind == "any" or isinstance(value, Ref):
        return
    if value is None:
        if op not in EQUALITY_OPERATORS:
            raise _invalid(method, field, op, "cannot compare with None")
        return
    if isinstance(value, Sequence | set | frozenset) and not isinstance(value, str | bytes | bytearray):
        if op not in list_ops:
            raise _invalid(method, field, op, f"takes one value, not a {type(value).__name__}")
        if not value:
            raise _invalid(method, field, op, "takes a non-empty list (the portal would ignore an empty one)")
        for item in value:
            if item is None or (isinstance(item, Sequence | Mapping) and not isinstance(item, str)):
                raise _invalid(method, field, op, f"takes a list of single values, not {_describe(item)}")
            check_value(method, field, op, item, kind, frozenset())
        return
    if isinstance(value, Mapping):
        raise _invalid(method, field, op, f"takes a single value or a list, not {type(value).__name__}")
    fits = _FITS.get(kind)
    if fits is not None and not fits(value):
        hint = _why_naive(value) if kind == "datetime" else ""
        raise _invalid(method, field, op, f"takes {_EXPECTED[kind]}, not {_describe(value)}{hint}")
