"""The gateway's key checks, error envelope, rate limit and outages, as the client's typed errors."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import pytest

from bitrix_bizproc._client import BizprocClient
from bitrix_bizproc.emulator import EmulatedPortal
from bitrix_bizproc.emulator.vibecode import VibecodeGateway
from bitrix_bizproc.protocol.errors import (
    AccessDeniedError,
    BitrixError,
    ExpiredTokenError,
    InvalidCredentialsError,
    ServerError,
)

from .conftest import DEAL_TYPE, Connect, FakeTime


@pytest.fixture
def workflow_id(portal: EmulatedPortal) -> str:
    """One running workflow."""
    portal.state.add_template("T", DEAL_TYPE)
    return portal.state.add_instances(1)[0].id


async def test_missing_api_key(gateway: VibecodeGateway) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{gateway.base_url}/workflows") as response:
        body = await response.json()
    assert response.status == 401
    assert body == {
        "success": False,
        "error": {"code": "MISSING_API_KEY", "message": body["error"]["message"]},
    }


@pytest.mark.parametrize("code", ["INVALID_API_KEY", "TOKEN_MISSING"])
async def test_refused_keys_are_invalid_credentials(
    gateway: VibecodeGateway, connect: Connect, workflow_id: str, code: str
) -> None:
    if code == "INVALID_API_KEY":
        revoked = gateway.add_key()
        gateway.revoke(revoked)
        client = connect(revoked)
    else:
        client = connect(gateway.add_key(connected=False))
    with pytest.raises(InvalidCredentialsError) as caught:
        await client.workflows.kill(workflow_id)
    assert (caught.value.code, caught.value.status) == (code, 401)
    assert client.stats.requests == 1  # auth errors are never retried


async def test_expired_session_token(gateway: VibecodeGateway, connect: Connect, workflow_id: str) -> None:
    app_key = gateway.add_key(kind="app")
    client = connect(app_key, gateway.add_session(app_key))
    gateway.expire_sessions()
    with pytest.raises(ExpiredTokenError) as caught:
        await client.workflows.kill(workflow_id)
    assert (caught.value.code, caught.value.status) == ("TOKEN_EXPIRED", 401)
    assert "re-authorize" in caught.value.description
    assert client.stats.requests == 1


@pytest.mark.parametrize("code", ["SCOPE_DENIED", "BITRIX_ACCESS_DENIED"])
async def test_access_errors(
    portal: EmulatedPortal, gateway: VibecodeGateway, connect: Connect, workflow_id: str, code: str
) -> None:
    if code == "SCOPE_DENIED":
        key = gateway.add_key(scopes={"crm"})
    else:  # the portal itself refuses: only administrators may terminate workflows
        key = gateway.add_key(user_id=5, admin=False)
    with pytest.raises(AccessDeniedError) as caught:
        await connect(key).workflows.kill(workflow_id)
    assert (caught.value.code, caught.value.status) == (code, 403)
    assert portal.state.instance(workflow_id) is not None


async def test_rate_limited_answers_429_with_retry_after(gateway: VibecodeGateway, key: str) -> None:
    gateway.per_minute = 2
    url = f"{gateway.base_url}/workflows"
    async with aiohttp.ClientSession(headers={"X-Api-Key": key}) as http:
        statuses = []
        for _ in range(3):
            async with http.get(url) as response:
                statuses.append(response.status)
                retry_after, body = response.headers.get("Retry-After"), await response.json()
    assert statuses == [200, 200, 429]
    assert (
        retry_after == "60" and body["error"]["code"] == "RATE_LIMITED" and body["error"]["retryAfter"] == 60
    )


async def test_the_client_waits_retry_after_then_succeeds(
    gateway: VibecodeGateway, client: BizprocClient, fake_time: FakeTime, workflow_id: str
) -> None:
    gateway.per_minute = 2
    await client.workflows.instances_page()
    await client.workflows.instances_page()
    assert await client.workflows.kill(workflow_id) is True
    assert gateway.rejections["RATE_LIMITED"] == 1
    assert fake_time.sleeps == [60.0]  # Retry-After, not a guessed backoff
    assert client.stats.retries["query_limit"] == 1


async def test_bitrix_unavailable_is_retried_as_a_server_error(
    portal: EmulatedPortal, gateway: VibecodeGateway, client: BizprocClient, workflow_id: str
) -> None:
    gateway.unavailable = 2
    assert await client.workflows.terminate(workflow_id) is True
    assert gateway.rejections["BITRIX_UNAVAILABLE"] == 2
    assert client.stats.retries["server_error"] == 2
    assert portal.state.counts()["terminated"] == 1


async def test_bitrix_unavailable_when_retries_run_out(
    gateway: VibecodeGateway, client: BizprocClient
) -> None:
    gateway.unavailable = 10
    with pytest.raises(ServerError) as caught:
        await client.workflows.instances_page()
    assert (caught.value.code, caught.value.status) == ("BITRIX_UNAVAILABLE", 502)


async def test_the_vibecode_limiter_preset_keeps_under_300_a_minute(
    portal: EmulatedPortal, gateway: VibecodeGateway, connect: Connect, key: str, fake_time: FakeTime
) -> None:
    portal.state.add_template("T", DEAL_TYPE)
    made = portal.state.add_instances(400)
    client = connect(key, limiter="vibecode")
    results = await asyncio.gather(*(client.workflows.kill(w.id) for w in made))
    assert all(results)
    assert gateway.rejections["RATE_LIMITED"] == 0
    assert portal.state.counts()["killed"] == 400
    assert fake_time.sleeps  # the limiter did pace the burst


async def test_secrets_stay_out_of_reprs_logs_and_errors(
    gateway: VibecodeGateway, connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    app_key = gateway.add_key(kind="app")
    token = gateway.add_session(app_key)
    client = connect(app_key, token)
    gateway.unavailable = 1
    gateway.expire_sessions()
    caplog.set_level(logging.DEBUG, logger="bitrix_bizproc")
    with pytest.raises(BitrixError) as caught:
        await client.workflows.kill("66e412fdc9bd44.36306599")
    seen = " ".join([repr(client), repr(client.session), str(caught.value), repr(caught.value), caplog.text])
    assert app_key not in seen and token not in seen
