"""Paging dedupe must not depend on Python's order of IDs matching the portal's (issue 13, item 6).

The portal sorts ``ORDER ID ASC`` by its own collation (MySQL's default is case-insensitive, and string IDs
that look like numbers sort as text); a dedupe that compares IDs with Python's ``<`` dropped ``C1`` and
``D1`` after ``[a1, b1]``. Each case is a walk's pages (as the portal sent them) and the rows it must yield.
"""

from __future__ import annotations

from typing import Any

import pytest

from bitrix_bizproc.protocol import paging as pg
from bitrix_bizproc.protocol.errors import BitrixError

ID_ASC = {"ID": "ASC"}

CASES: list[tuple[str, list[list[Any]], list[Any]]] = [
    ("case-insensitive collation", [["a1", "b1"], ["C1", "D1"]], ["a1", "b1", "C1", "D1"]),
    ("upper and lower case are different IDs", [["a1", "b1"], ["B1", "c1"]], ["a1", "b1", "B1", "c1"]),
    ("numeric-looking strings sorted as text", [["1", "10"], ["2", "20"]], ["1", "10", "2", "20"]),
    ("numbers sorted as text by a VARCHAR column", [[1, 10], [2, 20]], [1, 10, 2, 20]),
    ("uniqid IDs with an accented collation", [["é1", "f1"], ["E2", "g1"]], ["é1", "f1", "E2", "g1"]),
    ("a repeat after a shift is dropped", [["a", "b"], ["b", "c"]], ["a", "b", "c"]),
    ("a repeat of a numeric ID is dropped", [[1, 2], [2, 3]], [1, 2, 3]),
    ("a repeat within one page is dropped", [["x", "x", "y"]], ["x", "y"]),
    ("mixed-type IDs do not compare", [[1, "a"], ["b", 2]], [1, "a", "b", 2]),
    ("an int and its string are different IDs", [[1], ["1"]], [1, "1"]),
    ("a row moved behind the walk is yielded", [[5, 6], [3, 7]], [5, 6, 3, 7]),
]


def walk(seen: pg.SeenIds, pages: list[list[Any]]) -> list[Any]:
    out: list[Any] = []
    for page in pages:
        out.extend(i for i in page if seen.first_time(i))
    return out


@pytest.mark.parametrize(("pages", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
@pytest.mark.parametrize("order", [ID_ASC, {"id": "asc"}, {"DATE_CREATE": "DESC"}])
def test_dedupe_never_drops_a_row_whatever_the_collation(
    pages: list[list[Any]], expected: list[Any], order: dict[str, str]
) -> None:
    assert walk(pg.SeenIds.for_order(order, "ID"), pages) == expected


def test_the_id_asc_window_bounds_memory_and_still_drops_recent_repeats() -> None:
    seen = pg.SeenIds.for_order(ID_ASC, "ID")
    n = 3 * pg.DEDUPE_WINDOW
    assert all(seen.first_time(f"id{i}") for i in range(n))
    assert seen.remembered() == pg.DEDUPE_WINDOW
    assert not seen.first_time(f"id{n - 1}")  # a repeat after a shift: the last rows of the previous page


@pytest.mark.parametrize(
    "row",
    [
        {"ID": {"nested": 1}},
        {"ID": [1, 2]},
        {"ID": True},
        {"ID": 1.5},
        {"ID": float("inf")},
        {"ID": float("nan")},
    ],
)
@pytest.mark.parametrize("numeric", [True, False])
def test_an_id_that_is_not_a_string_or_whole_number_is_a_typed_error(
    row: dict[str, Any], numeric: bool
) -> None:
    with pytest.raises(BitrixError, match="ID"):
        pg.id_value(row, "ID", numeric=numeric)


@pytest.mark.parametrize(
    ("raw", "numeric", "expected"), [("17", True, 17), (17, False, 17), ("a.1", False, "a.1")]
)
def test_ids_that_are_fine(raw: Any, numeric: bool, expected: Any) -> None:
    assert pg.id_value({"ID": raw}, "ID", numeric=numeric) == expected
