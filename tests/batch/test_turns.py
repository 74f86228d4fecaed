"""Each batch of a burst is encoded and handed over in a pass of the event loop of its own.

A request handed to the transport reaches its socket only when the loop next polls; batches encoded back to
back would all leave together after the last one was encoded, bunched at the portal while the limiter had
counted them one by one. Counted in loop passes, never in seconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from bitrix_bizproc._client import BizprocClient
from bitrix_bizproc._coalescer import Turns
from bitrix_bizproc.emulator import EmulatedPortal
from bitrix_bizproc.protocol.envelope import ApiResponse


class Passes:
    """Counts the passes of the running event loop."""

    def __init__(self) -> None:
        self.count = 0
        self._loop = asyncio.get_running_loop()
        self._handle = self._loop.call_soon(self._tick)

    def _tick(self) -> None:
        self.count += 1
        self._handle = self._loop.call_soon(self._tick)

    def stop(self) -> None:
        self._handle.cancel()


def _record_batches(client: BizprocClient, passes: Passes, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The loop pass in which each ``batch`` request is handed to the session."""
    handed: list[int] = []
    original = client.session.call

    async def call(method: str, params: Any = None, *, idempotent: bool | None = None) -> ApiResponse:
        if method == "batch":
            handed.append(passes.count)
        return await original(method, params, idempotent=idempotent)

    monkeypatch.setattr(client.session, "call", call)
    return handed


async def test_the_composer_hands_each_batch_over_in_a_pass_of_its_own(
    client: BizprocClient, instances: Callable[[int], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = instances(250)
    passes = Passes()
    handed = _record_batches(client, passes, monkeypatch)
    async with client.batch() as batch:
        for wf in ids:
            batch.workflows.terminate(wf)
    passes.stop()
    assert all(c.ok for c in batch.results)
    assert len(handed) == 5 and len(set(handed)) == 5  # never two batches encoded in one pass


async def test_auto_batch_hands_each_batch_over_in_a_pass_of_its_own(
    portal: EmulatedPortal, instances: Callable[[int], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = instances(250)
    async with BizprocClient.from_webhook(portal.webhook_url, limiter="off", auto_batch=True) as client:
        passes = Passes()
        handed = _record_batches(client, passes, monkeypatch)
        outcomes = await asyncio.gather(*(client.workflows.terminate(wf) for wf in ids))
        passes.stop()
    assert outcomes == [True] * 250
    assert len(handed) == 5 and len(set(handed)) == 5


async def test_turns_are_given_one_per_pass_in_order_and_skip_callers_gone() -> None:
    turns = Turns()
    passes = Passes()
    got: list[tuple[str, int]] = []

    async def take(name: str) -> None:
        await turns.take()
        got.append((name, passes.count))

    tasks = [asyncio.create_task(take(name)) for name in "abcd"]
    await asyncio.sleep(0)
    tasks[1].cancel()  # waiting for its turn: it is skipped, the others keep their order
    await asyncio.gather(*tasks, return_exceptions=True)
    passes.stop()
    assert [name for name, _ in got] == ["a", "c", "d"]
    assert len({n for _, n in got}) == 3
    await turns.take()  # nobody waiting: a free turn at once
