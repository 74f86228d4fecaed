"""Tokens of many portals in Redis, shared by every worker (extra ``redis``).

Each portal's pair lives under ``<prefix>:tokens:<member_id>`` as a :class:`RedisTokenStore` (so each
portal's refresh is serialised by its own lock, independent of the others); the set ``<prefix>:members``
lists the portals and the hash ``<prefix>:domains`` maps domains to member ids.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable
from typing import TypeVar

from redis.asyncio import Redis

from ..protocol.auth import OAuthTokens
from ..redis import RedisTokenStore
from ..redis._common import check_client, check_key, redis_failures
from .stores import check_member_id, domain_of, unindexed_domain

__all__ = ["RedisPortalStore"]


T = TypeVar("T")


async def _done(value: Awaitable[T] | T) -> T:
    """redis-py types its commands as "awaitable or not" for sync and async clients alike."""
    return await value if inspect.isawaitable(value) else value


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


class _RedisPortalView(RedisTokenStore):
    """One portal's :class:`RedisTokenStore`; ``delete()`` also drops it from the members and domains."""

    def __init__(self, owner: RedisPortalStore, member_id: str) -> None:
        key = f"{owner.prefix}:tokens:{check_member_id(member_id)}"
        super().__init__(owner.redis, key, lock_timeout=owner.lock_timeout)
        self._owner = owner
        self._member_id = member_id

    async def save(self, tokens: OAuthTokens) -> None:
        """Store the portal's tokens and register it (a member; its domain if none is recorded yet)."""
        await super().save(tokens)
        await self._owner.register(self._member_id, tokens)

    async def save_if_empty(self, tokens: OAuthTokens) -> OAuthTokens:
        """Store ``tokens`` only if the portal has none yet; registered as :meth:`save` does."""
        stored = await super().save_if_empty(tokens)
        await self._owner.register(self._member_id, stored)
        return stored

    async def delete(self) -> None:
        """Forget the portal (the app was uninstalled): as ``store.remove(member_id)``."""
        await self._owner.remove(self._member_id)


class RedisPortalStore:
    """A :class:`~bitrix_bizproc.fleet.stores.PortalTokenStore` in Redis; the Redis client stays yours."""

    def __init__(self, redis: Redis, prefix: str = "bizproc:fleet", *, lock_timeout: float = 60.0) -> None:
        self.redis = check_client(redis)
        self.prefix = check_key(prefix, "prefix")
        self.lock_timeout = lock_timeout

    def for_portal(self, member_id: str) -> RedisTokenStore:
        """The portal's :class:`RedisTokenStore` (with its own refresh lock)."""
        return _RedisPortalView(self, member_id)

    async def load(self, member_id: str) -> OAuthTokens | None:
        """The portal's tokens."""
        return await self.for_portal(member_id).load()

    async def save(self, member_id: str, tokens: OAuthTokens, *, domain: str | None = None) -> None:
        """Store the portal's tokens and index its domain."""
        found = domain_of(tokens, domain)
        await RedisTokenStore.save(self.for_portal(member_id), tokens)  # indexed here, not as a view save
        with redis_failures("indexing a portal"):
            await _done(self.redis.sadd(f"{self.prefix}:members", member_id))
            await _done(self.redis.hset(f"{self.prefix}:domains", found, member_id))

    async def register(self, member_id: str, tokens: OAuthTokens) -> None:
        """After a save through the portal's view: a member, with the endpoint's host if it has no domain."""
        domain = await unindexed_domain(self, member_id, tokens)
        with redis_failures("indexing a portal"):
            await _done(self.redis.sadd(f"{self.prefix}:members", member_id))
            if domain is not None:
                await _done(self.redis.hsetnx(f"{self.prefix}:domains", domain, member_id))

    async def remove(self, member_id: str) -> None:
        """Forget the portal: its tokens, its membership and its domain."""
        domain = await self.domain_of_member(member_id)
        with redis_failures("removing a portal"):
            await self.redis.delete(f"{self.prefix}:tokens:{check_member_id(member_id)}")
            await _done(self.redis.srem(f"{self.prefix}:members", member_id))
            if domain is not None:
                await _done(self.redis.hdel(f"{self.prefix}:domains", domain))

    async def members(self) -> list[str]:
        """Every portal with tokens."""
        with redis_failures("listing portals"):
            raw = await _done(self.redis.smembers(f"{self.prefix}:members"))
        return sorted(m for m in (_text(v) for v in raw) if m)

    async def member_for_domain(self, domain: str) -> str | None:
        """The portal at ``domain``."""
        with redis_failures("looking up a domain"):
            return _text(await _done(self.redis.hget(f"{self.prefix}:domains", domain.lower())))

    async def domain_of_member(self, member_id: str) -> str | None:
        """The domain recorded for the portal (a scan of the small domain hash)."""
        with redis_failures("looking up a portal's domain"):
            pairs = await _done(self.redis.hgetall(f"{self.prefix}:domains"))
        return next((_text(d) for d, m in pairs.items() if _text(m) == member_id), None)

    def __repr__(self) -> str:
        return f"RedisPortalStore(prefix={self.prefix!r})"
