"""Issue 13 item 11: cancellation never drops a command that was sent; what ran is recorded."""

from __future__ import annotations

import asyncio
import gc
import sys
from collections.abc import Callable
from typing import Any

import pytest

from bitrix_bizproc import NotExecutedError, OutcomeUnknownError
from bitrix_bizproc._batch import Coalescer
from bitrix_bizproc._client import BizprocClient
from bitrix_bizproc.emulator import EmulatedPortal
from bitrix_bizproc.protocol.retry import RetryPolicy

WEBHOOK = "https://example.bitrix24.com/rest/1/abcdefabcdef/"


async def _until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(20):
        while not condition():  # noqa: ASYNC110 - polling the portal's own record
            await asyncio.sleep(0.005)


async def test_a_cancelled_composer_accounts_for_every_command_it_sent(
    portal: EmulatedPortal, client: BizprocClient, instances: Callable[[int], list[str]]
) -> None:
    ids = instances(800)
    portal.faults.set_latency(base=0.3)  # answers come 0.3 s after the portal ran the chunk
    commands: list[Any] = []

    async def compose() -> None:
        async with client.batch() as batch:
            commands.extend(batch.workflows.terminate(i) for i in ids)

    task = asyncio.create_task(compose())
    await _until(lambda: len(portal.state.stop_log) >= 50)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await asyncio.sleep(0.4)  # chunks the portal was running when we cancelled may finish now
    ran = {wid for wid, _, _ in portal.state.stop_log}
    by_id = dict(zip(ids, commands, strict=True))
    assert all(c.done for c in commands)  # never silently dropped
    for wid in ran:  # the portal ran it: resolved, or marked unknown; never "not executed"
        command = by_id[wid]
        assert command.ok or isinstance(command.error, OutcomeUnknownError), command
    for command in commands:
        if isinstance(command.error, NotExecutedError):
            assert not command.executed
    unsent = {wid for wid, c in by_id.items() if isinstance(c.error, NotExecutedError)}
    assert unsent.isdisjoint(ran)  # "not executed" is the truth: the portal never ran them
    unknown = {wid for wid, c in by_id.items() if isinstance(c.error, OutcomeUnknownError)}
    assert unknown  # cancelled with answers on their way: they ran, outcome unknown to us


async def test_auto_batch_records_commands_that_ran_for_cancelled_callers(
    portal: EmulatedPortal, instances: Callable[[int], list[str]]
) -> None:
    ids = instances(10)
    portal.faults.set_latency(base=0.3)
    async with BizprocClient.from_webhook(
        portal.webhook_url, limiter="off", retry=RetryPolicy.never(), auto_batch=True
    ) as client:
        calls = [asyncio.ensure_future(client.workflows.terminate(i)) for i in ids]
        await _until(lambda: len(portal.state.stop_log) == 10)  # the shared batch ran; answers are late
        for call in calls[:4]:
            call.cancel()
        results = await asyncio.gather(*calls, return_exceptions=True)
        assert sum(isinstance(r, asyncio.CancelledError) for r in results) == 4
        coalescer = client._get_coalescer()
        assert coalescer.unclaimed == [("bizproc.workflow.terminate", "done")] * 4


async def test_a_caller_cancelled_as_its_answer_arrives_is_recorded(
    portal: EmulatedPortal, instances: Callable[[int], list[str]]
) -> None:
    """Both answers come back in one batch; the first caller, woken first, cancels the second (as a task
    group does when a sibling fails) before it wakes: its command ran, so it is recorded, not lost."""
    ids = instances(2)
    async with BizprocClient.from_webhook(
        portal.webhook_url, limiter="off", retry=RetryPolicy.never(), auto_batch=True
    ) as client:

        async def first() -> bool:
            result = await client.workflows.terminate(ids[0])
            second.cancel()  # its answer is in, its task not yet woken
            return result

        first_task = asyncio.ensure_future(first())
        second = asyncio.ensure_future(client.workflows.terminate(ids[1]))
        results = await asyncio.gather(first_task, second, return_exceptions=True)
        assert results[0] is True and isinstance(results[1], asyncio.CancelledError)
        assert portal.state.instance(ids[1]).state != "Running"  # it ran
        assert client._get_coalescer().unclaimed == [("bizproc.workflow.terminate", "done")]


async def test_a_submitted_call_cancelled_as_its_answer_arrives_is_recorded(
    portal: EmulatedPortal, client: BizprocClient, instances: Callable[[int], list[str]]
) -> None:
    ids = instances(2)
    coalescer = Coalescer(client.session, window=0.05)

    async def first() -> object:
        result = await coalescer.submit("bizproc.workflow.terminate", {"ID": ids[0]})
        second.cancel()
        return result

    first_task = asyncio.ensure_future(first())
    second = asyncio.ensure_future(coalescer.submit("bizproc.workflow.terminate", {"ID": ids[1]}))
    results = await asyncio.gather(first_task, second, return_exceptions=True)
    assert isinstance(results[1], asyncio.CancelledError)
    assert portal.state.instance(ids[1]).state != "Running"
    assert coalescer.unclaimed == [("bizproc.workflow.terminate", "done")]
    await coalescer.aclose()


async def test_a_caller_that_leaves_its_wait_by_an_error_is_not_sent(
    portal: EmulatedPortal, instances: Callable[[int], list[str]]
) -> None:
    """An exception thrown into an awaited call while it is queued ends the wait as a cancellation does."""
    ids = instances(2)
    async with BizprocClient.from_webhook(
        portal.webhook_url, limiter="off", retry=RetryPolicy.never(), auto_batch=True
    ) as client:
        call = client.workflows.terminate(ids[0])
        other = asyncio.ensure_future(client.workflows.terminate(ids[1]))
        steps = call.__await__()
        steps.send(None)  # queued
        with pytest.raises(KeyError):
            steps.throw(KeyError("gone"))
        assert await other is True
        assert portal.counters.commands == 1
        assert portal.state.instance(ids[0]).state == "Running"


def test_a_queued_call_collected_with_its_closed_loop_is_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    """A task left pending in a closed loop is collected: its queued call must not touch the loop."""
    unraisable: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: unraisable.append(u.exc_value))
    loop = asyncio.new_event_loop()

    async def queued() -> tuple[BizprocClient, asyncio.Future[bool]]:
        client = BizprocClient.from_webhook(WEBHOOK, limiter="off", auto_batch=True)
        client._get_coalescer().window = 3600.0  # never flushed
        task = asyncio.ensure_future(client.workflows.terminate("66e412fdc9bd44.00000001"))
        await asyncio.sleep(0)  # queued
        return client, task

    client, task = loop.run_until_complete(queued())
    loop.close()
    del client, task  # asyncio logs "Task was destroyed but it is pending!", as it should
    gc.collect()
    assert unraisable == []


async def test_a_cancelled_call_is_not_ok(
    portal: EmulatedPortal, instances: Callable[[int], list[str]]
) -> None:
    """Done, and not a success: ``ok`` must not read a cancellation (no typed error) as one."""
    ids = instances(2)
    async with BizprocClient.from_webhook(
        portal.webhook_url, limiter="off", retry=RetryPolicy.never(), auto_batch=True
    ) as client:
        call = client.workflows.terminate(ids[0])
        task = asyncio.ensure_future(call)
        other = asyncio.ensure_future(client.workflows.terminate(ids[1]))
        await asyncio.sleep(0)  # both queued
        task.cancel()
        await asyncio.gather(task, other, return_exceptions=True)
        assert portal.state.instance(ids[0]).state == "Running"  # dropped, never sent
        assert call.done and call.error is None
        assert not call.ok
