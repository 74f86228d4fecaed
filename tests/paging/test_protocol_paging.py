"""Pure paging arithmetic, parameter plans and strategy choice."""

from __future__ import annotations

from typing import Any

import pytest

from bitrix_bizproc.protocol import paging as pg
from bitrix_bizproc.protocol.batch import Ref
from bitrix_bizproc.protocol.errors import ValidationError


@pytest.mark.parametrize(("page", "start"), [(0, 0), (1, 50), (2, 100), (39, 1950)])
def test_page_start(page: int, start: int) -> None:
    assert pg.page_start(page) == start


@pytest.mark.parametrize(("rows", "pages"), [(0, 0), (1, 1), (50, 1), (51, 2), (2500, 50), (2501, 51)])
def test_pages_needed(rows: int, pages: int) -> None:
    assert pg.pages_needed(rows) == pages


@pytest.mark.parametrize(
    ("total", "limit", "expected"),
    [
        (0, None, []),
        (50, None, []),
        (51, None, [[50]]),
        (100, None, [[50]]),
        (101, None, [[50, 100]]),
        (2550, None, [list(range(50, 2550, 50))]),
        (2551, None, [list(range(50, 2550, 50)), [2550]]),
        (10_000, 120, [[50, 100]]),
    ],
)
def test_batch_starts(total: int, limit: int | None, expected: list[list[int]]) -> None:
    assert [list(r) for r in pg.batch_starts(total, limit=limit)] == expected


def test_batch_starts_groups_of_fifty_cover_every_offset_once() -> None:
    groups = [list(r) for r in pg.batch_starts(100_000)]
    assert all(len(g) <= 50 for g in groups)
    assert [s for g in groups for s in g] == list(range(50, 100_000, 50))


@pytest.mark.parametrize(("key", "split"), [("ID", ("", "ID")), (">=ID", (">=", "ID")), ("!=x", ("!=", "x"))])
def test_split_filter_key(key: str, split: tuple[str, str]) -> None:
    assert pg.split_filter_key(key) == split


def test_normalize_keeps_the_callers_casing_and_adds_id_to_select() -> None:
    p = pg.normalize_list_params({"filter": {"<STARTED": "2024"}, "SELECT": ["STARTED"], "other": 1})
    built = pg.offset_params(p, 100)
    assert built == {"other": 1, "filter": {"<STARTED": "2024"}, "SELECT": ["ID", "STARTED"],
                     "ORDER": {"ID": "ASC"}, "start": 100}  # fmt: skip


def test_select_id_in_any_case_is_not_added_again() -> None:
    assert pg.normalize_list_params({"select": ["id", "NAME"]}).select == ("id", "NAME")


