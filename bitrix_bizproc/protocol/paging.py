"""List paging as pure arithmetic and parameter plans: offsets, keyset filters, strategy choice, dedupe.

Bitrix24 list methods return 50 rows a page. Three ways to walk them, and what each guarantees while
other processes add or remove rows (every strategy also drops rows it has already yielded, by ID):

* ``SEQUENTIAL``: ``start=0, 50, 100, ...`` following ``next``. A row removed before the current offset
  shifts every later row back by one, so a row that matched throughout can be skipped.
* ``PARALLEL``: the same offsets, fetched ahead in ``batch`` requests of 50 pages. Same guarantee as
  ``SEQUENTIAL`` (the window in which a deletion can cause a skip is shorter, not closed).
* ``KEYSET``: ``order ID ASC``, ``filter >ID = last ID seen``, ``start=-1`` (no COUNT). A row that matched
  throughout is never skipped and never yielded twice. Only for methods with numeric IDs that accept
  ``start=-1`` (tasks, templates); never for workflow instances, whose IDs are strings.

When the caller gives no ``order``, offset walks are ordered by ``ID ASC`` too: an immutable sort key, so
rows created during the walk (with larger IDs) do not shift earlier ones, and duplicates are detected in
bounded memory (the latest :data:`DEDUPE_WINDOW` IDs; IDs are looked up, never compared, so the portal's
collation does not matter). A walk whose consumer removes rows (terminations) must not page by offset:
collect the IDs first, or drain by re-reading from ``start=0`` (see ``bitrix_bizproc._paging``).
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Iterator, Mapping
from typing import Any

import attrs

from .envelope import excerpt
from .errors import ClientValidationError, MalformedResponseError, ValidationError
from .methods import Paging, method_info

__all__ = [
    "DEDUPE_WINDOW",
    "MAX_BATCH_COMMANDS",
    "PAGE_SIZE",
    "ListParams",
    "OffsetPlan",
    "SeenIds",
    "Strategy",
    "batch_starts",
    "choose_strategy",
    "id_value",
    "keyset_params",
    "normalize_list_params",
    "numeric_ids",
    "offset_params",
    "page_start",
    "pages_needed",
    "split_filter_key",
    "stable_order",
]

PAGE_SIZE = 50
MAX_BATCH_COMMANDS = 50
_OPERATOR_CHARS = "!<>="
_RESERVED = ("filter", "select", "order", "start")


class Strategy(enum.Enum):
    """How a list is walked."""

    AUTO = "auto"
    SEQUENTIAL = "sequential"
    PARALLEL = "parallel"
    KEYSET = "keyset"


def page_start(page: int) -> int:
    """The ``start`` of zero-based page ``page`` (``start = page * 50``)."""
    if page < 0:
        raise ValueError("page numbers start at 0")
    return page * PAGE_SIZE


def pages_needed(rows: int) -> int:
    """How many 50-row pages hold ``rows`` rows."""
    return max(0, -(-rows // PAGE_SIZE))


def batch_starts(
    total: int, *, first: int = PAGE_SIZE, limit: int | None = None, per_batch: int = MAX_BATCH_COMMANDS
) -> Iterator[range]:
    """The ``start`` values from ``first`` up to ``total`` (or ``limit`` rows), in groups of ``per_batch``."""
    if not 1 <= per_batch <= MAX_BATCH_COMMANDS:
        raise ValueError(f"per_batch must be 1..{MAX_BATCH_COMMANDS}")
    end = total if limit is None else min(total, limit)
    step = per_batch * PAGE_SIZE
    for lo in range(first, end, step):
        yield range(lo, min(lo + step, end), PAGE_SIZE)


@attrs.define
class OffsetPlan:
    """The ``start`` values a parallel walk has still to fetch, in batches, capped at ``limit`` rows.

    Made lazily: the plan holds the next offset and the end, so any ``total`` costs constant memory.
    """

    limit: int | None
    per_batch: int = MAX_BATCH_COMMANDS
    rows: int = 0  # rows received so far
    _next: int = 0
    _end: int = 0

    @property
    def exhausted(self) -> bool:
        """Whether every planned offset has been handed out."""
        return self._next >= self._end

    def extend(self, next_start: int | None, total: int | None, rows: int) -> None:
        """Plan the offsets from ``next_start`` up to ``total`` (or the rows ``limit`` still allows)."""
        if next_start is None or total is None:
            return
        room = None if self.limit is None else self.limit - rows
        if room is not None and room <= 0:
            return
        end = total if room is None else min(total, next_start + room)
        if self.exhausted:
            self._next, self._end = next_start, end
        else:
            self._end = max(self._end, end)

    def stop(self) -> None:
        """Plan nothing more (the list ended before the ``total`` it reported)."""
        self._end = self._next

    def take(self) -> range | None:
        """The next batch of offsets, or None when the plan is exhausted."""
        if self.exhausted:
            return None
        lo = self._next
        self._next = min(lo + self.per_batch * PAGE_SIZE, self._end)
        return range(lo, self._next, PAGE_SIZE)


def split_filter_key(key: str) -> tuple[str, str]:
    """``">=ID"`` -> ``(">=", "ID")``: the operator prefix and the field name."""
    field = key.lstrip(_OPERATOR_CHARS)
    return key[: len(key) - len(field)], field


@attrs.frozen
class ListParams:
    """The caller's list parameters with ``filter``/``select``/``order`` under one casing each."""

    filter: Mapping[str, Any]
    select: tuple[str, ...] | None
    order: Mapping[str, str] | None
    extra: Mapping[str, Any]  # any other parameter, passed through unchanged
    keys: Mapping[str, str]  # lower-case name -> the spelling to send (the caller's, else upper case)

    def build(
        self, *, filter: Mapping[str, Any], order: Mapping[str, str] | None, start: int
    ) -> dict[str, Any]:
        """The parameters of one page request."""
        out: dict[str, Any] = dict(self.extra)
        if filter:
            out[self.keys["filter"]] = dict(filter)
        if self.select is not None:
            out[self.keys["select"]] = list(self.select)
        if order:
            out[self.keys["order"]] = dict(order)
        out[self.keys["start"]] = start
        return out


