"""OAuth tokens in Redis, with the refresh lock that stops two workers from rotating the pair at once."""

from __future__ import annotations

import json
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager

from redis.asyncio import Redis

from ..protocol.auth import OAuthTokens
from ..protocol.errors import ConfigurationError
from ._common import check_client, check_key, redis_failures
from ._lock import RedisLock

__all__ = ["RedisTokenStore"]


class RedisTokenStore:
    """A token store every worker of one install shares; refreshes are serialised by a Redis lock.

    The tokens are kept as JSON under ``key`` (they are secrets: protect the Redis server); the lock lives
    under ``key + ":refresh-lock"`` and expires after ``lock_timeout`` seconds if its holder dies.
    """

    def __init__(
        self,
        redis: Redis,
        key: str = "bitrix_bizproc:tokens",
        *,
        lock_timeout: float = 60.0,
        lock_wait: float | None = None,
    ) -> None:
        self.redis = check_client(redis)
        self.key = check_key(key)
        self.lock = RedisLock(self.redis, f"{key}:refresh-lock", timeout=lock_timeout, wait=lock_wait)

    async def load(self) -> OAuthTokens | None:
        """The stored tokens, or ``None`` if the key is empty."""
        with redis_failures("loading OAuth tokens"):
            raw = await self.redis.get(self.key)
        if raw is None:
            return None
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise ConfigurationError(f"the Redis key {self.key!r} does not hold token JSON") from None
        if not isinstance(data, Mapping):
            raise ConfigurationError(f"the Redis key {self.key!r} does not hold a JSON object")
        return OAuthTokens.from_json(data)

    async def save(self, tokens: OAuthTokens) -> None:
        """Store a new pair (the previous refresh token is dead by now)."""
        payload = json.dumps(tokens.to_json(), separators=(",", ":"))
        with redis_failures("saving OAuth tokens"):
            await self.redis.set(self.key, payload)

    async def delete(self) -> None:
        """Remove the tokens (the app was uninstalled)."""
        with redis_failures("deleting OAuth tokens"):
            await self.redis.delete(self.key)

    async def save_if_empty(self, tokens: OAuthTokens) -> OAuthTokens:
        """Store the starting pair only if the key is empty (``SET NX``); the pair stored afterwards."""
        payload = json.dumps(tokens.to_json(), separators=(",", ":"))
        with redis_failures("saving OAuth tokens"):
            await self.redis.set(self.key, payload, nx=True)
        return await self.load() or tokens

    def refresh_lock(self) -> AbstractAsyncContextManager[None]:
        """The install-wide lock held around "reload, decide, refresh, save"."""
        return self.lock.hold()

    def __repr__(self) -> str:
        return f"RedisTokenStore(key={self.key!r})"
