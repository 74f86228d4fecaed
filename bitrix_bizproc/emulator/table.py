"""An in-memory table whose filtered, sorted views are cached and kept current as rows come and go.

Paging 100,000 rows in pages of 50 must not re-filter and re-sort every row on every call: a view is
built once per (filter, order) and then maintained. Removing a row costs O(log n) per cached view;
adding or changing a row drops only the views it would appear in. Range conditions on the key
(``>ID``, the keyset-paging recipe) are answered by bisecting a view ordered by that key.
"""

from __future__ import annotations

import bisect
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from operator import attrgetter
from typing import Any, Generic, TypeVar

import attrs

__all__ = ["NO_MATCH", "Condition", "Page", "Query", "Table"]

R = TypeVar("R")
K = TypeVar("K")

NO_MATCH: Any = type("NoMatch", (), {"__repr__": lambda self: "NO_MATCH"})()
"""A filter value that could not be read as the field's type: it equals nothing."""

_RANGE_OPS = frozenset({"=", "<", "<=", ">", ">="})


@attrs.frozen
class Condition:
    """One filter term: ``attr op value``; a tuple value means IN (``=``) or NOT IN (``!=``)."""

    attr: str
    op: str  # = != < <= > >=, ~ / !~ (value: a regular expression, case-insensitive), has (a list attr shares
    # a member with the value, a tuple or one value)
    value: Any

    def compile(self) -> Callable[[Any], bool]:
        """A predicate on rows (SQL-like: NULL only equals NULL, never orders)."""
        get, op, value = attrgetter(self.attr), self.op, self.value
        if value is NO_MATCH:
            return (lambda row: True) if op in ("!=", "!~") else (lambda row: False)
        if op == "has":
            wanted_members = frozenset(value) if isinstance(value, tuple) else frozenset((value,))
            return lambda row: not wanted_members.isdisjoint(get(row) or ())
        if op in ("~", "!~"):
            pattern = re.compile(str(value), re.IGNORECASE | re.DOTALL)
            wanted = op == "~"
            return lambda row: (pattern.search(str(get(row) or "")) is not None) == wanted
        if isinstance(value, tuple):
            members = frozenset(value)
            if op == "!=":
                return lambda row: get(row) not in members
            return lambda row: get(row) in members
        if op == "=":
            return lambda row: get(row) == value
        if op == "!=":
            return lambda row: get(row) != value
        if value is None:
            return lambda row: False
        compare: Callable[[Any, Any], bool] = {
            "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b,
            ">": lambda a, b: a > b,
            ">=": lambda a, b: a >= b,
        }[op]

        def ordered(row: Any) -> bool:
            current = get(row)
            return current is not None and compare(current, value)

        return ordered


@attrs.frozen
class Query:
    """Conditions (all must hold) and an order: ``(attr, descending)`` pairs; ties break on the key."""

    conditions: tuple[Condition, ...] = ()
    order: tuple[tuple[str, bool], ...] = ()


@attrs.frozen
class Page(Generic[R]):
    """One page of rows and, unless counting was off, the total matching the query."""

    rows: list[R]
    total: int | None


def _sort_key(attr: str) -> Callable[[Any], Any]:
    get = attrgetter(attr)

    def key(row: Any) -> Any:
        value = get(row)
        return (value is not None, value)

    return key


class _View(Generic[R]):
    """The rows matching one query's conditions, in its order, with each row's rank for O(log n) removal."""

    def __init__(self, rows: list[R], matches: Callable[[R], bool], key_attr: str) -> None:
        self.rows = rows
        self.matches = matches
        get = attrgetter(key_attr)
        self.rank: dict[Any, int] = {get(row): i for i, row in enumerate(rows)}
        self._key = get

    def discard(self, key: Any) -> None:
        rank = self.rank.pop(key, None)
        if rank is None:
            return
        ranks, get = self.rank, self._key
        i = bisect.bisect_left(self.rows, rank, key=lambda row: ranks.get(get(row), rank))
        while i < len(self.rows) and get(self.rows[i]) != key:
            i += 1
        if i < len(self.rows):
            del self.rows[i]


class _Reversed(Sequence[Any]):
    """A reversed read-only window on a list, for bisecting a descending view."""

    def __init__(self, rows: list[Any]) -> None:
        self._rows = rows

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, i: Any) -> Any:
        return self._rows[len(self._rows) - 1 - i]


