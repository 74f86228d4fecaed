"""Property values by declared type: what the portal POSTs -> Python, and return values -> the wire.

=========  ==============================  ==========================  =====================
Type       The portal sends                Python                      Sent back (reply)
=========  ==============================  ==========================  =====================
string     ``"text"``                      ``str``                     ``str``
text       ``"line 1\\nline 2"``           ``str``                     ``str``
int        ``"42"``                        ``int``                     ``int``
double     ``"3.5"`` (or ``"3,5"``)        ``float``                   ``float``
bool       ``"Y"`` / ``"N"``               ``bool``                    ``"Y"`` / ``"N"``
date       ``"2026-11-27"``, ``"27.11.2026"``  ``datetime.date``       ISO date
datetime   ISO 8601, ``"27.11.2026 10:00:00"``  ``datetime.datetime``  ISO 8601 (aware only)
user       ``"user_1"`` (or ``"1"``)       ``int`` (the user's ID)     ``"user_1"``
select     an option key                   ``str`` (one of Options)    an option key
file       as sent                         as sent                     as given
=========  ==============================  ==========================  =====================

``Multiple`` properties are lists of the above. An empty value is ``None``. Types this table does not
know (document fields such as ``UF:...``) pass through unchanged. Pure functions: no I/O.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable, Mapping
from typing import Any

from ..models.activity import Property
from ..protocol.errors import ClientValidationError
from .errors import MalformedRequestError

__all__ = ["from_portal", "properties_from_portal", "return_values_to_wire", "to_portal"]

_INT = re.compile(r"[+-]?\d+")
_USER = re.compile(r"(?:user_)?(\d+)")
_RU_DATE = re.compile(r"(\d{2})\.(\d{2})\.(\d{4})")
_RU_DATETIME = re.compile(r"(\d{2})\.(\d{2})\.(\d{4})[ T](\d{2}):(\d{2})(?::(\d{2}))?")


class _Bad(ValueError):
    """A value that does not fit its type (turned into the caller's typed error)."""


def _text(value: Any) -> str:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    raise _Bad("expected text")


def _int_in(value: Any) -> int:
    text = _text(value).strip()
    if not _INT.fullmatch(text):
        raise _Bad("expected an integer")
    return int(text)


def _double_in(value: Any) -> float:
    text = _text(value).strip().replace(",", ".")
    try:
        return float(text)
    except ValueError:
        raise _Bad("expected a number") from None


def _bool_in(value: Any) -> bool:
    text = _text(value).strip().upper()
    if text in ("Y", "1", "TRUE"):
        return True
    if text in ("N", "0", "FALSE"):
        return False
    raise _Bad("expected Y or N")


def _date_in(value: Any) -> _dt.date:
    text = _text(value).strip()
    ru = _RU_DATE.fullmatch(text)
    try:
        if ru:
            return _dt.date(int(ru[3]), int(ru[2]), int(ru[1]))
        return _dt.date.fromisoformat(text[:10]) if len(text) >= 10 else _dt.date.fromisoformat(text)
    except ValueError:
        raise _Bad("expected a date (YYYY-MM-DD or DD.MM.YYYY)") from None


def _datetime_in(value: Any) -> _dt.datetime:
    text = _text(value).strip()
    ru = _RU_DATETIME.fullmatch(text)
    try:
        if ru:
            day, month, year, hour, minute, second = ru.groups()
            return _dt.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0))
        return _dt.datetime.fromisoformat(text)
    except ValueError:
        raise _Bad("expected a date and time (ISO 8601 or DD.MM.YYYY HH:MM:SS)") from None


def _user_in(value: Any) -> int:
    match = _USER.fullmatch(_text(value).strip())
    if match is None:
        raise _Bad("expected a user (user_<id>)")
    return int(match[1])


_READERS: dict[str, Callable[[Any], Any]] = {
    "string": _text,
    "text": _text,
    "int": _int_in,
    "double": _double_in,
    "bool": _bool_in,
    "date": _date_in,
    "datetime": _datetime_in,
    "user": _user_in,
    "select": _text,
}


def _type_of(prop: Property) -> str:
    return str(getattr(prop.type, "value", prop.type) or "string")


