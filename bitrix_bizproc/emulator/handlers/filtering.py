"""SELECT / FILTER / ORDER / start as the portal reads them, and list answers with ``total`` and ``next``.

Like the server: field names in any case, operators ``! < <= > >=`` (and ``= !=`` on newer portals),
unknown fields or operators silently dropped, anything but ``DESC`` sorts ascending, pages of 50.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from ..context import HandlerResult
from ..records import PortalSettings
from ..table import NO_MATCH, Condition, Query, Table
from .params import as_bool, as_int, as_list, as_mapping, as_str

__all__ = [
    "Field",
    "iso",
    "list_result",
    "parse_datetime",
    "parse_filter",
    "parse_order",
    "parse_select",
    "parse_start",
    "render",
]

_PREFIX = re.compile(r"^([^a-zA-Z]*)(.*)$", re.S)
_BASE_OPS = {"": "=", "!": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_EXTENDED_OPS = {**_BASE_OPS, "=": "=", "!=": "!="}


@attrs.frozen
class Field:
    """A list field: the row attribute, its type (int, str, datetime, bool) and how it goes out."""

    attr: str
    kind: str = "str"
    out: str = "str"  # str: scalars as strings; raw: as stored; iso: datetime; yn: "Y"/"N";
    # site: "24.08.2023 13:19:39" and naive: "2024-08-29 10:30:11" (portal zone, no offset; "" when unset)
    getter: Callable[[Any], Any] | None = None  # for computed output values


def iso(ts: float | None, settings: PortalSettings) -> str | None:
    """A unix time as ISO 8601 in the portal's zone, e.g. ``2024-09-13T10:25:01+03:00``."""
    if ts is None:
        return None
    zone = dt.timezone(dt.timedelta(minutes=settings.utc_offset_minutes))
    return dt.datetime.fromtimestamp(ts, zone).isoformat(timespec="seconds")


def _local(ts: float | None, settings: PortalSettings, fmt: str) -> str:
    """A unix time in the portal's zone without an offset, as some user fields carry it; "" when unset."""
    if ts is None:
        return ""
    zone = dt.timezone(dt.timedelta(minutes=settings.utc_offset_minutes))
    return dt.datetime.fromtimestamp(ts, zone).strftime(fmt)


def parse_datetime(value: Any, settings: PortalSettings) -> float | None:
    """ISO 8601 (with or without offset), ``YYYY-MM-DD`` or ``DD.MM.YYYY [HH:MM:SS]``; None if unreadable."""
    text = as_str(value)
    if not text:
        return None
    text = text.strip()
    parsed: dt.datetime | None = None
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        for fmt in ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y"):
            try:
                parsed = dt.datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone(dt.timedelta(minutes=settings.utc_offset_minutes)))
    return parsed.timestamp()


def _coerce(field: Field, value: Any, settings: PortalSettings) -> Any:
    if isinstance(value, list | Mapping):
        items = as_list(value) or []
        return tuple(_coerce(field, item, settings) for item in items if not isinstance(item, list | Mapping))
    if value is None:
        return None
    if field.kind == "int":
        number = as_int(value)
        return NO_MATCH if number is None else number
    if field.kind == "datetime":
        stamp = parse_datetime(value, settings)
        return NO_MATCH if stamp is None else stamp
    if field.kind == "bool":
        flag = as_bool(value)
        return NO_MATCH if flag is None else flag
    return as_str(value)


def parse_filter(
    raw: Any, fields: Mapping[str, Field], settings: PortalSettings, ignored: frozenset[str] = frozenset()
) -> tuple[Condition, ...]:
    """FILTER as conditions; unknown fields and operators (and ``ignored`` fields) are dropped."""
    mapping = as_mapping(raw) if isinstance(raw, Mapping) else None
    if not mapping:
        return ()
    ops = _EXTENDED_OPS if settings.extended_filter_operators else _BASE_OPS
    conditions: list[Condition] = []
    for key, value in mapping.items():
        prefix, name = _PREFIX.match(key).groups()  # type: ignore[union-attr]
        op = ops.get(prefix)
        field = fields.get(name.upper())
        if op is None or field is None or name.upper() in ignored:
            continue
        coerced = _coerce(field, value, settings)
        if isinstance(coerced, tuple) and op not in ("=", "!="):
            coerced = NO_MATCH
        conditions.append(Condition(field.attr, op, coerced))
    return tuple(conditions)


def parse_order(
    raw: Any, fields: Mapping[str, Field], default: tuple[tuple[str, bool], ...]
) -> tuple[tuple[str, bool], ...]:
    """ORDER as ``(attr, descending)`` pairs; anything but DESC is ascending; nothing usable -> default."""
    mapping = as_mapping(raw) if isinstance(raw, Mapping) else None
    order = []
    for key, direction in (mapping or {}).items():
        field = fields.get(key.upper())
        if field is not None:
            order.append((field.attr, (as_str(direction) or "").upper() == "DESC"))
    return tuple(order) or default


def parse_select(raw: Any, fields: Mapping[str, Field], default: Sequence[str]) -> list[str] | None:
    """SELECT as known upper-case names (unknown ones dropped); None when SELECT is not an array."""
    if raw is None or raw == "":
        return list(default)
    items = as_list(raw) if isinstance(raw, list | Mapping) else None
    if items is None:
        return None
    names: list[str] = []
    for item in items:
        name = as_str(item)
        if name is not None and name.upper() in fields and name.upper() not in names:
            names.append(name.upper())
    return names or list(default)


def parse_start(raw: Any) -> int:
    """``start`` as an offset (PHP intval); -1 asks for no count."""
    value = as_int(raw)
    return value if value is not None else 0


def render(
    row: Any, names: Sequence[str], fields: Mapping[str, Field], settings: PortalSettings
) -> dict[str, Any]:
    """One row as the portal prints it: the selected fields only."""
    out: dict[str, Any] = {}
    for name in names:
        field = fields[name]
        value = field.getter(row) if field.getter else getattr(row, field.attr)
        if field.out == "iso":
            value = iso(value, settings)
        elif field.out in ("site", "naive"):
            fmt = "%d.%m.%Y %H:%M:%S" if field.out == "site" else "%Y-%m-%d %H:%M:%S"
            value = _local(value, settings, fmt)
        elif field.out == "yn":
            value = "Y" if value else "N"
        elif field.out == "str" and value is not None and not isinstance(value, str):
            value = str(value)
        out[name] = value
    return out


def list_result(
    table: Table[Any, Any],
    query: Query,
    params: Mapping[str, Any],
    names: Sequence[str],
    fields: Mapping[str, Field],
    settings: PortalSettings,
    *,
    no_count_allowed: bool,
) -> HandlerResult:
    """The page of ``query`` at ``START`` showing ``names``, with ``total``/``next`` (none for allowed -1)."""
    start = parse_start(params.get("START"))

    def emit(row: Any) -> dict[str, Any]:
        return render(row, names, fields, settings)

    size = settings.page_size
    if start == -1 and no_count_allowed:
        page = table.page(query, 0, size, count=False)
        return HandlerResult([emit(row) for row in page.rows])
    offset = max(start, 0)
    page = table.page(query, offset, size)
    total = page.total or 0
    following = offset + len(page.rows)
    return HandlerResult(
        [emit(row) for row in page.rows], total=total, next=following if following < total else None
    )
