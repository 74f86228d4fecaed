"""Token stores of many portals: memory, a directory, Redis; the same contract for each."""

from __future__ import annotations

import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from redis_shared.conftest import redis_port  # noqa: F401  (the session's redis-server)

from bitrix_bizproc import ConfigurationError, OAuthTokens
from bitrix_bizproc.fleet import FilePortalStore, MemoryPortalStore, PortalTokenStore


def pair(n: int, host: str = "portal.bitrix24.com") -> OAuthTokens:
    return OAuthTokens(f"access-{n}", f"refresh-{n}", f"https://{host}/rest/", expires_at=1e10)


@pytest.fixture(params=["memory", "file", "redis"])
async def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[PortalTokenStore]:
    if request.param == "memory":
        yield MemoryPortalStore()
    elif request.param == "file":
        yield FilePortalStore(tmp_path / "tokens")
    else:
        pytest.importorskip("redis", reason="redis-py is not installed")
        from redis.asyncio import Redis

        from bitrix_bizproc.fleet.redis import RedisPortalStore

        port = request.getfixturevalue("redis_port")
        client = Redis(host="127.0.0.1", port=port, db=3)
        await client.flushdb()
        yield RedisPortalStore(client, "test:fleet")
        await client.flushdb()
        await client.aclose()


async def test_save_load_remove_and_the_domain_index(any_store: PortalTokenStore) -> None:
    assert await any_store.members() == []
    await any_store.save("m1", pair(1, "Alpha.bitrix24.com"))
    await any_store.save("m2", pair(2), domain="beta.bitrix24.de")
    assert await any_store.members() == ["m1", "m2"]
    assert await any_store.load("m1") == pair(1, "Alpha.bitrix24.com")
    assert await any_store.member_for_domain("alpha.bitrix24.com") == "m1"
    assert await any_store.member_for_domain("beta.bitrix24.de") == "m2"
    # A rotation through the single-portal view lands in the fleet's store, the domain index intact.
    view = any_store.for_portal("m2")
    await view.save(pair(3, "127.0.0.1"))
    assert await any_store.load("m2") == pair(3, "127.0.0.1")
    assert await view.load() == pair(3, "127.0.0.1")
    assert await any_store.member_for_domain("beta.bitrix24.de") == "m2"
    await any_store.remove("m2")
    assert await any_store.members() == ["m1"]
    assert await any_store.load("m2") is None
    assert await any_store.member_for_domain("beta.bitrix24.de") is None
    await any_store.remove("never-there")  # nothing to forget: no error


@pytest.mark.parametrize("bad", ["", "../up", "a/b", "x" * 65, 7, None])
async def test_member_ids_that_could_escape_a_key_or_path_are_refused(
    any_store: PortalTokenStore, bad: Any
) -> None:
    with pytest.raises(ConfigurationError, match="member_id"):
        await any_store.save(bad, pair(1))
    with pytest.raises(ConfigurationError, match="member_id"):
        any_store.for_portal(bad)


async def test_the_file_store_keeps_tokens_private(tmp_path: Path) -> None:
    store = FilePortalStore(tmp_path)
    await store.save("m1", pair(1))
    mode = stat.S_IMODE((tmp_path / "m1.json").stat().st_mode)
    assert mode == 0o600
    assert "access-1" not in repr(store) and "access-1" not in repr(await store.load("m1"))


async def test_the_memory_view_fills_only_an_empty_slot() -> None:
    store = MemoryPortalStore()
    view = store.for_portal("m1")
    assert await view.save_if_empty(pair(1)) == pair(1)  # type: ignore[attr-defined]
    assert await view.save_if_empty(pair(2)) == pair(1)  # type: ignore[attr-defined]
    assert await store.load("m1") == pair(1)