@pytest.mark.parametrize(
    "params",
    [
        {"filter": {}, "FILTER": {}},
        {"Select": ["ID"], "select": ["ID"]},
        {"start": 50},
        {"filter": ["ID"]},
        {"select": "ID"},
        {"order": {"ID": "UP"}},
        {"filter": {">": 1}},
        {"foo": 1, "FOO": 2},
    ],
)
def test_bad_params_are_refused(params: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        pg.normalize_list_params(params)


@pytest.mark.parametrize(
    ("method", "params", "requested", "expected"),
    [
        ("bizproc.workflow.instances", {}, "auto", pg.Strategy.PARALLEL),
        ("bizproc.workflow.instance.list", {}, "auto", pg.Strategy.PARALLEL),
        ("bizproc.task.list", {}, "auto", pg.Strategy.KEYSET),
        ("bizproc.workflow.template.list", {"order": {"id": "asc"}}, "auto", pg.Strategy.KEYSET),
        ("bizproc.task.list", {"order": {"ID": "DESC"}}, "auto", pg.Strategy.PARALLEL),
        ("some.other.list", {}, "auto", pg.Strategy.SEQUENTIAL),
        ("bizproc.workflow.instances", {}, "sequential", pg.Strategy.SEQUENTIAL),
        ("bizproc.task.list", {}, pg.Strategy.PARALLEL, pg.Strategy.PARALLEL),
    ],
)
def test_choose_strategy(method: str, params: dict[str, Any], requested: str, expected: pg.Strategy) -> None:
    assert pg.choose_strategy(method, requested, params=pg.normalize_list_params(params)) is expected


@pytest.mark.parametrize(
    ("method", "params", "numeric"),
    [
        ("bizproc.workflow.instances", {}, None),  # string IDs, no start=-1
        ("bizproc.workflow.instances", {}, True),  # no start=-1 whatever the IDs
        ("bizproc.task.list", {"order": {"ID": "DESC"}}, None),
        ("bizproc.task.list", {}, False),
        ("some.other.list", {}, None),
    ],
)
def test_keyset_refused_where_it_cannot_work(
    method: str, params: dict[str, Any], numeric: bool | None
) -> None:
    with pytest.raises(ValidationError):
        pg.choose_strategy(method, "keyset", params=pg.normalize_list_params(params), numeric_id=numeric)


def test_unknown_strategy_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown paging strategy"):
        pg.choose_strategy("bizproc.task.list", "fast", params=pg.normalize_list_params(None))


def test_keyset_params_first_page_keeps_the_callers_lower_bound() -> None:
    p = pg.normalize_list_params({"FILTER": {">=id": 10, "USER_ID": 5}})
    assert pg.keyset_params(p, None) == {
        "FILTER": {">=id": 10, "USER_ID": 5},
        "ORDER": {"ID": "ASC"},
        "start": -1,
    }


def test_keyset_params_later_pages_replace_the_lower_bound_with_the_last_id() -> None:
    p = pg.normalize_list_params({"FILTER": {">=id": 10, "<ID": 900, "USER_ID": 5}})
    built = pg.keyset_params(p, 120)
    assert built["FILTER"] == {"<ID": 900, "USER_ID": 5, ">ID": 120}
    assert built["start"] == -1


def test_keyset_params_take_a_batch_reference() -> None:
    ref = Ref("k0")[49]["ID"]
    built = pg.keyset_params(pg.normalize_list_params(None), ref)
    assert built["FILTER"] == {">ID": ref}


def test_id_value() -> None:
    assert pg.id_value({"ID": "17"}, "ID", numeric=True) == 17
    assert pg.id_value({"id": "a.1"}, "ID", numeric=False) == "a.1"
    with pytest.raises(ValidationError, match="select it"):
        pg.id_value({"NAME": "x"}, "ID", numeric=False)


def test_seen_ids_ascending_drops_repeats_in_a_bounded_window() -> None:
    seen = pg.SeenIds.for_order({"ID": "ASC"}, "ID")
    assert [seen.first_time(i) for i in [1, 2, 2, 1, 3]] == [True, True, False, False, True]
    assert seen.window == pg.DEDUPE_WINDOW


def test_seen_ids_other_orders_use_a_set() -> None:
    seen = pg.SeenIds.for_order({"MODIFIED": "DESC"}, "ID")
    assert [seen.first_time(i) for i in ["b", "a", "b", "c", "a"]] == [True, True, False, True, False]


def test_seen_ids_keep_rows_when_the_portal_orders_differently() -> None:
    seen = pg.SeenIds.for_order({"ID": "ASC"}, "ID")
    assert [seen.first_time(i) for i in ["b", "a", "a"]] == [True, True, False]


def test_offset_plan_caps_at_limit_and_extends_when_the_list_grows() -> None:
    plan = pg.OffsetPlan(limit=None, per_batch=2)
    plan.extend(50, 260, rows=50)
    assert [list(b) for b in iter(plan.take, None)] == [[50, 100], [150, 200], [250]]
    assert plan.exhausted
    plan.extend(300, 330, rows=300)  # rows added while walking: the last page says so
    assert [list(b) for b in iter(plan.take, None)] == [[300]]
    capped = pg.OffsetPlan(limit=120)
    capped.extend(50, 10_000, rows=50)
    assert [list(b) for b in iter(capped.take, None)] == [[50, 100]]
    capped.extend(150, 10_000, rows=150)
    assert capped.exhausted
