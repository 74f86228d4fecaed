"""Paginator walks: exact row sets per strategy and method, limits, cancellation, filters, change."""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import Any

import attrs
import pytest

from bitrix_bizproc._paging import Paginator
from bitrix_bizproc.models import Page
from bitrix_bizproc.protocol.errors import ValidationError

from .fake import FakeClient, FakeSession, instances, numbered
from .walks import INSTANCES, TASKS, TEMPLATES, WALKS


def portal(n: int) -> FakeSession:
    return FakeSession(
        {INSTANCES: instances(n), TEMPLATES: numbered(n), TASKS: numbered(n), "some.other.list": numbered(n)}
    )


def ids(rows: list[Any]) -> list[str]:
    return [r["ID"] for r in rows]


def expected_ids(session: FakeSession, method: str) -> list[str]:
    rows = sorted(session.tables[method], key=lambda r: r["ID"])
    return [str(r["ID"]) for r in rows]


@pytest.mark.parametrize(("method", "strategy"), WALKS)
@pytest.mark.parametrize("n", [0, 1, 49, 50, 51, 100, 2_551])
async def test_exact_rows(method: str, strategy: str, n: int) -> None:
    session = portal(n)
    rows = await Paginator(FakeClient(session), method, strategy=strategy).collect()
    assert ids(rows) == expected_ids(session, method)


