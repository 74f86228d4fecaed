"""Hooks see every request, answer, retry and throttle, without a secret, and never break a call."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bitrix_bizproc import BizprocClient, BucketSpec
from bitrix_bizproc._observe import AnswerEvent, Event, RequestEvent, RetryEvent, ThrottleEvent
from bitrix_bizproc.emulator import FaultKind

from .conftest import EmuFactory, Gate


async def test_a_retried_call_reports_each_attempt_without_a_secret(emu: EmuFactory) -> None:
    portal = await emu()
    portal.faults.inject(FaultKind.HTTP_502, times=1, method="user.get")
    events: list[Event] = []
    code = portal.webhook_url.rstrip("/").rsplit("/", 1)[1]
    async with BizprocClient.from_webhook(
        portal.webhook_url, limiter="off", sleep=Gate(), hooks=[events.append]
    ) as client:
        await client.call("user.get", {"ID": 1})
    host = portal.webhook_url.split("/")[2]
    assert [type(e) for e in events] == [RequestEvent, AnswerEvent, RetryEvent, RequestEvent, AnswerEvent]
    first, failed, retry, second, answer = events
    assert (first.method, first.host, first.attempt) == ("user.get", host, 1)  # type: ignore[union-attr]
    assert isinstance(failed, AnswerEvent) and failed.status == 502 and failed.error == "ServerError"
    assert isinstance(retry, RetryEvent) and retry.reason == "server_error" and retry.attempt == 1
    assert isinstance(second, RequestEvent) and second.attempt == 2
    assert isinstance(answer, AnswerEvent) and answer.status == 200 and answer.error is None
    assert answer.request_id == second.request_id != first.request_id  # type: ignore[union-attr]
    assert all(code not in repr(e) for e in events)


async def test_the_limiter_holding_a_call_back_is_a_throttle_event(emu: EmuFactory) -> None:
    portal = await emu()
    now = [1000.0]
    events: list[Event] = []
    gate = Gate(advance=lambda s: now.__setitem__(0, now[0] + s))
    client = BizprocClient.from_webhook(
        portal.webhook_url, limiter=BucketSpec(rate=1.0, burst=2), clock=lambda: now[0], sleep=gate
    )
    client.on(events.append)
    async with client:
        for _ in range(3):
            await client.call("user.get")
    throttled = [e for e in events if isinstance(e, ThrottleEvent)]
    assert throttled and throttled[0].method == "user.get" and throttled[0].waited > 0


async def test_a_failing_hook_is_logged_and_the_call_goes_on(
    emu: EmuFactory, caplog: pytest.LogCaptureFixture
) -> None:
    portal = await emu()
    seen: list[Event] = []

    def broken(event: Event) -> None:
        raise ValueError("hook bug")

    async def slow(event: Event) -> None:
        await asyncio.sleep(0)
        seen.append(event)

    async with BizprocClient.from_webhook(portal.webhook_url, limiter="off", hooks=[broken, slow]) as client:
        with caplog.at_level(logging.ERROR, logger="bitrix_bizproc"):
            assert (await client.call("user.get")).result["method"] == "user.get"
        await asyncio.sleep(0.01)
        client.off(broken)
        assert len(client.session.hooks) == 1
    assert "a hook failed" in caplog.text
    assert [type(e) for e in seen] == [RequestEvent, AnswerEvent]


def test_hooks_must_be_callables() -> None:
    from bitrix_bizproc import ConfigurationError

    with pytest.raises(ConfigurationError):
        BizprocClient.from_webhook("https://p.bitrix24.com/rest/1/abcdefgh12345678/", hooks=["print"])
