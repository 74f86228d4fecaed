"""Fuzz paging: row IDs, dedupe, offset plans, and a whole walk over fuzzed answers."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bitrix_bizproc._paging import Paginator
from bitrix_bizproc.protocol import paging as pg
from bitrix_bizproc.protocol.envelope import MAX_ROWS, ApiResponse, parse_response

from ._support import FUZZ, bodies, check_error, count, json_values, numberish

ids = st.one_of(numberish, st.text(max_size=8), json_values)
rows = st.one_of(st.fixed_dictionaries({"ID": ids}), st.fixed_dictionaries({"id": ids}), json_values)


@FUZZ
@given(pages=st.lists(st.lists(rows, max_size=6), max_size=4), numeric=st.booleans(),
       order=st.sampled_from([{"ID": "ASC"}, {"DATE": "DESC"}]))  # fmt: skip
def test_ids_and_dedupe(pages: list[list[Any]], numeric: bool, order: dict[str, str]) -> None:
    count("paging.id_value+SeenIds")
    seen = pg.SeenIds.for_order(order, "ID")
    yielded: list[Any] = []
    for page in pages:
        for row in page:
            try:
                row_id = pg.id_value(row, "ID", numeric=numeric)
            except Exception as exc:
                check_error(exc)
                continue
            assert isinstance(row_id, str | int) and not isinstance(row_id, bool)
            if seen.first_time(row_id):
                yielded.append(row_id)
    assert len(yielded) == len(set(yielded))  # no ID twice; and every distinct ID once:
    assert set(yielded) == {i for i in yielded}


@FUZZ
@given(
    next_start=st.one_of(st.none(), st.integers(0, MAX_ROWS)),
    total=st.one_of(st.none(), st.integers(0, MAX_ROWS)),
    limit=st.one_of(st.none(), st.integers(0, MAX_ROWS)),
    rows_so_far=st.integers(0, MAX_ROWS),
    per_batch=st.integers(1, pg.MAX_BATCH_COMMANDS),
)
def test_offset_plans_are_lazy_and_bounded(
    next_start: int | None, total: int | None, limit: int | None, rows_so_far: int, per_batch: int
) -> None:
    count("paging.OffsetPlan")
    plan = pg.OffsetPlan(limit, per_batch)
    plan.extend(next_start, total, rows_so_far)
    for _ in range(3):
        batch = plan.take()
        if batch is None:
            assert plan.exhausted
            break
        assert 0 < len(batch) <= per_batch
        assert total is not None and batch.start < total


class FuzzedSession:
    """A portal that answers each request with the next fuzzed body, then with an empty list."""

    def __init__(self, answers: list[tuple[int, bytes]]) -> None:
        self.answers = answers
        self.requests = 0

    async def call(
        self, method: str, params: Mapping[str, Any] | None = None, *, idempotent: bool | None = None
    ) -> ApiResponse:
        self.requests += 1
        status, body = self.answers.pop(0) if self.answers else (200, b'{"result": []}')
        return parse_response(status, body, method=method)


class Client:
    def __init__(self, session: FuzzedSession) -> None:
        self.session = session


page_bodies = st.one_of(
    bodies(
        st.fixed_dictionaries(
            {"result": st.lists(rows, max_size=4)}, optional={"total": numberish, "next": numberish}
        )
    ),
)


@FUZZ
@given(
    answers=st.lists(st.tuples(st.sampled_from([200, 200, 200, 500]), page_bodies), max_size=5),
    how=st.sampled_from(["sequential", "drain", "snapshot"]),
)
def test_a_walk_over_fuzzed_answers_ends_typed_and_bounded(
    answers: list[tuple[int, bytes]], how: str
) -> None:
    count("paging.Paginator")
    session = FuzzedSession(list(answers))
    paginator: Paginator[Any] = Paginator(
        Client(session), "bizproc.workflow.instances", strategy="sequential", numeric_id=False
    )

    async def walk() -> None:
        if how == "sequential":
            await paginator.collect()
        elif how == "drain":
            async for _ in paginator.drain():
                pass
        else:
            await paginator.snapshot_ids()

    try:
        asyncio.run(walk())
    except Exception as exc:
        check_error(exc)
    assert session.requests <= len(answers) + 2  # the walk ends once the portal's list does
