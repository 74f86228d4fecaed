"""Re-check each listed row against the job's own filter, locally, before anything is acted on.

A portal may drop or misread a filter condition and answer with more rows than asked for (its bizproc
REST service converts only ``MODIFIED`` and ``OWNED_UNTIL`` filter dates, not ``STARTED``). A destructive
job therefore selects every field its filter names and keeps a row only if the row provably satisfies
every condition; a row that fails one, or lacks a field needed to decide, is excluded with the reason.
A condition that cannot be evaluated here is refused before any request.
"""

from __future__ import annotations

import datetime as _dt
import enum
from collections.abc import Mapping
from typing import Any

import attrs

from ..models.converter import _WIRE
from ..models.filters import ListSpec
from ..protocol.batch import Ref
from ..protocol.errors import ClientValidationError

__all__ = ["RowCheck", "sent_as_checked"]

_MISSING = object()
_ORDERED = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b}
_ORDERED[">="] = lambda a, b: a >= b


def _refuse(key: str, why: str) -> ClientValidationError:
    return ClientValidationError(
        f"filter condition {key!r} cannot be re-checked against the listed rows ({why}); a destructive "
        "job acts only on what it can prove matches: drop or rewrite the condition",
    )


def _shown(value: Any) -> str:
    return value.isoformat() if isinstance(value, _dt.datetime) else repr(value)


def _as_datetime(value: Any) -> _dt.datetime:
    if isinstance(value, str):
        text = value.strip()
        try:
            value = _dt.datetime.fromisoformat(text)
        except ValueError:
            value = _dt.date.fromisoformat(text)
    if isinstance(value, _dt.datetime) and value.tzinfo is None:  # a date-only string parses naive
        value = value.replace(tzinfo=_dt.UTC)
    if isinstance(value, _dt.datetime):
        return value
    if isinstance(value, _dt.date):  # a date: midnight UTC, as instance_filter() sends it
        return _dt.datetime(value.year, value.month, value.day, tzinfo=_dt.UTC)
    raise TypeError(value)


def sent_as_checked(spec: ListSpec, wire: Mapping[str, Any]) -> dict[str, Any]:
    """``wire`` with each date written as the instant the re-check compares against, offset included.

    The portal reads a date with PHP ``strtotime`` in its own zone (``2024-01-01`` is its midnight), the
    re-check as midnight UTC: rows between the two were neither listed nor counted as left.
    """
    out = dict(wire)
    for key, value in wire.items():
        field = key.lstrip("<>=!")
        if spec.kinds.get(field) != "datetime" or value is None or isinstance(value, Ref):
            continue
        try:
            if isinstance(value, list | tuple):
                out[key] = [_as_datetime(v).isoformat() for v in value]
            else:
                out[key] = _as_datetime(value).isoformat()
        except (TypeError, ValueError):  # left as given: the re-check refuses it with the reason
            continue
    return out


def _normalise(kind: str, value: Any) -> Any:
    """A filter value or a row value in comparable form; raises ValueError/TypeError if it has none."""
    if kind == "int":
        if isinstance(value, bool):
            raise TypeError(value)
        return int(value.value if isinstance(value, enum.Enum) else value)
    if kind == "datetime":
        return _as_datetime(value)
    if kind == "str":
        return str(value)
    raise TypeError(kind)


@attrs.frozen
class _Condition:
    key: str
    field: str
    op: str
    kind: str
    values: tuple[Any, ...]  # normalised; several only for an equality list (IN)

    def holds(self, row_value: Any) -> bool:
        if self.op in ("", "!"):
            if self.values == (None,):
                hit = row_value in (None, "")
            else:
                hit = row_value is not None and _normalise(self.kind, row_value) in self.values
            return hit if self.op == "" else not hit
        if row_value is None:
            return False
        return bool(_ORDERED[self.op](_normalise(self.kind, row_value), self.values[0]))


def _condition(spec: ListSpec, key: str, value: Any) -> _Condition:
    op = next((o for o in ("<=", ">=", "<", ">", "!") if key.startswith(o)), "")
    field = key[len(op) :]
    kind = spec.kinds.get(field, "any")
    if kind not in ("int", "datetime", "str"):
        raise _refuse(key, f"{field} has no comparable value kind")
    if op in _ORDERED and kind == "str":
        raise _refuse(key, "text is ordered by the portal's collation, not here")
    items = list(value) if isinstance(value, list | tuple | set | frozenset) else [value]
    if any(isinstance(v, Ref) for v in items):
        raise _refuse(key, "a batch reference has no value before the batch runs")
    if items == [None]:
        if op in _ORDERED:
            raise _refuse(key, "None cannot be ordered")
        return _Condition(key, field, op, kind, (None,))
    try:
        normalised = tuple(_normalise(kind, v) for v in items)
    except (TypeError, ValueError):
        raise _refuse(key, f"{value!r} is not a {kind}") from None
    return _Condition(key, field, op, kind, normalised)


_NAMES: dict[type[Any], dict[str, str]] = {}


def _wire_names(row_type: type[Any]) -> dict[str, str]:
    """Wire name -> attribute name of a row model (worked out once per type, not once per row)."""
    names = _NAMES.get(row_type)
    if names is None:
        names = _NAMES[row_type] = {
            f.metadata[_WIRE]: f.name for f in attrs.fields(row_type) if _WIRE in f.metadata
        }
    return names


@attrs.frozen
class RowCheck:
    """The conditions of one checked wire filter, evaluable against listed rows."""

    conditions: tuple[_Condition, ...]

    @classmethod
    def build(cls, spec: ListSpec, wire: Mapping[str, Any]) -> RowCheck:
        """Refuses (:class:`ValidationError`) any condition that cannot be evaluated locally."""
        return cls(tuple(_condition(spec, key, value) for key, value in wire.items()))

    @property
    def select(self) -> list[str]:
        """The fields the rows must carry for every condition to be decided."""
        return list(dict.fromkeys(c.field for c in self.conditions))

    def why_not(self, row: Any) -> str | None:
        """``None`` if ``row`` satisfies every condition, else why not (or why it cannot be shown to)."""
        names = _wire_names(type(row))
        return self._why_not(
            {c.field: getattr(row, names[c.field], _MISSING) for c in self.conditions if c.field in names}
        )

    def why_not_values(self, values: Mapping[str, Any]) -> str | None:
        """:meth:`why_not` for a row read as wire name -> value (``models.converter.wire_values``)."""
        return self._why_not(values)

    def _why_not(self, values: Mapping[str, Any]) -> str | None:
        for cond in self.conditions:
            value = values.get(cond.field, _MISSING)
            if value is _MISSING or (value is None and cond.values != (None,)):
                return f"lacks {cond.field}: cannot show it satisfies {cond.key}"
            try:
                holds = cond.holds(value)
            except (TypeError, ValueError):
                return f"{cond.field}={value!r} cannot be compared for {cond.key}"
            if not holds:
                shown = _shown(value)
                wanted = ", ".join(_shown(v) for v in cond.values)
                return f"{cond.field}={shown} does not satisfy {cond.key} {wanted}"
        return None