class Table(Generic[K, R]):
    """Rows by key, plus a small LRU of cached query views."""

    def __init__(self, key_attr: str = "id", *, max_views: int = 16) -> None:
        self.key_attr = key_attr
        self._key = attrgetter(key_attr)
        self._rows: dict[K, R] = {}
        self._views: OrderedDict[tuple[Any, ...], _View[R]] = OrderedDict()
        self._max_views = max_views

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[R]:
        return iter(list(self._rows.values()))

    def __contains__(self, key: object) -> bool:
        return key in self._rows

    def get(self, key: K) -> R | None:
        """The row with this key, if any."""
        return self._rows.get(key)

    def add(self, row: R) -> None:
        """Insert or replace a row; views it would belong to are dropped."""
        key = self._key(row)
        if key in self._rows:
            self.remove(key)
        self._rows[key] = row
        self._drop_views_matching(row)

    def add_many(self, rows: Iterable[R]) -> None:
        """Insert many rows at once (drops every cached view)."""
        for row in rows:
            self._rows[self._key(row)] = row
        self._views.clear()

    def remove(self, key: K) -> R | None:
        """Delete a row; cached views shrink in place."""
        row = self._rows.pop(key, None)
        if row is not None:
            for view in self._views.values():
                view.discard(key)
        return row

    def update(self, key: K, **changes: Any) -> R | None:
        """Change fields of a row, keeping the cached views consistent."""
        row = self._rows.get(key)
        if row is None:
            return None
        for view in self._views.values():
            view.discard(key)
        for name, value in changes.items():
            setattr(row, name, value)
        self._drop_views_matching(row)
        return row

    def page(self, query: Query, offset: int, limit: int, *, count: bool = True) -> Page[R]:
        """Rows ``offset .. offset+limit`` of the query and (if ``count``) how many match in all."""
        base, bounds = self._split(query)
        rows = self._view(base).rows
        lo, hi = 0, len(rows)
        if bounds:
            lo, hi = self._bounds(rows, bounds, descending=query.order[0][1])
        start = lo + max(offset, 0)
        return Page(rows=rows[start : min(start + limit, hi)], total=(hi - lo) if count else None)

    def _split(self, query: Query) -> tuple[Query, tuple[Condition, ...]]:
        if not query.order or query.order[0][0] != self.key_attr:
            return query, ()
        bounds = tuple(
            c
            for c in query.conditions
            if c.attr == self.key_attr
            and c.op in _RANGE_OPS
            and c.value is not NO_MATCH
            and not isinstance(c.value, tuple)
            and c.value is not None
        )
        rest = tuple(c for c in query.conditions if c not in bounds)
        return Query(rest, query.order), bounds

    def _bounds(self, rows: list[R], bounds: tuple[Condition, ...], *, descending: bool) -> tuple[int, int]:
        seq: Sequence[Any] = _Reversed(rows) if descending else rows
        lo, hi = 0, len(rows)
        for cond in bounds:
            left = bisect.bisect_left(seq, cond.value, key=self._key)
            right = bisect.bisect_right(seq, cond.value, key=self._key)
            if cond.op in ("=", ">=", ">"):
                lo = max(lo, left if cond.op != ">" else right)
            if cond.op in ("=", "<=", "<"):
                hi = min(hi, right if cond.op != "<" else left)
        hi = max(lo, hi)
        if descending:
            return len(rows) - hi, len(rows) - lo
        return lo, hi

    def _view(self, query: Query) -> _View[R]:
        cache_key = (query.conditions, query.order)
        view = self._views.get(cache_key)
        if view is not None:
            self._views.move_to_end(cache_key)
            return view
        predicates = [c.compile() for c in query.conditions]

        def matches(row: R) -> bool:
            return all(p(row) for p in predicates)

        rows = (
            sorted(self._rows.values(), key=self._key)
            if not predicates
            else sorted((row for row in self._rows.values() if matches(row)), key=self._key)
        )
        for attr, descending in reversed(query.order):
            rows.sort(key=_sort_key(attr), reverse=descending)
        view = _View(rows, matches, self.key_attr)
        self._views[cache_key] = view
        if len(self._views) > self._max_views:
            self._views.popitem(last=False)
        return view

    def _drop_views_matching(self, row: R) -> None:
        stale = [k for k, view in self._views.items() if view.matches(row)]
        for k in stale:
            del self._views[k]