@pytest.mark.parametrize(("n", "requests"), [(0, 1), (50, 1), (51, 2), (2_550, 2), (2_551, 3), (10_000, 5)])
async def test_parallel_sends_fifty_pages_per_batch(n: int, requests: int) -> None:
    session = portal(n)
    await Paginator(FakeClient(session), INSTANCES).collect()
    assert session.requests == requests
    assert session.commands[INSTANCES] == max(1, -(-n // 50))


@pytest.mark.parametrize(
    ("n", "requests"), [(0, 1), (49, 1), (50, 2), (51, 2), (149, 2), (150, 3), (3_000, 6)]
)
async def test_keyset_chains_pages_inside_batches(n: int, requests: int) -> None:
    session = portal(n)
    await Paginator(FakeClient(session), TASKS).collect()
    assert session.requests == requests
    assert all(int(p["START"]) == -1 and p["ORDER"] == {"ID": "ASC"} for p in session.sent)


@pytest.mark.parametrize(("method", "strategy"), WALKS)
async def test_filter_select_and_order_kept_on_every_page(method: str, strategy: str) -> None:
    session = portal(400)
    params: dict[str, Any] = {"filter": {"!N": 7}, "select": ["N"]}
    if strategy != "keyset":
        params["order"] = {"N": "DESC"}
    rows = await Paginator(FakeClient(session), method, params, strategy=strategy).collect()
    assert [int(r["N"]) for r in rows] == sorted((r["N"] for r in session.tables[method] if r["N"] != 7),
                                                  reverse=strategy != "keyset")  # fmt: skip
    assert set(rows[0]) == {"ID", "N"}
    assert len(session.sent) >= 8
    for sent in session.sent:
        assert sent["FILTER"]["!N"] == "7" if "?" in str(sent) else sent["FILTER"]["!N"] in (7, "7")
        assert sent["SELECT"] == ["ID", "N"]


async def test_one_casing_per_parameter_on_the_wire() -> None:
    session = portal(120)
    seen: list[dict[str, Any]] = []
    session.hook = lambda _m, params: seen.append(params)
    await Paginator(FakeClient(session), INSTANCES, {"FILTER": {"<N": 100}}, strategy="sequential").collect()
    assert len(seen) == 2  # the fake upper-cases keys: a second spelling would have been lost silently
    assert all(p["FILTER"] == {"<N": 100} for p in seen)


@pytest.mark.parametrize(("method", "strategy"), WALKS)
@pytest.mark.parametrize("limit", [0, 1, 50, 51, 120])
async def test_limit(method: str, strategy: str, limit: int) -> None:
    session = portal(1_000)
    rows = await Paginator(FakeClient(session), method, strategy=strategy, limit=limit).collect()
    assert ids(rows) == expected_ids(session, method)[:limit]
    assert sum(session.commands.values()) <= -(-limit // 50) + (1 if limit == 0 else 0)


async def test_collect_limit_and_pages() -> None:
    session = portal(130)
    paginator = Paginator(FakeClient(session), TEMPLATES, item=lambda r: int(r["ID"]))
    assert await paginator.collect(limit=3) == [1, 2, 3]
    pages = [p async for p in paginator.pages()]
    assert [len(p.items) for p in pages] == [50, 50, 30]
    assert all(isinstance(p, Page) and p.total is None for p in pages)  # keyset: no COUNT


async def test_offset_pages_are_the_public_page_with_next() -> None:
    session = portal(120)
    pages = [p async for p in Paginator(FakeClient(session), INSTANCES, strategy="sequential").pages()]
    assert all(type(p) is Page for p in pages)
    assert [(len(p), p.total, p.next, p.has_more) for p in pages] == [
        (50, 120, 50, True),
        (50, 120, 100, True),
        (20, 120, None, False),
    ]
    assert [row["ID"] for row in pages[0]][:1] == [pages[0].items[0]["ID"]]


async def test_progress_reports_rows_and_total() -> None:
    session = portal(120)
    calls: list[tuple[int, int | None]] = []
    await Paginator(FakeClient(session), INSTANCES, progress=lambda n, t: calls.append((n, t))).collect()
    assert calls == [(50, 120), (100, 120), (120, 120)]


@pytest.mark.parametrize(("method", "strategy"), WALKS)
async def test_break_stops_further_requests(method: str, strategy: str) -> None:
    session = portal(20_000)
    paginator = Paginator(FakeClient(session), method, strategy=strategy, max_buffered_pages=100)
    stop_at = expected_ids(session, method)[60]
    async for row in paginator:
        if row["ID"] == stop_at:
            break
    gc.collect()
    for _ in range(5):
        await asyncio.sleep(0)
    sent = session.requests
    assert sent <= 3
    await asyncio.sleep(0.01)
    assert session.requests == sent
    assert {t for t in asyncio.all_tasks() if t is not asyncio.current_task()} == set()


async def test_aclose_cancels_batches_in_flight() -> None:
    session = portal(20_000)
    paginator = Paginator(FakeClient(session), INSTANCES, max_buffered_pages=150)
    walk = paginator.pages()
    first = await anext(walk)
    assert len(first.items) == 50
    session.gate = asyncio.Event()  # the batches now hang until released
    consumer = asyncio.create_task(anext(walk))
    for _ in range(5):
        await asyncio.sleep(0)
    assert session.requests == 1 + 3  # three batches of 50 pages in flight, bounded by max_buffered_pages
    consumer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await consumer
    await paginator.aclose()
    assert {t for t in asyncio.all_tasks() if t is not asyncio.current_task()} == set()
    assert session.commands[INSTANCES] == 1


async def test_bad_options_are_refused_before_any_request() -> None:
    session = portal(10)
    kwargs: dict[str, Any]
    for kwargs in ({"limit": -1}, {"max_buffered_pages": 0}, {"strategy": "keyset"}, {"limit": True}):
        with pytest.raises(ValidationError):
            Paginator(FakeClient(session), INSTANCES, **kwargs)
    assert session.requests == 0


async def test_a_bad_collect_limit_is_refused_before_any_request() -> None:
    session = portal(10)
    for limit in (-1, True, 2.5):
        with pytest.raises(ValidationError, match="limit"):
            await Paginator(FakeClient(session), INSTANCES).collect(limit)  # type: ignore[arg-type]
    assert session.requests == 0


# -- correct under change -----------------------------------------------------------------------


@pytest.mark.parametrize(("method", "strategy"), WALKS)
async def test_inserts_during_the_walk_neither_skip_nor_repeat(method: str, strategy: str) -> None:
    session = portal(3_000)
    before = set(expected_ids(session, method))
    table = session.tables[method]
    make = instances if method == INSTANCES else numbered

    def insert(_method: str, _params: dict[str, Any]) -> None:
        table.extend(make(7, first=len(table) + 1))  # new rows get larger IDs, as the portal's do

    session.hook = insert
    got = ids(await Paginator(FakeClient(session), method, strategy=strategy).collect())
    assert len(got) == len(set(got))
    assert before <= set(got)


@pytest.mark.parametrize("strategy", ["sequential", "parallel"])
async def test_offset_walk_in_a_foreign_order_dedupes_shifted_rows(strategy: str) -> None:
    session = portal(1_000)
    table = session.tables[INSTANCES]
    before = set(expected_ids(session, INSTANCES))

    def insert_in_front(_method: str, _params: dict[str, Any]) -> None:
        table.extend({**row, "N": -row["N"] - 1} for row in instances(3, first=len(table) + 1))

    session.hook = insert_in_front
    params = {"order": {"N": "ASC"}}  # new rows sort first and push every page back
    got = ids(await Paginator(FakeClient(session), INSTANCES, params, strategy=strategy).collect())
    assert len(got) == len(set(got))
    assert before <= set(got)


@pytest.mark.parametrize(("method", "strategy"), [(TASKS, "keyset"), (TEMPLATES, "keyset")])
async def test_keyset_never_skips_under_deletions(method: str, strategy: str) -> None:
    session = portal(3_000)
    table = session.tables[method]
    deleted: set[str] = set()

    def delete_behind(_method: str, _params: dict[str, Any]) -> None:
        for row in table[:5]:
            deleted.add(str(row["ID"]))
        del table[:5]

    session.hook = delete_behind
    got = ids(await Paginator(FakeClient(session), method, strategy=strategy).collect())
    survivors = set(expected_ids(session, method))
    assert survivors <= set(got)
    assert len(got) == len(set(got))


async def test_offset_walk_while_terminating_skips_rows(caplog: pytest.LogCaptureFixture) -> None:
    """The hazard the drain and snapshot patterns exist for; the walk says so in the log."""
    session = portal(500)
    table = session.tables[INSTANCES]
    got: list[str] = []
    with caplog.at_level(logging.INFO, logger="bitrix_bizproc"):
        async for inst in Paginator(FakeClient(session), INSTANCES, strategy="sequential"):
            got.append(inst["ID"])
            table[:] = [r for r in table if r["ID"] != inst["ID"]]
    assert len(got) < 500 and table
    assert "use snapshot_ids() or drain()" in caplog.text


async def test_snapshot_ids_then_terminate_reaches_every_row() -> None:
    session = portal(3_210)
    table = session.tables[INSTANCES]
    want = expected_ids(session, INSTANCES)
    snapshot = await Paginator(FakeClient(session), INSTANCES, {"select": ["STARTED"]}).snapshot_ids()
    assert snapshot == want
    assert session.requests == 3  # the first page, then 64 pages in two batches
    assert all(p["SELECT"] == ["ID"] for p in session.sent)
    for wf_id in snapshot:  # terminating from the snapshot cannot shift what is still to be read
        table[:] = [r for r in table if r["ID"] != wf_id]
    assert not table


@pytest.mark.parametrize("fail_every", [0, 7])
async def test_drain_while_terminating_reaches_every_row_once(fail_every: int) -> None:
    session = portal(777)
    table = session.tables[INSTANCES]
    want = expected_ids(session, INSTANCES)
    got: list[str] = []
    async for inst in Paginator(FakeClient(session), INSTANCES, {"filter": {">=N": 0}}).drain():
        got.append(inst["ID"])
        if not fail_every or len(got) % fail_every:
            table[:] = [r for r in table if r["ID"] != inst["ID"]]  # terminated: it leaves the list
    assert got == want
    assert len(table) == (len(want) // fail_every if fail_every else 0)


async def test_drain_with_inserts_and_terminations() -> None:
    session = portal(300)
    table = session.tables[INSTANCES]
    added: list[str] = []

    def insert(_method: str, _params: dict[str, Any]) -> None:
        if len(added) < 40:
            row = instances(1, first=1_000 + len(added))[0]
            table.append(row)
            added.append(row["ID"])

    session.hook = insert
    original = expected_ids(session, INSTANCES)
    got: list[str] = []
    async for inst in Paginator(FakeClient(session), INSTANCES, limit=10_000).drain():
        got.append(inst["ID"])
        table[:] = [r for r in table if r["ID"] != inst["ID"]]
    assert len(got) == len(set(got))
    assert set(original) <= set(got)
    assert not table


async def test_parallel_without_total_goes_on_page_by_page() -> None:
    session = portal(120)
    real_call = session.call

    async def no_total(method: str, params: Any = None, *, idempotent: bool | None = None) -> Any:
        response = await real_call(method, params)
        return attrs.evolve(response, total=None)

    session.call = no_total  # type: ignore[method-assign]
    rows = await Paginator(FakeClient(session), "some.other.list", strategy="parallel").collect()
    assert [r["N"] for r in rows] == [str(i) for i in range(1, 121)]
    assert session.requests == 3
