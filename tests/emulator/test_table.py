"""The cached, incrementally maintained table views agree with a plain filter-and-sort after any edits."""

from __future__ import annotations

from operator import attrgetter
from typing import Any

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from bitrix_bizproc.emulator.table import NO_MATCH, Condition, Query, Table


@attrs.define(eq=False)
class Row:
    id: int
    group: int
    score: int | None


def _naive(rows: list[Row], query: Query) -> list[Row]:
    kept = [r for r in rows if all(c.compile()(r) for c in query.conditions)]
    kept.sort(key=attrgetter("id"))
    for attr, desc in reversed(query.order):
        get = attrgetter(attr)
        kept.sort(key=lambda r: (get(r) is not None, get(r)), reverse=desc)
    return kept


_conditions = st.lists(
    st.builds(
        Condition,
        st.sampled_from(["id", "group", "score"]),
        st.sampled_from(["=", "!=", "<", "<=", ">", ">="]),
        st.one_of(
            st.integers(0, 30), st.none(), st.just(NO_MATCH), st.tuples(st.integers(0, 5), st.integers(0, 5))
        ),
    ).filter(lambda c: not isinstance(c.value, tuple) or c.op in ("=", "!=")),
    max_size=2,
).map(tuple)
_orders = st.lists(
    st.tuples(st.sampled_from(["id", "group", "score"]), st.booleans()), max_size=2, unique_by=lambda o: o[0]
).map(tuple)
_ops = st.lists(
    st.one_of(
        st.tuples(
            st.just("add"), st.integers(0, 30), st.integers(0, 5), st.one_of(st.none(), st.integers(0, 9))
        ),
        st.tuples(st.just("remove"), st.integers(0, 30)),
        st.tuples(st.just("update"), st.integers(0, 30), st.integers(0, 5)),
        st.tuples(st.just("page"), st.integers(0, 40)),
    ),
    max_size=25,
)


@settings(max_examples=200, deadline=None)
@given(queries=st.lists(st.builds(Query, _conditions, _orders), min_size=1, max_size=3), ops=_ops)
def test_pages_match_a_naive_evaluation(queries: list[Query], ops: list[tuple[Any, ...]]) -> None:
    table: Table[int, Row] = Table(max_views=2)
    for i in range(20):
        table.add(Row(i, i % 4, None if i % 5 == 0 else i % 7))
    for step, op in enumerate(ops):
        query = queries[step % len(queries)]
        if op[0] == "add":
            table.add(Row(op[1], op[2], op[3]))
        elif op[0] == "remove":
            table.remove(op[1])
        elif op[0] == "update":
            table.update(op[1], group=op[2])
        expected = _naive(list(table), query)
        offset = op[1] if op[0] == "page" else 0
        page = table.page(query, offset, 7)
        assert [r.id for r in page.rows] == [r.id for r in expected[offset : offset + 7]]
        assert page.total == len(expected)


def test_key_ranges_bisect_in_both_directions() -> None:
    table: Table[int, Row] = Table()
    table.add_many(Row(i, 0, i) for i in range(1, 101))
    up = Query((Condition("id", ">", 90),), (("id", False),))
    down = Query((Condition("id", "<=", 10), Condition("id", ">=", 5)), (("id", True),))
    assert [r.id for r in table.page(up, 0, 50).rows] == list(range(91, 101))
    assert [r.id for r in table.page(down, 0, 50).rows] == [10, 9, 8, 7, 6, 5]
    assert table.page(down, 0, 50, count=False).total is None
