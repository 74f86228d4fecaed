"""A call never awaited warns like a coroutine never awaited (and sends nothing); batch commands do not."""

from __future__ import annotations

import asyncio
import gc
import sys
import warnings

import pytest

from bitrix_bizproc import BizprocClient, DirectCall
from bitrix_bizproc._call import Call

from .conftest import EmuFactory


async def test_a_forgotten_await_warns_and_sends_nothing(emu: EmuFactory) -> None:
    portal = await emu()
    async with BizprocClient.from_webhook(portal.webhook_url, limiter="off") as client:
        with pytest.warns(RuntimeWarning, match=r"bizproc\.workflow\.kill.*was never awaited"):
            client.workflows.kill("66e412fdc9bd44.36306599")  # the forgotten await
            gc.collect()
        assert client.stats.requests == 0


async def test_awaited_calls_and_batch_commands_do_not_warn(emu: EmuFactory) -> None:
    portal = await emu()
    async with BizprocClient.from_webhook(portal.webhook_url, limiter="off") as client:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            await client._executor.submit(Call("user.get", {"ID": 1}))
            async with client.batch() as batch:
                batch.workflows.kill("66e412fdc9bd44.36306599")
            del batch
            gc.collect()
        assert [str(w.message) for w in caught if w.category is RuntimeWarning] == []


async def test_a_call_whose_task_never_ran_warns_and_sends_nothing(emu: EmuFactory) -> None:
    portal = await emu()
    async with BizprocClient.from_webhook(portal.webhook_url, limiter="off", auto_batch=True) as client:
        with pytest.warns(RuntimeWarning, match=r"bizproc\.workflow\.kill.*was never awaited"):
            task = asyncio.ensure_future(client.workflows.kill("66e412fdc9bd44.36306599"))
            task.cancel()  # before its first step: the call never started
            await asyncio.sleep(0)
            assert task.cancelled()
            del task
            gc.collect()
        assert client.stats.requests == 0


def test_a_half_built_call_is_collected_quietly(monkeypatch: pytest.MonkeyPatch) -> None:
    unraisable: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(TypeError):
            DirectCall()  # type: ignore[call-arg]  # __init__ never ran: nothing to warn about
        gc.collect()
    assert unraisable == [] and caught == []


async def test_a_call_can_be_weakly_referenced(emu: EmuFactory) -> None:
    """As a coroutine or a task can (caches and registries of calls in flight hold them weakly)."""
    import weakref

    portal = await emu()
    async with BizprocClient.from_webhook(portal.webhook_url, limiter="off") as client:
        call = client._executor.submit(Call("user.get", {"ID": 1}))
        ref = weakref.ref(call)
        assert ref() is call
        await call