def _items(value: Any) -> list[Any]:
    if isinstance(value, Mapping):
        return list(value.values())
    if isinstance(value, list):
        return value
    return [value]


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def from_portal(prop: Property, value: Any) -> Any:
    """One property value as the portal sent it, converted by the declared type; raises ``ValueError``."""
    kind = _type_of(prop)
    if _empty(value):
        return [] if prop.multiple else None
    reader = _READERS.get(kind)
    if reader is None:
        return value  # a type of the document (UF:..., crm_status, ...): passed through as sent

    def one(item: Any) -> Any:
        if _empty(item):
            return None
        converted = reader(item)
        if kind == "select" and prop.options and converted not in prop.options:
            raise _Bad(f"{converted!r} is not one of the options {sorted(prop.options)}")
        return converted

    if prop.multiple:
        return [one(i) for i in _items(value)]
    if isinstance(value, list | Mapping):
        raise _Bad("expected one value, got a list")
    return one(value)


def properties_from_portal(declared: Mapping[str, Property], sent: Mapping[str, Any]) -> dict[str, Any]:
    """The call's ``properties[...]`` by declared type (declared ones missing: their default, or None).

    Raises :class:`MalformedRequestError` naming the property; undeclared keys are kept as sent.
    """
    out: dict[str, Any] = {k: v for k, v in sent.items() if k not in declared}
    for key, prop in declared.items():
        raw = sent.get(key, prop.default)
        try:
            out[key] = from_portal(prop, raw)
        except ValueError as exc:
            raise MalformedRequestError(f"property {key!r} ({_type_of(prop)}): {exc}") from None
    return out


def _text_out(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise _Bad("expected a str")


def _int_out(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise _Bad("expected an int")


def _double_out(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise _Bad("expected a number")


def _bool_out(value: Any) -> str:
    if isinstance(value, bool):
        return "Y" if value else "N"
    if value in ("Y", "N"):
        return str(value)
    raise _Bad("expected True/False (or 'Y'/'N')")


def _date_out(value: Any) -> str:
    if isinstance(value, _dt.date) and not isinstance(value, _dt.datetime):
        return value.isoformat()
    raise _Bad("expected a datetime.date")


def _datetime_out(value: Any) -> str:
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            raise _Bad("a naive datetime is ambiguous: give it a timezone")
        return value.isoformat()
    raise _Bad("expected a datetime.datetime")


def _user_out(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return f"user_{value}"
    if isinstance(value, str) and re.fullmatch(r"user_\d+", value):
        return value
    raise _Bad("expected a user ID (int) or 'user_<id>'")


_WRITERS: dict[str, Callable[[Any], Any]] = {
    "string": _text_out,
    "text": _text_out,
    "int": _int_out,
    "double": _double_out,
    "bool": _bool_out,
    "date": _date_out,
    "datetime": _datetime_out,
    "user": _user_out,
    "select": _text_out,
}


def to_portal(prop: Property, value: Any) -> Any:
    """One return value checked against its declared type and put in the portal's form; ``ValueError``."""
    if value is None:
        return None
    kind = _type_of(prop)
    writer = _WRITERS.get(kind)
    if writer is None:
        return value

    def one(item: Any) -> Any:
        converted = writer(item)
        if kind == "select" and prop.options and converted not in prop.options:
            raise _Bad(f"{converted!r} is not one of the options {sorted(prop.options)}")
        return converted

    if prop.multiple:
        if isinstance(value, str) or not isinstance(value, list | tuple | set | frozenset):
            raise _Bad("expected a list (the property is Multiple)")
        return [one(i) for i in value]
    return one(value)


def return_values_to_wire(
    declared: Mapping[str, Property], values: Mapping[str, Any], *, what: str
) -> dict[str, Any]:
    """``RETURN_VALUES`` checked against the declared return properties; raises ``ValidationError``."""
    if not isinstance(values, Mapping):
        raise ClientValidationError("return_values must be a map of key -> value")
    unknown = sorted(str(k) for k in values if k not in declared)
    if unknown:
        raise ClientValidationError(
            f"{what} declares no return properties {unknown} (declared: {sorted(declared)})",
        )
    out: dict[str, Any] = {}
    for key, value in values.items():
        prop = declared[key]
        try:
            out[key] = to_portal(prop, value)
        except ValueError as exc:
            raise ClientValidationError(f"{what} return value {key!r} ({_type_of(prop)}): {exc}") from None
    return out
