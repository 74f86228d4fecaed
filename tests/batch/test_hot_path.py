"""The per-command work of a batch (issue 17): each command's ``time`` block read once, still delivered."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from bitrix_bizproc._call import Call
from bitrix_bizproc._client import BizprocClient
from bitrix_bizproc.protocol.batch import parse_batch_result
from bitrix_bizproc.protocol.envelope import ApiResponse, TimeInfo, by_command_key, opt_float, parse_response
from bitrix_bizproc.protocol.limits import OperatingBudget
from tests.compat._corpus import ENTRIES, wire

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


def _eager(block: object) -> TimeInfo | None:
    """The time block read field by field, as ``from_wire`` did before it deferred the reading."""
    if not isinstance(block, dict):
        return None
    return TimeInfo(
        start=opt_float(block.get("start")),
        finish=opt_float(block.get("finish")),
        duration=opt_float(block.get("duration")),
        processing=opt_float(block.get("processing")),
        date_start=_date(block.get("date_start")),
        date_finish=_date(block.get("date_finish")),
        operating=opt_float(block.get("operating")),
        operating_reset_at=opt_float(block.get("operating_reset_at")),
    )


def _date(value: object) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(value) if isinstance(value, str) and value else None
    except ValueError:
        return None


BATCHES = [e for e in ENTRIES if e["expect"]["kind"] == "batch"]


@pytest.mark.parametrize("entry", BATCHES, ids=[e["id"] for e in BATCHES])
def test_real_batch_answers_give_each_command_its_time_and_the_budget_its_figures(
    entry: dict[str, Any],
) -> None:
    # the recorded answers of tests/compat/corpus (fast_bitrix24, b24phpsdk and the docs' batch examples)
    response = parse_response(entry["http_status"], wire(entry), method="batch")
    expect = entry["expect"]
    keys = expect.get("keys") or [*expect["ok"], *expect["errors"]]
    outcomes = parse_batch_result(keys, response.result, halt=expect["halt"])
    blocks = by_command_key(response.result.get("result_time"))
    for key in keys:
        if outcomes[key].executed:
            assert outcomes[key].time == _eager(blocks.get(key)), key
    methods = {key: f"method.{n % 2}" for n, key in enumerate(keys)}
    batch, each = OperatingBudget(), OperatingBudget()
    batch.observe_batch(methods, response.result.get("result_time"), 1000.0)
    for key, block in blocks.items():
        if key in methods:
            each.observe(methods[key], _eager(block), 1000.0)
    assert [batch.get(m) for m in ("method.0", "method.1")] == [each.get(m) for m in ("method.0", "method.1")]
    assert all(outcomes[k].time is not None for k in expect["ok"])