def normalize_list_params(params: Mapping[str, Any] | None, *, id_key: str = "ID") -> ListParams:
    """Validate a caller's list parameters; one spelling per name, ``id_key`` always selected."""
    found: dict[str, str] = {}
    values: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in (params or {}).items():
        if not isinstance(key, str):
            raise ClientValidationError(f"parameter names must be strings, not {type(key).__name__}")
        low = key.lower()
        if low in found or (low not in _RESERVED and any(k.lower() == low for k in extra)):
            raise ClientValidationError(
                f"parameter {key!r} is given twice in different casings; the portal would silently drop one",
            )
        if low == "start":
            raise ClientValidationError("'start' is set by the paginator; use limit= instead")
        if low in _RESERVED:
            found[low] = key
            values[low] = value
        else:
            extra[key] = value
    keys = {name: found.get(name, name.upper() if name != "start" else "start") for name in _RESERVED}
    return ListParams(
        filter=_mapping(values.get("filter"), "filter"),
        select=_select(values.get("select"), id_key),
        order=_order(values.get("order")),
        extra=extra,
        keys=keys,
    )


def _mapping(value: Any, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ClientValidationError(f"{name} must be a mapping, not {type(value).__name__}")
    for key in value:
        if not isinstance(key, str) or not split_filter_key(key)[1]:
            raise ClientValidationError(f"{name} key {key!r} names no field")
    return dict(value)


def _select(value: Any, id_key: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise ClientValidationError("select must be a list of field names")
    fields = tuple(value)
    if fields and "*" not in fields and id_key.lower() not in (f.lower() for f in fields):
        fields = (id_key, *fields)  # rows must carry their ID: dedupe and keyset read it
    return fields


def _order(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    order = _mapping(value, "order")
    for field, direction in order.items():
        if not isinstance(direction, str) or direction.upper() not in ("ASC", "DESC"):
            raise ClientValidationError(f"order of {field!r} must be 'ASC' or 'DESC'")
    return order or None


def _orders_by_id_asc(order: Mapping[str, str] | None, id_key: str) -> bool:
    if not order:
        return True
    (field, direction), *rest = order.items()
    return not rest and field.upper() == id_key.upper() and direction.upper() == "ASC"


def stable_order(params: ListParams, id_key: str) -> dict[str, str]:
    """The caller's order, or ``ID ASC`` when none was given (an immutable sort key)."""
    return dict(params.order) if params.order else {id_key: "ASC"}


def numeric_ids(method: str, numeric_id: bool | None = None) -> bool:
    """Whether ``method``'s rows have numeric IDs: as given, else as the registry says (tasks, templates)."""
    return method_info(method).paging is Paging.OFFSET_OR_KEYSET if numeric_id is None else numeric_id


def choose_strategy(
    method: str,
    requested: Strategy | str = Strategy.AUTO,
    *,
    params: ListParams,
    id_key: str = "ID",
    numeric_id: bool | None = None,
) -> Strategy:
    """Pick the walk for ``method``; an explicit choice that cannot work raises before any request."""
    try:
        wanted = Strategy(requested)
    except ValueError:
        names = ", ".join(s.value for s in Strategy)
        raise ClientValidationError(f"unknown paging strategy {requested!r} (one of {names})") from None
    paging = method_info(method).paging
    numeric = numeric_ids(method, numeric_id)
    if wanted is Strategy.KEYSET:
        if paging is Paging.OFFSET or not numeric:
            raise ClientValidationError(
                f"keyset paging needs numeric IDs and start=-1, which {method} does not offer",
            )
        if not _orders_by_id_asc(params.order, id_key):
            raise ClientValidationError(f"keyset paging orders by {id_key} ASC; drop the custom order")
        return wanted
    if wanted is not Strategy.AUTO:
        return wanted
    if paging is Paging.OFFSET_OR_KEYSET and numeric and _orders_by_id_asc(params.order, id_key):
        return Strategy.KEYSET
    if paging in (Paging.OFFSET, Paging.OFFSET_OR_KEYSET):
        return Strategy.PARALLEL
    return Strategy.SEQUENTIAL


def offset_params(params: ListParams, start: int, *, id_key: str = "ID") -> dict[str, Any]:
    """Parameters of the offset page at ``start``, with the caller's filter and a stable order."""
    return params.build(filter=params.filter, order=stable_order(params, id_key), start=start)


def keyset_params(params: ListParams, after: Any, *, id_key: str = "ID") -> dict[str, Any]:
    """Parameters of the keyset page after ID ``after`` (``None``: the first page), ``start=-1``.

    ``after`` may be a batch reference (anything with ``__bitrix_wire__``). A caller's own lower bound on
    the ID stays on the first page and is replaced by ``>ID`` afterwards (the walk only moves up).
    """
    filt = dict(params.filter)
    if after is not None:
        for key in list(filt):
            op, field = split_filter_key(key)
            if field.upper() == id_key.upper() and op in (">", ">="):
                del filt[key]
        filt[">" + id_key] = after
    return params.build(filter=filt, order={id_key: "ASC"}, start=-1)


def id_value(row: Any, id_key: str, *, numeric: bool) -> Any:
    """A row's ID, as an ``int`` when IDs are numeric (the portal may send ``"17"``), else unchanged.

    An ID must be a string or a whole number; anything else is a :class:`MalformedResponseError`.
    """
    if not isinstance(row, Mapping):
        raise ValidationError(f"list rows must be objects with {id_key!r}, got {type(row).__name__}", code="")
    value = row.get(id_key)
    if value is None:
        for key, candidate in row.items():
            if isinstance(key, str) and key.upper() == id_key.upper():
                value = candidate
                break
        else:
            raise ValidationError(f"a list row carries no {id_key!r}; select it", code="")
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise MalformedResponseError(
            f"a list row's {id_key} is a {type(value).__name__}, not a string or number"
        )
    if not numeric:
        return value
    try:
        return int(value)
    except ValueError:
        raise ValidationError(
            f"{id_key} {excerpt(value)!r} is not numeric; pass numeric_id=False", code=""
        ) from None


DEDUPE_WINDOW = 10_000
"""How many of the latest IDs an ``ID ASC`` walk remembers to drop repeats (see :class:`SeenIds`)."""


@attrs.define
class SeenIds:
    """Which IDs a walk has yielded; a repeat is dropped, nothing else ever is.

    IDs are never compared with each other, only looked up, so the portal's collation (MySQL's
    case-insensitive one, numbers stored as text) cannot make a row vanish. Walks ordered by ``ID ASC``
    remember the latest :data:`DEDUPE_WINDOW` IDs: a row repeated by an offset shift is one of the rows
    yielded just before (rows created behind the walk move later ones by that many). Walks in another order
    (rows may move anywhere) remember every ID.
    """

    window: int | None
    _seen: set[Any] = attrs.field(factory=set)
    _latest: deque[Any] = attrs.field(factory=deque)

    @classmethod
    def for_order(cls, order: Mapping[str, str], id_key: str) -> SeenIds:
        """The bookkeeping that fits rows sorted by ``order``."""
        return cls(window=DEDUPE_WINDOW if _orders_by_id_asc(order, id_key) else None)

    def remembered(self) -> int:
        """How many IDs are remembered now."""
        return len(self._seen)

    def all_new(self, ids: list[Any]) -> bool:
        """Record ``ids`` and return True if none was yielded before and none repeats; else record nothing.

        The fast way for the common page (every row new): set operations instead of a lookup per row.
        """
        too_many = self.window is not None and len(ids) > self.window
        if too_many or not self._seen.isdisjoint(ids) or len(set(ids)) != len(ids):
            return False
        self._seen.update(ids)
        if self.window is not None:
            self._latest.extend(ids)
            while len(self._latest) > self.window:
                self._seen.discard(self._latest.popleft())
        return True

    def first_time(self, row_id: Any) -> bool:
        """Record ``row_id``; False if it was yielded before (within the window)."""
        if row_id in self._seen:
            return False
        self._seen.add(row_id)
        if self.window is not None:
            self._latest.append(row_id)
            if len(self._latest) > self.window:
                self._seen.discard(self._latest.popleft())
        return True
