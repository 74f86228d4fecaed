"""The client users hold: executor and DirectCall, namespaces, batch/paginate hand-offs, auto_batch."""

from __future__ import annotations

import asyncio

import pytest

from bitrix_bizproc import AccessDeniedError, ApiResponse, BizprocClient, ServerError
from bitrix_bizproc._call import Call
from bitrix_bizproc._transport import HttpRequest, HttpResponse
from bitrix_bizproc.protocol.limits import BucketSpec
from bitrix_bizproc.services import WorkflowsService

from .conftest import EmuFactory


def _method(response: ApiResponse) -> str:
    return str(response.result["method"])


async def test_direct_call_runs_once_when_awaited(emu: EmuFactory) -> None:
    portal = await emu()
    async with BizprocClient.from_webhook(portal.webhook_url, limiter="off") as client:
        pending = client._executor.submit(Call("user.get", {"ID": 1}, parse=_method))
        assert not pending.done and pending.error is None
        with pytest.raises(RuntimeError, match="await it first"):
            pending.result()
        assert await pending == "user.get"
        assert await pending == "user.get"  # awaiting again does not send again
        assert pending.ok and pending.result() == "user.get"
        assert client.stats.requests == 1
        assert client._executor.client is client


async def test_concurrent_awaiters_share_one_send(emu: EmuFactory) -> None:
    portal = await emu()
    async with BizprocClient.from_webhook(portal.webhook_url, limiter="off") as client:
        pending = client._executor.submit(Call("user.get", {"ID": 1}, parse=_method))

        async def wait() -> str:
            return await pending

        assert await asyncio.gather(wait(), wait(), wait()) == ["user.get"] * 3
        assert client.stats.requests == 1 and pending.result() == "user.get"


async def test_cancelling_the_sender_reaches_the_other_awaiters(emu: EmuFactory) -> None:
    portal = await emu()
    async with BizprocClient.from_webhook(portal.webhook_url, limiter="off") as client:
        pending = client._executor.submit(Call("user.get", {"ID": 1}, parse=_method))

        async def wait() -> str:
            return await pending

        sender = asyncio.create_task(wait())
        await asyncio.sleep(0)  # the sender is now in flight
        joiner = asyncio.create_task(wait())
        await asyncio.sleep(0)
        sender.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(joiner, 5)  # the bound only matters if the joiner were left waiting
        assert pending.done and pending.error is None
        with pytest.raises(asyncio.CancelledError):
            pending.result()


async def test_a_failing_parser_becomes_a_server_error(emu: EmuFactory) -> None:
    portal = await emu()

    def broken(response: ApiResponse) -> int:
        raise KeyError("ID")

    async with BizprocClient.from_webhook(portal.webhook_url, limiter="off") as client:
        pending = client._executor.submit(Call("user.get", parse=broken))
        with pytest.raises(ServerError, match="could not read the answer"):
            await pending
        assert isinstance(pending.error, ServerError)


async def test_namespaces_batch_and_paginate_are_wired(emu: EmuFactory) -> None:
    portal = await emu()
    async with BizprocClient.from_webhook(portal.webhook_url, limiter="off") as client:
        assert isinstance(client.workflows, WorkflowsService)
        for name in ("templates", "tasks", "activities", "robots", "events", "users"):
            assert getattr(client, name) is not None
        from bitrix_bizproc._batch import BatchComposer
        from bitrix_bizproc._paging import Paginator

        assert isinstance(client.batch(halt=True), BatchComposer)
        assert isinstance(client.paginate("bizproc.task.list"), Paginator)
        assert client.stats is client.session.stats


async def test_auto_batch_coalesces_concurrent_calls(emu: EmuFactory) -> None:
    portal = await emu()
    async with BizprocClient.from_webhook(portal.webhook_url, limiter="off", auto_batch=True) as client:
        pendings = [client._executor.submit(Call("user.get", {"ID": i}, parse=_method)) for i in range(20)]
        assert await asyncio.gather(*pendings) == ["user.get"] * 20
    assert portal.counters.batches >= 1 and portal.counters.requests < 20


async def test_closed_session_refuses_calls(emu: EmuFactory) -> None:
    portal = await emu()
    client = BizprocClient.from_webhook(portal.webhook_url, limiter="off")
    await client.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await client.call("user.get")


class _BrokenSharedBucket:
    """A shared bucket whose ``aclose`` fails (its backend gone)."""

    spec = BucketSpec(rate=2.0, burst=50)
    epoch = 0

    async def reserve(self) -> float:
        return 0.0

    def on_rejected(self) -> None:
        pass

    def on_accepted(self) -> None:
        pass

    async def aclose(self) -> None:
        raise ConnectionError("backend gone")


class _CountingTransport:
    def __init__(self) -> None:
        self.closed = 0

    async def send(self, request: HttpRequest) -> HttpResponse:
        raise AssertionError("not expected to send")

    async def aclose(self) -> None:
        self.closed += 1


async def test_the_transport_is_closed_even_when_the_limiter_fails_to_close() -> None:
    transport = _CountingTransport()
    client = BizprocClient.from_webhook(
        "https://example.bitrix24.com/rest/1/abcdefgh12345678/",
        limiter=_BrokenSharedBucket(),
        transport=transport,
    )
    with pytest.raises(ConnectionError):
        await client.aclose()
    assert transport.closed == 1


async def test_a_webhook_refuses_an_app_context_method_every_time_before_sending(emu: EmuFactory) -> None:
    portal = await emu()
    async with BizprocClient.from_webhook(portal.webhook_url, limiter="off") as client:
        assert await client._executor.submit(Call("user.get", {"ID": 1}, parse=_method)) == "user.get"
        for _ in range(3):  # the methods let through are remembered; a refusal is not
            with pytest.raises(AccessDeniedError, match="application context"):
                await client.activities.list()
        assert await client._executor.submit(Call("user.get", {"ID": 1}, parse=_method)) == "user.get"
        assert client.stats.requests == 2
