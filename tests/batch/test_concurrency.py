"""Batch senders stay bounded: at most MAX_CONCURRENT_BATCHES requests out at once, the rest wait in order."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from bitrix_bizproc._batch import BatchComposer, Coalescer
from bitrix_bizproc._coalescer import MAX_CONCURRENT_BATCHES
from bitrix_bizproc.protocol.envelope import ApiResponse

METHOD = "bizproc.workflow.terminate"
GROUPS = MAX_CONCURRENT_BATCHES + 6


class GatedSession:
    """Answers every batch with ``True`` per command once ``gate`` opens; counts requests in flight."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.active = 0
        self.peak = 0
        self.first_ids: list[str] = []  # the first command of each batch, in the order sent

    async def call(
        self, method: str, params: Mapping[str, Any] | None = None, *, idempotent: bool | None = None
    ) -> ApiResponse:
        assert method == "batch" and params is not None
        commands: Mapping[str, str] = params["cmd"]
        self.first_ids.append(next(iter(commands.values())).partition("ID=")[2])
        self.active += 1
        self.peak = max(self.peak, self.active)
        await self.gate.wait()
        self.active -= 1
        return ApiResponse(result={"result": dict.fromkeys(commands, True)})


class FakeClient:
    def __init__(self, session: GatedSession) -> None:
        self.session = session


def _ids() -> list[str]:
    return [f"66e412fdc9bd44.{i:08d}" for i in range(GROUPS * 50)]


async def _settle() -> None:
    # Enough loop passes for every sender that may start to have started (one encodes per pass).
    for _ in range(3 * MAX_CONCURRENT_BATCHES):
        await asyncio.sleep(0)


async def test_the_coalescer_keeps_at_most_the_limit_in_flight() -> None:
    session = GatedSession()
    coalescer = Coalescer(session)
    ids = _ids()
    callers = asyncio.gather(*(coalescer.submit(METHOD, {"ID": wf}) for wf in ids))
    await _settle()
    assert session.active == MAX_CONCURRENT_BATCHES  # the other groups wait, unsent and unencoded
    session.gate.set()
    assert all(r.result is True for r in await callers)
    assert session.peak == MAX_CONCURRENT_BATCHES and len(session.first_ids) == GROUPS
    assert session.first_ids == ids[::50]  # groups leave in the order they filled
    await coalescer.aclose()


async def test_the_composer_keeps_at_most_the_limit_in_flight() -> None:
    session = GatedSession()
    composer = BatchComposer(FakeClient(session))
    ids = _ids()
    commands = [composer.call(METHOD, {"ID": wf}) for wf in ids]
    sending = asyncio.ensure_future(composer.send())
    await _settle()
    assert session.active == MAX_CONCURRENT_BATCHES
    session.gate.set()
    await sending
    assert all(c.result() is True for c in commands)
    assert session.peak == MAX_CONCURRENT_BATCHES
    assert session.first_ids == ids[::50]  # chunks leave in order


class RecordingSession:
    """Answers every batch with ``True`` per command; records each batch's methods and idempotence."""

    def __init__(self) -> None:
        self.batches: list[tuple[list[str], bool | None]] = []

    async def call(
        self, method: str, params: Mapping[str, Any] | None = None, *, idempotent: bool | None = None
    ) -> ApiResponse:
        assert method == "batch" and params is not None
        commands: Mapping[str, str] = params["cmd"]
        self.batches.append(([c.partition("?")[0] for c in commands.values()], idempotent))
        return ApiResponse(result={"result": dict.fromkeys(commands, True)})


async def test_a_coalesced_batch_is_idempotent_only_if_each_of_its_commands_is() -> None:
    session = RecordingSession()
    coalescer = Coalescer(session, window=1.0, max_size=3)
    terminate = [coalescer.submit(METHOD, {"ID": f"66e412fdc9bd44.{i:08d}"}) for i in range(3)]
    start = coalescer.submit("bizproc.workflow.start", {"TEMPLATE_ID": 1, "DOCUMENT_ID": ["a", "b", "c"]})
    mixed = [coalescer.submit(METHOD, {"ID": "66e412fdc9bd44.00000009"}), start]
    mixed.append(coalescer.submit(METHOD, {"ID": "66e412fdc9bd44.00000010"}))
    await asyncio.gather(*terminate, *mixed)
    assert session.batches == [
        ([METHOD] * 3, True),
        ([METHOD, "bizproc.workflow.start", METHOD], False),  # a start sent twice would start twice
    ]
    await coalescer.aclose()
