"""``Paginator.aclose()`` called from a task other than the one walking (issue 13, item 5).

Before the fix, closing a walk that another task was driving (suspended on a request) raised
``RuntimeError: aclose(): asynchronous generator is already running`` and the walk went on.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bitrix_bizproc._paging import Paginator

from .fake import FakeClient, FakeSession, instances, numbered
from .walks import INSTANCES, TASKS, TEMPLATES, WALKS


def portal(n: int) -> FakeSession:
    return FakeSession({INSTANCES: instances(n), TEMPLATES: numbered(n), TASKS: numbered(n)})


def view(paginator: Paginator[Any], name: str) -> AsyncIterator[Any]:
    if name == "rows":
        return aiter(paginator)
    if name == "pages":
        return paginator.pages()
    return paginator.drain()


def others() -> set[asyncio.Task[Any]]:
    return {t for t in asyncio.all_tasks() if t is not asyncio.current_task()}


@pytest.mark.parametrize(("method", "strategy"), WALKS)
@pytest.mark.parametrize("name", ["rows", "pages", "drain"])
async def test_aclose_from_another_task_stops_a_walk_waiting_on_a_request(
    method: str, strategy: str, name: str
) -> None:
    session = portal(600)
    paginator = Paginator(FakeClient(session), method, strategy=strategy)
    got: list[Any] = []
    blocked = asyncio.Event()

    async def consume() -> None:
        async for item in view(paginator, name):
            got.append(item)
            if len(got) == 1:
                session.gate = asyncio.Event()  # every later request hangs until released
                blocked.set()

    consumer = asyncio.create_task(consume())
    await blocked.wait()
    for _ in range(10):
        await asyncio.sleep(0)
    sent, before = session.requests, len(got)
    assert not consumer.done()  # the walk is waiting for the portal

    await paginator.aclose()  # raised RuntimeError before the fix

    await asyncio.wait_for(consumer, 5)  # the consumer's loop simply ends: no error, no cancellation
    assert consumer.exception() is None
    assert len(got) == before  # what arrived before the close, nothing after
    assert session.gate is not None
    session.gate.set()
    for _ in range(10):
        await asyncio.sleep(0)
    assert session.requests == sent  # nothing more was sent after the close
    assert others() == set()


async def test_aclose_from_another_task_while_the_walk_waits_on_its_consumer() -> None:
    session = portal(600)
    paginator = Paginator(FakeClient(session), INSTANCES, strategy="sequential")
    walk = aiter(paginator)
    assert (await anext(walk))["N"] == "0"
    await asyncio.create_task(paginator.aclose())
    with pytest.raises(StopAsyncIteration):
        await anext(walk)
    assert others() == set()


async def test_a_closed_paginator_can_start_a_new_walk() -> None:
    session = portal(120)
    paginator = Paginator(FakeClient(session), TASKS)
    walk = aiter(paginator)
    await anext(walk)
    await paginator.aclose()
    assert len(await paginator.collect()) == 120


class LyingTotal(FakeSession):
    """A portal whose ``total`` claims far more rows than its list holds (a malformed or hostile answer)."""

    def _list(self, method: str, params: dict[str, Any]) -> tuple[list[Any], int | None, int | None]:
        rows, _, _ = super()._list(method, params)
        start = int(params.get("START") or 0)
        return rows, 2**31 - 1, start + len(rows) if rows else None


async def test_a_parallel_walk_stops_where_the_list_ends_whatever_its_total_says() -> None:
    session = LyingTotal({INSTANCES: instances(120)})
    paginator = Paginator(FakeClient(session), INSTANCES, strategy="parallel", max_buffered_pages=100)
    assert len(await paginator.collect()) == 120
    assert session.requests <= 1 + 2  # the first page, the batches in flight; nothing planned after
