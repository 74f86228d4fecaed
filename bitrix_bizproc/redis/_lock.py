"""A lock across processes: ``SET NX PX`` with a random token, released by compare-and-delete."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis

from ..protocol.errors import ConfigurationError, TransportError
from ._common import check_client, check_key, redis_failures

__all__ = ["RedisLock"]

logger = logging.getLogger("bitrix_bizproc")

# Delete the key only if it still holds our token: a lock that expired and was taken over stays taken.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisLock:
    """A mutex shared by every process using the same Redis key; it expires after ``timeout`` seconds."""

    def __init__(
        self,
        redis: Redis,
        key: str,
        *,
        timeout: float = 60.0,
        wait: float | None = None,
        poll: float = 0.02,
    ) -> None:
        self.redis = check_client(redis)
        self.key = check_key(key)
        if not timeout > 0:
            raise ConfigurationError(f"timeout must be positive, got {timeout!r}")
        self.timeout = float(timeout)
        # By default wait as long as a crashed holder's lock can live, and a little more.
        self.wait = self.timeout + 1.0 if wait is None else float(wait)
        if self.wait < 0 or not poll > 0:
            raise ConfigurationError("wait must not be negative and poll must be positive")
        self.poll = poll
        self._release = self.redis.register_script(_RELEASE)

    async def acquire(self) -> str:
        """Wait for the lock and return the token that proves ownership; TransportError after ``wait``."""
        token = secrets.token_hex(16)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait
        pause = self.poll
        while True:
            with redis_failures("taking a lock"):
                if await self.redis.set(self.key, token, nx=True, px=max(1, round(self.timeout * 1000))):
                    return token
            left = deadline - loop.time()
            if left <= 0:
                raise TransportError(
                    f"timed out after {self.wait:g} s waiting for the lock {self.key!r}", code="LOCK_TIMEOUT"
                )
            await asyncio.sleep(min(pause, left))
            pause = min(pause * 2, 0.25)

    async def release(self, token: str) -> bool:
        """Release the lock if ``token`` still owns it; False if it expired meanwhile."""
        with redis_failures("releasing a lock"):
            released = bool(await self._release(keys=[self.key], args=[token]))
        if not released:
            logger.warning("the lock %r expired before it was released (held > %g s)", self.key, self.timeout)
        return released

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        """``async with lock.hold():`` runs the block while holding the lock; released however it ends."""
        token = await self.acquire()
        try:
            yield
        finally:
            try:
                await self.release(token)
            except TransportError:
                logger.warning("could not release the lock %r: it expires in %g s", self.key, self.timeout)

    def __repr__(self) -> str:
        return f"RedisLock({self.key!r}, timeout={self.timeout:g})"
