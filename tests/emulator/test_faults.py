"""Point 6: scripted and random faults, dropped connections, slow answers, latency model."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from bitrix_bizproc.emulator import EmulatedPortal, FaultKind
from bitrix_bizproc.protocol.envelope import parse_response
from bitrix_bizproc.protocol.errors import QueryLimitError, ServerError

from .conftest import Post, calls


@pytest.mark.parametrize(("kind", "status"), [(FaultKind.HTTP_500, 500), (FaultKind.HTTP_502, 502)])
async def test_scripted_5xx_answers_an_html_page_then_recovers(
    stub: EmulatedPortal, http: aiohttp.ClientSession, kind: FaultKind, status: int
) -> None:
    stub.faults.inject(kind)
    async with http.post(stub.webhook_url + "test.echo", json={}) as response:
        body = await response.read()
        assert response.status == status and response.content_type == "text/html"
    assert body.startswith(b"<html>") and str(status).encode() in body
    with pytest.raises(ServerError):
        parse_response(status, body)
    assert calls(stub) == []  # the call never reached the portal
    async with http.post(stub.webhook_url + "test.echo", json={}) as response:
        assert response.status == 200
    assert stub.counters.faults[kind.value] == 1


async def test_faults_can_target_one_method(stub: EmulatedPortal, post: Post) -> None:
    stub.faults.inject(FaultKind.QUERY_LIMIT, times=2, method="test.list")
    assert (await post(stub.webhook_url + "test.echo", json={}))[0] == 200
    status, body = await post(stub.webhook_url + "test.list", json={})
    assert (status, body["error"]) == (503, "QUERY_LIMIT_EXCEEDED")
    assert stub.faults.pending == 1


async def test_query_limit_burst(stub: EmulatedPortal, post: Post) -> None:
    stub.faults.query_limit_burst(3)
    statuses = [(await post(stub.webhook_url + "test.echo", json={}))[0] for _ in range(4)]
    assert statuses == [503, 503, 503, 200]
    assert stub.counters.rejections["QUERY_LIMIT_EXCEEDED"] == 3
    with pytest.raises(QueryLimitError):
        parse_response(503, b'{"error":"QUERY_LIMIT_EXCEEDED","error_description":"Too many requests"}')


async def test_dropped_connection_gives_no_answer(stub: EmulatedPortal, http: aiohttp.ClientSession) -> None:
    stub.faults.inject(FaultKind.DROP)
    with pytest.raises(aiohttp.ClientConnectionError):
        async with http.post(stub.webhook_url + "test.echo", json={}) as response:
            await response.read()
    async with http.post(stub.webhook_url + "test.echo", json={}) as response:
        assert response.status == 200  # the portal keeps serving
    assert stub.counters.rejections["DROPPED"] == 1


async def test_slow_answer_trips_a_client_timeout(stub: EmulatedPortal, http: aiohttp.ClientSession) -> None:
    stub.faults.inject(FaultKind.SLOW, delay=0.5)
    with pytest.raises(asyncio.TimeoutError):
        async with http.post(
            stub.webhook_url + "test.echo", json={}, timeout=aiohttp.ClientTimeout(total=0.05)
        ) as response:
            await response.read()


async def test_random_faults_are_deterministic_per_seed(stub: EmulatedPortal, post: Post) -> None:
    async def run() -> list[int]:
        stub.faults.set_random(0.5, (FaultKind.HTTP_502, FaultKind.QUERY_LIMIT), seed=7)
        return [(await post(stub.webhook_url + "test.echo", json={}))[0] for _ in range(20)]

    first, second = await run(), await run()
    assert first == second
    assert {502, 503} <= set(first) and 200 in first
    stub.faults.clear()
    assert (await post(stub.webhook_url + "test.echo", json={}))[0] == 200


async def test_a_faulted_batch_is_not_counted_as_a_batch(
    stub: EmulatedPortal, http: aiohttp.ClientSession
) -> None:
    stub.faults.set_random(1.0, (FaultKind.HTTP_500,))
    async with http.post(stub.webhook_url + "batch", json={"cmd": ["test.echo"]}) as response:
        assert response.status == 500
    assert stub.counters.batches == 0


def test_latency_model_is_base_plus_per_command(stub: EmulatedPortal) -> None:
    stub.faults.set_latency(base=0.05, per_command=0.01)
    assert stub.faults.latency(1) == pytest.approx(0.06)
    assert stub.faults.latency(50) == pytest.approx(0.55)
    with pytest.raises(ValueError, match="rate"):
        stub.faults.set_random(1.5, (FaultKind.DROP,))


@pytest.mark.parametrize(
    "kind", [FaultKind.HTTP_500, FaultKind.HTTP_502, FaultKind.TRUNCATED, FaultKind.HTML, FaultKind.RESET]
)
async def test_faults_after_the_call_ran_lose_only_the_answer(
    stub: EmulatedPortal, http: aiohttp.ClientSession, kind: FaultKind
) -> None:
    stub.faults.inject(kind, after=True)
    try:
        async with http.post(stub.webhook_url + "test.echo", json={}) as response:
            body = await response.read()
    except aiohttp.ClientError:  # a reset mid-answer
        assert kind is FaultKind.RESET
    else:
        assert kind is not FaultKind.RESET
        with pytest.raises(ServerError):
            parse_response(response.status, body)
    assert len(calls(stub)) == 1  # the call did run
    assert stub.counters.lost_answers == 1 and stub.counters.faults[kind.value] == 1


def test_a_limit_answer_never_strikes_after_the_call_ran() -> None:
    from bitrix_bizproc.emulator import Faults

    faults = Faults()
    faults.set_random(1.0, (FaultKind.QUERY_LIMIT, FaultKind.HTTP_500), after=1.0, seed=3)
    taken = [faults.take("batch") for _ in range(200)]
    assert all(f is not None for f in taken)
    assert {(f.kind, f.after) for f in taken if f is not None} == {
        (FaultKind.QUERY_LIMIT, False),
        (FaultKind.HTTP_500, True),
    }
