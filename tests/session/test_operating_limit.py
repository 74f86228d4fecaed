"""The operating-time limit end to end, as settings/performance/limits.md ("Resource Intensity Limits")
states it: per method, the execution time of 10 one-minute baskets; checked before each call, so the call
that crosses the limit still runs and the next one gets 429 ``OPERATION_TIME_LIMIT``; other methods go on;
inside a batch each nested call is checked and billed to its own method."""

from __future__ import annotations

import pytest

from bitrix_bizproc import BizprocClient
from bitrix_bizproc.emulator import ManualClock, Plan, PortalConfig

from .conftest import EmuFactory, Gate

METHOD = "bizproc.task.list"


def docs_example() -> PortalConfig:
    """The docs' worked example: a limit of 480 s, each call of the method takes 20 s."""
    return PortalConfig(plan=Plan.custom(None, 0, operating_limit=480.0), method_processing={METHOD: 20.0})


async def test_the_docs_example_runs_without_a_429(emu: EmuFactory) -> None:
    """30 calls of 20 s, one every 20 s: the client pauses near 480 s until the oldest basket expires."""
    clock = ManualClock()
    portal = await emu(docs_example(), clock=clock)
    gate = Gate(advance=clock.advance)
    client = BizprocClient.from_webhook(portal.webhook_url, limiter="off", clock=clock, sleep=gate)
    async with client:
        first = clock()
        seen = []
        for _ in range(30):
            response = await client.call(METHOD)
            assert response.time is not None
            seen.append(response.time.operating)
            clock.advance(20)  # the call took 20 s
    assert portal.counters.rejections["OPERATION_TIME_LIMIT"] == 0
    assert portal.counters.methods[METHOD] == 30
    assert max(op for op in seen if op is not None) <= 480.0
    # 23 calls make 460 s, past 95 % of 480: the client waits for the first basket (3 calls, 60 s) to expire
    assert gate.waits == [pytest.approx(first + 600 - (first + 23 * 20), abs=1.0)]


async def test_a_limit_lower_than_the_client_knows_costs_one_429(emu: EmuFactory) -> None:
    """A self-hosted portal's default limit is 420 s; the client assumes 480. The call that crosses 420
    completes, the next gets 429 and waits for the reset the last answer gave; another method goes on."""
    clock = ManualClock()
    config = PortalConfig(plan=Plan.custom(None, 0, operating_limit=420.0), method_processing={METHOD: 20.0})
    portal = await emu(config, clock=clock)
    gate = Gate(advance=clock.advance)
    client = BizprocClient.from_webhook(portal.webhook_url, limiter="off", clock=clock, sleep=gate)
    async with client:
        first = clock()
        for _ in range(23):  # the 22nd makes 440 s, over 420: the 23rd is refused, retried after the reset
            await client.call(METHOD)
            clock.advance(20)
        assert client.stats.retries == {"operation_time_limit": 1}
        assert (await client.call("user.get")).result is not None
    assert portal.counters.rejections["OPERATION_TIME_LIMIT"] == 1
    assert gate.waits == [pytest.approx(first + 600 - (first + 22 * 20), abs=1.0)]


async def test_inside_a_batch_each_command_is_checked_and_the_method_then_waits(emu: EmuFactory) -> None:
    """One batch of 30 commands of 20 s: 24 make 480 s (not over), the 25th still runs (500 s), the other
    five get ``OPERATION_TIME_LIMIT`` in ``result_error``; the batch itself is HTTP 200 and other commands in
    it run. The client then holds the method until its reset: the next call waits instead of a 429."""
    clock = ManualClock()
    portal = await emu(docs_example(), clock=clock)
    gate = Gate(advance=clock.advance)
    cmd = {f"c{i}": METHOD for i in range(30)} | {"other": "user.get"}
    client = BizprocClient.from_webhook(portal.webhook_url, limiter="off", clock=clock, sleep=gate)
    async with client:
        first = clock()
        response = await client.call("batch", {"halt": 0, "cmd": cmd})
        errors = response.result["result_error"]
        assert sorted(errors) == [f"c{i}" for i in range(25, 30)]
        assert {e["error"] for e in errors.values()} == {"OPERATION_TIME_LIMIT"}
        assert "other" in response.result["result"]
        assert response.result["result_time"]["c24"]["operating"] == 500.0
        rejected = portal.counters.rejections["OPERATION_TIME_LIMIT"]
        await client.call(METHOD)
        assert portal.counters.rejections["OPERATION_TIME_LIMIT"] == rejected  # waited, not refused
    assert gate.waits == [pytest.approx(first + 600 - first, abs=1.0)]


async def test_a_command_refused_inside_a_batch_holds_its_method_below_the_near_mark(emu: EmuFactory) -> None:
    """A portal limit of 420 s, the client's 480: the batch's last command that ran reports 440 s, under
    95 % of 480, so only the refused commands tell the client. It holds the method until the reset the
    batch reported, and the next call of it waits instead of meeting a 429."""
    clock = ManualClock()
    config = PortalConfig(plan=Plan.custom(None, 0, operating_limit=420.0), method_processing={METHOD: 20.0})
    portal = await emu(config, clock=clock)
    gate = Gate(advance=clock.advance)
    cmd = {f"c{i}": METHOD for i in range(30)}
    client = BizprocClient.from_webhook(portal.webhook_url, limiter="off", clock=clock, sleep=gate)
    async with client:
        first = clock()
        response = await client.call("batch", {"halt": 0, "cmd": cmd})
        assert sorted(response.result["result_error"]) == sorted(f"c{i}" for i in range(22, 30))
        assert response.result["result_time"]["c21"]["operating"] == 440.0
        await client.call(METHOD)
        assert client.stats.retries == {}
    assert portal.counters.rejections["OPERATION_TIME_LIMIT"] == 0
    assert gate.waits == [pytest.approx(first + 600 - first, abs=1.0)]
