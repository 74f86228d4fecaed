"""Filter conditions the far side cannot apply, applied here to the rows it sends.

The Vibecode gateway lists workflow instances by ``TEMPLATE_ID`` and ``STARTED_BY`` only, but each row
carries ``STARTED``: a date comparison such as ``<STARTED`` is split off the filter (:func:`split_filter`)
and checked on every row's date (:meth:`DateCondition.holds`). A row whose date is missing, unparsable
or has no offset is not known to match: ``holds`` answers ``None`` and a job leaves the row alone.
"""

from __future__ import annotations

import datetime as _dt
import operator
from collections.abc import Callable, Mapping
from typing import Any

import attrs

__all__ = ["DateCondition", "split_filter"]

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _aware(value: Any) -> _dt.datetime | None:
    if isinstance(value, _dt.datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = _dt.datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    return parsed if parsed.tzinfo is not None else None


@attrs.frozen
class DateCondition:
    """``row[field] <op> value`` for a date field, e.g. ``STARTED < 2025-01-01T00:00:00+00:00``."""

    field: str
    op: str
    value: _dt.datetime

    @property
    def key(self) -> str:
        """The filter key this condition came from (``<STARTED``)."""
        return f"{self.op}{self.field}"

    def holds(self, seen: Any) -> bool | None:
        """Whether a row's date ``seen`` matches; ``None`` when missing, unparsable or without an offset."""
        seen = _aware(seen)
        return None if seen is None else _COMPARE[self.op](seen, self.value)


def _split_key(key: str) -> tuple[str, str]:
    for op in ("<=", ">=", "<", ">"):
        if key.startswith(op):
            return op, key[len(op) :].upper()
    return "", key.upper()


def split_filter(
    filter: Mapping[str, Any], served: frozenset[str] | None, dates: frozenset[str]
) -> tuple[dict[str, Any], tuple[DateCondition, ...]]:
    """The filter the far side applies and the date comparisons left to the client.

    ``served``: the fields the far side filters on (``None``: all of them). Only comparisons of a field in
    ``dates`` that the far side does not serve are split off; anything else stays for the far side to
    apply or refuse.
    """
    if served is None:
        return dict(filter), ()
    kept: dict[str, Any] = {}
    conditions: list[DateCondition] = []
    for key, value in filter.items():
        op, field = _split_key(str(key))
        when = _aware(value)
        if op and field in dates and field not in served and when is not None:
            conditions.append(DateCondition(field, op, when))
        else:
            kept[key] = value
    return kept, tuple(conditions)
