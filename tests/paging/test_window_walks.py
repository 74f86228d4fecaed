"""Parallel walks keep a window of batches in flight sized by the limiter's pace and the latency.

The window is bounded by the memory budget (``max_buffered_pages``), and whatever its size every row is
yielded exactly once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from bitrix_bizproc._paging import DEFAULT_BUFFERED_PAGES, Paginator
from bitrix_bizproc.protocol.envelope import ApiResponse
from bitrix_bizproc.protocol.window import MAX_WINDOW

from .fake import FakeClient, FakeSession, instances, numbered
from .walks import INSTANCES, TASKS


class FakeLimiter:
    """What the walk reads of the client's limiter: its rate and its free slots."""

    def __init__(self, rate: float | None, free: int | None) -> None:
        self.rate, self.free = rate, free

    def pace(self) -> tuple[float | None, int | None]:
        return self.rate, self.free


class PacedSession(FakeSession):
    """The fake portal behind a limiter, answering after ``latency`` seconds; counts batches in flight."""

    def __init__(self, n: int, limiter: FakeLimiter | None, latency: float = 0.0) -> None:
        super().__init__({INSTANCES: sorted(instances(n), key=lambda r: r["ID"]), TASKS: numbered(n)})
        if limiter is not None:
            self.limiter = limiter
        self.latency = latency
        self.in_flight = 0
        self.peak = 0

    def _list(self, method: str, params: dict[str, Any]) -> tuple[list[Any], int | None, int | None]:
        """The unfiltered list sorted by ID is the table itself (kept sorted): no sort per page."""
        assert not params.get("FILTER") and params.get("ORDER") == {"ID": "ASC"}, params
        self.commands[method] += 1
        rows = self.tables[method]
        start = int(params.get("START") or 0)
        page = rows[start : start + 50]
        end = start + len(page)
        return page, len(rows), end if end < len(rows) else None

    async def call(
        self, method: str, params: Mapping[str, Any] | None = None, *, idempotent: bool | None = None
    ) -> ApiResponse:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            return await super().call(method, params, idempotent=idempotent)
        finally:
            self.in_flight -= 1


async def in_flight_after_first_page(session: PacedSession, **options: Any) -> int:
    walk = Paginator(FakeClient(session), INSTANCES, **options).pages()
    await anext(walk)
    session.gate = asyncio.Event()  # every batch now hangs until released
    consumer = asyncio.create_task(anext(walk))
    for _ in range(5):
        await asyncio.sleep(0)
    sent = session.requests - 1
    session.gate.set()
    await consumer
    await walk.aclose()
    return sent


@pytest.mark.parametrize(
    ("limiter", "options", "batches"),
    [
        # the bucket's free burst goes out at once, up to the default budget (1,000 pages = 20 batches)
        (FakeLimiter(100.0, 47), {}, 20),
        (FakeLimiter(2.0, 47), {}, 20),
        (FakeLimiter(100.0, 7), {}, 7),
        # no limiter (limits off): the budget
        (None, {}, 20),
        # a smaller budget: fewer
        (FakeLimiter(100.0, 47), {"max_buffered_pages": 150}, 3),
        (None, {"max_buffered_pages": 50}, 1),
        (None, {"max_buffered_pages": 1_500}, 30),
        # the list's other 1,999 pages make 40 batches: all of them (also MAX_WINDOW)
        (None, {"max_buffered_pages": 100_000}, 40),
    ],
)
async def test_window_follows_the_limiter_within_the_budget(
    limiter: FakeLimiter | None, options: dict[str, Any], batches: int
) -> None:
    session = PacedSession(100_000, limiter)
    assert await in_flight_after_first_page(session, **options) == batches


async def test_window_grows_with_latency() -> None:
    """At 50 ms a round trip and 100 requests/s, Little's law wants at least 100 x 0.05 x 1.5 + 1 = 9."""
    session = PacedSession(30_000, FakeLimiter(100.0, 0), latency=0.05)
    walk = Paginator(FakeClient(session), INSTANCES, max_buffered_pages=500)  # 250 pages: 5 batches
    assert len(await walk.collect()) == 30_000
    assert 9 <= session.peak <= DEFAULT_BUFFERED_PAGES // 50


@pytest.mark.parametrize("n", [0, 1, 2_550, 2_551, 12_345])
@pytest.mark.parametrize(
    ("limiter", "budget"),
    [(FakeLimiter(100.0, 47), 1_000), (FakeLimiter(2.0, 0), 1_000), (None, 50), (None, 150), (None, 10**6)],
)
async def test_no_row_skipped_or_repeated_at_any_window(
    n: int, limiter: FakeLimiter | None, budget: int
) -> None:
    session = PacedSession(n, limiter)
    rows = await Paginator(FakeClient(session), INSTANCES, max_buffered_pages=budget).collect()
    got = [r["ID"] for r in rows]
    assert got == sorted(r["ID"] for r in session.tables[INSTANCES])  # each once, in order
    assert session.commands[INSTANCES] == max(1, -(-n // 50))  # each page read once
    assert session.peak <= max(1, min(budget // 50, MAX_WINDOW))  # the budget, the ceiling
