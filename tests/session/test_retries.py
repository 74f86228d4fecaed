"""Retries on the emulated portal: 5xx, dropped connections, the non-idempotent rule, no-retry codes."""

from __future__ import annotations

import pytest

from bitrix_bizproc import (
    AccessDeniedError,
    BizprocClient,
    NotFoundError,
    OutcomeUnknownError,
    OverloadError,
    RetryPolicy,
    ServerError,
    TransportError,
    ValidationError,
)
from bitrix_bizproc.emulator import FaultKind, PortalConfig

from .conftest import CREATED, EmuFactory, Gate


def client_for(url: str, gate: Gate, **kwargs: object) -> BizprocClient:
    return BizprocClient.from_webhook(url, limiter="off", sleep=gate, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", [FaultKind.HTTP_500, FaultKind.HTTP_502])
async def test_5xx_is_retried(emu: EmuFactory, kind: FaultKind) -> None:
    portal = await emu()
    portal.faults.inject(kind, times=2, method="user.get")
    gate = Gate()
    async with client_for(portal.webhook_url, gate) as client:
        assert (await client.call("user.get")).result["method"] == "user.get"
        assert client.stats.retries == {"server_error": 2}
        assert client.stats.requests == 3
    assert len(gate.waits) == 2 and all(0 <= w <= 1.0 for w in gate.waits)  # jittered backoff


async def test_the_retry_budget_runs_out(emu: EmuFactory) -> None:
    portal = await emu()
    portal.faults.inject(FaultKind.HTTP_502, times=10)
    async with client_for(portal.webhook_url, Gate(), retry=RetryPolicy(max_attempts=3)) as client:
        with pytest.raises(ServerError, match="502"):
            await client.call("user.get")
        assert client.stats.requests == 3 and client.stats.errors_by_class == {"ServerError": 1}
        assert client.stats.errors_by_code == {}  # a bare 502 carries no portal code


async def test_dropped_connection_on_a_create_method_is_outcome_unknown(emu: EmuFactory) -> None:
    portal = await emu()
    portal.faults.inject(FaultKind.DROP, method="bizproc.workflow.start")
    async with client_for(portal.webhook_url, Gate()) as client:
        with pytest.raises(OutcomeUnknownError, match="outcome is unknown") as info:
            await client.call(
                "bizproc.workflow.start", {"TEMPLATE_ID": 1, "DOCUMENT_ID": ["crm", "Deal", "D_1"]}
            )
        assert info.value.method == "bizproc.workflow.start"
        assert client.stats.requests == 1 and client.stats.retries == {}
    assert portal.counters.faults["drop"] == 1


async def test_a_create_method_after_a_proxy_error_page_is_outcome_unknown(emu: EmuFactory) -> None:
    portal = await emu()
    portal.faults.inject(FaultKind.HTTP_502, method="bizproc.workflow.start")
    async with client_for(portal.webhook_url, Gate()) as client:
        with pytest.raises(OutcomeUnknownError):
            await client.call("bizproc.workflow.start", {"TEMPLATE_ID": 1})


async def test_opting_in_retries_a_create_method(emu: EmuFactory) -> None:
    portal = await emu()
    portal.faults.inject(FaultKind.DROP, method="bizproc.workflow.start")
    async with client_for(portal.webhook_url, Gate()) as client:
        response = await client.call("bizproc.workflow.start", {"TEMPLATE_ID": 1}, idempotent=True)
        assert response.result == "wf-1" and client.stats.retries == {"connection": 1}
    assert CREATED["bizproc.workflow.start"] == 1


async def test_dropped_connection_on_a_read_is_retried(emu: EmuFactory) -> None:
    portal = await emu()
    portal.faults.inject(FaultKind.DROP, times=2)
    async with client_for(portal.webhook_url, Gate()) as client:
        assert (await client.call("bizproc.task.list")).result["method"] == "bizproc.task.list"
        assert client.stats.retries == {"connection": 2}


@pytest.mark.parametrize(
    ("method", "error"),
    [
        ("test.denied", AccessDeniedError),
        ("test.not_found", NotFoundError),
        ("test.invalid", ValidationError),
    ],
)
async def test_no_retry_for_refusals(emu: EmuFactory, method: str, error: type[Exception]) -> None:
    portal = await emu()
    async with client_for(portal.webhook_url, Gate()) as client:
        with pytest.raises(error):
            await client.call(method)
        assert client.stats.requests == 1


@pytest.mark.parametrize(
    ("method", "params"),
    [("bad method", None), ("", None), ("user.get", ["ID"]), ("user.get", {"d": object()})],
)
async def test_bad_input_is_refused_before_any_request(emu: EmuFactory, method: str, params: object) -> None:
    portal = await emu()
    async with client_for(portal.webhook_url, Gate()) as client:
        with pytest.raises(ValidationError):
            await client.call(method, params)  # type: ignore[arg-type]
        assert client.stats.requests == 0
    assert portal.counters.requests == 0


async def test_overload_is_never_retried(emu: EmuFactory) -> None:
    portal = await emu(PortalConfig(overload=True))
    async with client_for(portal.webhook_url, Gate()) as client:
        with pytest.raises(OverloadError):
            await client.call("user.get")
        assert client.stats.requests == 1


async def test_connection_refused_is_retried_then_raised() -> None:
    gate = Gate()
    async with client_for("http://127.0.0.1:9/rest/1/secretcode/", gate) as client:
        with pytest.raises(TransportError, match="cannot connect") as info:
            await client.call("bizproc.workflow.start")  # never sent: safe to retry even a create
        assert "secretcode" not in str(info.value)
        assert client.stats.requests == 5 and client.stats.retries == {"connection": 4}


async def test_a_timeout_on_a_create_method_is_outcome_unknown(emu: EmuFactory) -> None:
    portal = await emu()
    portal.faults.inject(FaultKind.SLOW, method="bizproc.workflow.start", delay=0.5)
    async with client_for(portal.webhook_url, Gate(), timeout=0.1) as client:
        with pytest.raises(OutcomeUnknownError):
            await client.call("bizproc.workflow.start", {"TEMPLATE_ID": 1})


async def test_a_timeout_on_a_read_is_retried(emu: EmuFactory) -> None:
    portal = await emu()
    portal.faults.inject(FaultKind.SLOW, method="user.get", delay=0.5)
    async with client_for(portal.webhook_url, Gate(), timeout=0.1) as client:
        assert (await client.call("user.get")).result["method"] == "user.get"
        assert client.stats.retries == {"timeout": 1}


async def test_a_call_in_backoff_when_the_client_closes_opens_no_new_connection_pool(emu: EmuFactory) -> None:
    portal = await emu()
    portal.faults.inject(FaultKind.HTTP_502, times=1, method="user.get")
    clients: list[BizprocClient] = []

    async def close_during_backoff(seconds: float) -> None:
        await clients[0].aclose()

    client = BizprocClient.from_webhook(portal.webhook_url, limiter="off", sleep=close_during_backoff)
    clients.append(client)
    with pytest.raises(RuntimeError, match="closed"):
        await client.call("user.get")
    assert client.session.transport._session is None  # type: ignore[attr-defined]  # nothing left to leak
