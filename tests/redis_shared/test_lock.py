"""RedisLock: one holder at a time, released only by its owner, released however the block ends."""

from __future__ import annotations

import pytest

from .conftest import NO_REDIS_PY

pytest.importorskip("redis", reason=NO_REDIS_PY)

from redis.asyncio import Redis

from bitrix_bizproc import TransportError
from bitrix_bizproc.redis import RedisLock


async def test_a_held_lock_keeps_others_out_until_released(redis_client: Redis, key: str) -> None:
    lock = RedisLock(redis_client, key, timeout=30)
    impatient = RedisLock(redis_client, key, wait=0)
    token = await lock.acquire()
    with pytest.raises(TransportError) as info:
        await impatient.acquire()
    assert info.value.code == "LOCK_TIMEOUT"
    assert await lock.release(token)
    assert await redis_client.exists(key) == 0
    assert await impatient.release(await impatient.acquire())


async def test_only_the_owner_releases(redis_client: Redis, key: str) -> None:
    lock = RedisLock(redis_client, key)
    token = await lock.acquire()
    await redis_client.set(key, "someone-else")  # our lock expired and another worker took it
    assert not await lock.release(token)
    assert await redis_client.get(key) == b"someone-else"


async def test_the_lock_expires_if_its_holder_vanishes(redis_client: Redis, key: str) -> None:
    await RedisLock(redis_client, key, timeout=12.5).acquire()
    assert 0 < await redis_client.pttl(key) <= 12_500


async def test_hold_releases_when_the_block_fails(redis_client: Redis, key: str) -> None:
    lock = RedisLock(redis_client, key)
    with pytest.raises(RuntimeError):
        async with lock.hold():
            assert await redis_client.exists(key) == 1
            raise RuntimeError("refresh failed")
    assert await redis_client.exists(key) == 0


def test_bad_settings_are_refused(redis_client: Redis) -> None:
    with pytest.raises(ValueError):
        RedisLock(redis_client, "k", timeout=0)
    with pytest.raises(ValueError):
        RedisLock(redis_client, "k", wait=-1)
