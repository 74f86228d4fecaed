"""RedisTokenStore: workers sharing an install refresh once between them and never lose the rotated pair."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import NO_REDIS_PY

pytest.importorskip("redis", reason=NO_REDIS_PY)

from redis.asyncio import Redis

from bitrix_bizproc import BizprocClient, InvalidGrantError, OAuthTokens, TransportError
from bitrix_bizproc._transport import AiohttpTransport, HttpRequest, HttpResponse
from bitrix_bizproc.emulator import EmulatedPortal
from bitrix_bizproc.redis import RedisTokenStore


class TokenServerTap:
    """The real transport, counting token-server requests and failing the first ``fail`` of them unsent."""

    def __init__(self, fail: int = 0) -> None:
        self.inner = AiohttpTransport(timeout=10)
        self.token_requests = 0
        self.fail = fail

    async def send(self, request: HttpRequest) -> HttpResponse:
        if "/oauth/token" in request.url:
            self.token_requests += 1
            if self.fail:
                self.fail -= 1
                raise TransportError("cannot connect (scripted)", details={"sent": False, "timeout": False})
        return await self.inner.send(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def seeded_store(portal: EmulatedPortal, redis: Redis, key: str) -> RedisTokenStore:
    store = RedisTokenStore(redis, key)
    issued = portal.issue_tokens()
    await store.save(OAuthTokens(issued["access_token"], issued["refresh_token"], issued["client_endpoint"]))
    return store


def client_of(portal: EmulatedPortal, store: RedisTokenStore, transport: Any = None) -> BizprocClient:
    return BizprocClient.from_oauth(
        client_id=portal.oauth_app.client_id,
        client_secret=portal.oauth_app.client_secret,
        token_url=portal.token_url,
        token_store=store,
        limiter="off",
        transport=transport,
    )


async def calls(*clients: BizprocClient, each: int = 50) -> list[Any]:
    return await asyncio.gather(
        *(c.call("user.get", {"ID": i}) for i in range(each) for c in clients), return_exceptions=True
    )


async def test_two_clients_on_an_expired_token_refresh_once_and_keep_the_rotated_pair(
    portal: EmulatedPortal, redis_client: Redis, key: str
) -> None:
    store = await seeded_store(portal, redis_client, key)
    first, second = client_of(portal, store), client_of(portal, store)
    async with first, second:
        await calls(first, second, each=1)  # both have loaded the pair
        for round_ in (1, 2):  # the second round refreshes with the token the first one rotated in
            before = await store.load()
            portal.auth.expire_access_tokens()
            outcomes = await calls(first, second)
            assert not [o for o in outcomes if isinstance(o, BaseException)]
            assert portal.counters.token_refreshes == round_
            after = await store.load()
            assert before is not None and after is not None
            assert after.refresh_token != before.refresh_token
        assert first.stats.refreshes + second.stats.refreshes == 2
    assert await redis_client.exists(store.lock.key) == 0


async def test_a_failed_refresh_releases_the_lock_and_the_next_call_recovers(
    portal: EmulatedPortal, redis_client: Redis, key: str
) -> None:
    store = await seeded_store(portal, redis_client, key)
    tap = TokenServerTap(fail=3)  # more than the refresh's own bounded retries
    async with client_of(portal, store, tap) as client:
        await client.call("user.get")
        portal.auth.expire_access_tokens()
        with pytest.raises(TransportError):
            await client.call("user.get")
        assert await redis_client.exists(store.lock.key) == 0
        await client.call("user.get")  # the refresh token survived the failure
    assert tap.token_requests == 4 and portal.counters.token_refreshes == 1


async def test_invalid_grant_is_tried_once_per_client_and_never_again(
    portal: EmulatedPortal, redis_client: Redis, key: str
) -> None:
    store = await seeded_store(portal, redis_client, key)
    stored = await store.load()
    assert stored is not None
    app = portal.oauth_app
    # Someone outside the store rotates the pair: the stored refresh token is dead.
    portal.auth.grant(
        {
            "grant_type": "refresh_token",
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "refresh_token": stored.refresh_token,
        }
    )
    portal.auth.expire_access_tokens()
    taps = [TokenServerTap(), TokenServerTap()]
    clients = [client_of(portal, store, tap) for tap in taps]
    try:
        for _ in range(2):
            outcomes = await calls(*clients, each=20)
            assert {type(o) for o in outcomes} == {InvalidGrantError}
        assert [tap.token_requests for tap in taps] == [1, 1]
        assert await redis_client.exists(store.lock.key) == 0
    finally:
        for client in clients:
            await client.aclose()


async def test_the_store_round_trips_and_never_shows_a_token(redis_client: Redis, key: str) -> None:
    store = RedisTokenStore(redis_client, key)
    assert await store.load() is None
    tokens = OAuthTokens("acc-SECRET", "ref-SECRET", "https://p.bitrix24.com/rest/", expires_at=5.0)
    await store.save(tokens)
    assert await store.load() == tokens
    assert "SECRET" not in repr(store) and key in repr(store)
    await redis_client.set(key, b"not json")
    with pytest.raises(ValueError, match="token JSON") as info:
        await store.load()
    assert "SECRET" not in str(info.value)


async def test_an_app_install_is_kept_and_deleted(redis_client: Redis, key: str) -> None:
    """What a BitrixApp keeps per portal: the tokens with the application token; uninstall deletes them."""
    store = RedisTokenStore(redis_client, key)
    tokens = OAuthTokens(
        "a", "r", "https://p.bitrix24.com/rest/", member_id="m1", application_token="app-SECRET"
    )
    await store.save(tokens)
    assert await store.load() == tokens
    await store.delete()
    assert await store.load() is None and await redis_client.exists(key) == 0


TOKEN_WORKER = Path(__file__).with_name("_token_worker.py")


async def test_workers_starting_on_an_empty_store_never_overwrite_the_rotated_pair(
    portal: EmulatedPortal, redis_port: int, key: str
) -> None:
    """Issue 16: four processes start on the install's first pair, already expired, on one empty store.

    Each fills the store "only if empty" and uses what is stored; one refreshes. With a plain overwrite a
    late worker puts the dead first pair back over the rotated one and every later refresh gets
    ``invalid_grant``.
    """
    issued = portal.issue_tokens()
    config = {
        "client_id": portal.oauth_app.client_id,
        "client_secret": portal.oauth_app.client_secret,
        "token_url": portal.token_url,
        "access_token": issued["access_token"],
        "refresh_token": issued["refresh_token"],
        "client_endpoint": issued["client_endpoint"],
    }
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            str(TOKEN_WORKER),
            str(redis_port),
            key,
            json.dumps(config),
            "30",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for _ in range(4)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            assert (await proc.stdout.readline()).strip() == b"ready"
        outputs = await asyncio.gather(*(proc.communicate(b"go\n") for proc in procs))
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    summaries = [json.loads(out) for out, _ in outputs]
    assert [s["failed"] for s in summaries] == [[]] * 4
    assert portal.counters.token_refreshes == 1
    redis = Redis(host="127.0.0.1", port=redis_port)
    try:
        stored = await RedisTokenStore(redis, key).load()
    finally:
        await redis.aclose()
    assert stored is not None and stored.refresh_token != issued["refresh_token"]  # the rotated, live pair
