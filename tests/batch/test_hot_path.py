"""The per-command work of a batch (issue 17): each command's ``time`` block read once, still delivered."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bitrix_bizproc._call import Call
from bitrix_bizproc._client import BizprocClient
from bitrix_bizproc.protocol.envelope import ApiResponse, TimeInfo

Instances = Callable[[int], list[str]]


def _time_of(response: ApiResponse) -> TimeInfo | None:
    return response.time


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every time block :meth:`TimeInfo.from_wire` parses, in order."""
    seen: list[object] = []
    original = TimeInfo.from_wire.__func__  # type: ignore[attr-defined]

    def counting(cls: type[TimeInfo], data: Any) -> TimeInfo | None:
        seen.append(data)
        result: TimeInfo | None = original(cls, data)
        return result

    monkeypatch.setattr(TimeInfo, "from_wire", classmethod(counting))
    return seen


async def test_a_composer_reads_each_commands_time_block_at_most_once(
    client: BizprocClient, instances: Instances, parses: list[object]
) -> None:
    ids = instances(120)
    async with client.batch() as batch:
        commands = [batch.workflows.terminate(wf) for wf in ids]
    assert [c.result() for c in commands] == [True] * 120
    # 3 batch answers' own blocks, and at most one parse of each command's block
    assert len(parses) <= 3 + 120
    assert len({id(block) for block in parses}) == len(parses)


async def test_a_commands_time_block_still_reaches_its_answer(
    client: BizprocClient, instances: Instances
) -> None:
    ids = instances(2)
    async with client.batch() as batch:
        times = [
            batch.executor.submit(Call("bizproc.workflow.terminate", {"ID": wf}, parse=_time_of))
            for wf in ids
        ]
    for command in times:
        time = command.result()
        assert isinstance(time, TimeInfo)
        assert time.start is not None and time.finish is not None and time.date_start is not None
        assert time.operating is not None
