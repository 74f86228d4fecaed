"""The portal's request bucket kept in Redis, so that every worker of one portal stays under it together.

One Lua script does all the arithmetic atomically on Redis's own clock (``TIME``), so the workers' clocks
never matter. It mirrors the send-time bound of :class:`bitrix_bizproc.protocol.limits.LeakyBucket` (not
its bound by answer: answers are not shared, so the headroom always stays free): a slot is reserved at send
time (possibly in the future), the capacity keeps the spec's headroom free, and a rejection fills the
bucket and slows the assumed drain rate for everyone, recovering with each accepted request.
"""

from __future__ import annotations

import asyncio
import logging
import math

from redis.asyncio import Redis

from .._tasks import wait_for_all
from ..protocol.errors import ConfigurationError, TransportError
from ..protocol.limits import BucketSpec, LeakyBucket, bucket_spec
from ._common import check_client, check_key, redis_failures

__all__ = ["RedisBucket"]

logger = logging.getLogger("bitrix_bizproc")

# KEYS[1]: the bucket hash {level, at, factor}.
# ARGV: rate, capacity, accepted, rejected, reserve (0|1), slowdown, min factor, recovery, ttl ms.
# Returns the seconds from now until the reserved request may be sent (as a string: Lua numbers would
# come back truncated to integers).
_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local rate, capacity = tonumber(ARGV[1]), tonumber(ARGV[2])
local accepted, rejected = tonumber(ARGV[3]), tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'level', 'at', 'factor')
local level = tonumber(state[1]) or 0
local at = tonumber(state[2]) or now
local factor = tonumber(state[3]) or 1

-- Drain up to now (or stay at the last reserved send, if that lies in the future).
if now > at then
    level = math.max(0, level - (now - at) * rate * factor)
    at = now
end
if accepted > 0 and factor < 1 then
    factor = math.min(1, factor + accepted * tonumber(ARGV[8]))
end
if rejected > 0 then
    level = math.max(level, capacity)
    factor = math.max(tonumber(ARGV[7]), factor * tonumber(ARGV[6]) ^ rejected)
end
local wait = 0
if ARGV[5] == '1' then
    local over = level + 1 - capacity
    local send_at = at
    if over > 0 then
        send_at = at + over / (rate * factor)
        level = level - over
    end
    level = level + 1
    at = send_at
    wait = send_at - now
end
redis.call('HSET', KEYS[1], 'level', tostring(level), 'at', tostring(at), 'factor', tostring(factor))
redis.call('PEXPIRE', KEYS[1], ARGV[9])
return tostring(wait)
"""


class RedisBucket:
    """A request bucket in Redis: pass it as ``limiter=`` to every client of one portal, in every process.

    ``spec`` is a preset name or a :class:`BucketSpec` and must be the same wherever ``key`` is used.
    """

    def __init__(self, redis: Redis, key: str, spec: BucketSpec | str = "standard") -> None:
        self.redis = check_client(redis)
        self.key = check_key(key)
        resolved = bucket_spec(spec)
        if resolved is None:
            raise ConfigurationError(
                "a shared bucket needs limits: give a preset name or a BucketSpec, not 'off'"
            )
        self._spec = resolved
        self._script = self.redis.register_script(_SCRIPT)
        self._epoch = 0
        self._accepted = 0  # events not yet sent to Redis: they ride along with the next script call
        self._rejected = 0
        self._flushes: set[asyncio.Task[None]] = set()
        # Idle state expires once the bucket has certainly drained, even at the slowest assumed rate.
        drain = resolved.capacity / (resolved.rate * LeakyBucket.MIN_RATE_FACTOR)
        self._ttl_ms = math.ceil((drain + 600.0) * 1000)

    @property
    def spec(self) -> BucketSpec:
        """The bucket's shape."""
        return self._spec

    @property
    def epoch(self) -> int:
        """Bumped by each rejection seen in this process (the limiter then re-plans its next send)."""
        return self._epoch

    async def reserve(self) -> float:
        """Reserve the earliest slot for one request; seconds to wait before sending it (0: now)."""
        return await self._run(reserve=True)

    def on_rejected(self) -> None:
        """The portal answered ``QUERY_LIMIT_EXCEEDED``: mark the shared bucket full at once."""
        self._rejected += 1
        self._epoch += 1
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop: the next reservation carries the news
        task = loop.create_task(self._flush())
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    def on_accepted(self) -> None:
        """A request went through: the shared drain rate may recover (sent with the next reservation)."""
        self._accepted += 1

    async def aclose(self) -> None:
        """Wait for pending rejection reports; the bucket stays usable (the Redis client is yours)."""
        await wait_for_all(self._flushes)

    async def _flush(self) -> None:
        if not (self._rejected or self._accepted):
            return
        try:
            await self._run(reserve=False)
        except TransportError as exc:
            logger.warning("could not report a rejection to the shared bucket %r: %s", self.key, exc)

    async def _run(self, *, reserve: bool) -> float:
        accepted, rejected = self._accepted, self._rejected
        self._accepted = self._rejected = 0
        spec = self._spec
        args: list[str | int] = [
            repr(spec.rate),
            spec.capacity,
            accepted,
            rejected,
            int(reserve),
            repr(LeakyBucket.SLOWDOWN),
            repr(LeakyBucket.MIN_RATE_FACTOR),
            repr(LeakyBucket.RECOVERY),
            self._ttl_ms,
        ]
        try:
            with redis_failures("reserving a request slot"):
                raw = await self._script(keys=[self.key], args=args)
        except BaseException:
            self._accepted += accepted  # not known to have reached Redis: send them again next time
            self._rejected += rejected
            raise
        return max(0.0, float(raw))

    def __repr__(self) -> str:
        return f"RedisBucket(key={self.key!r}, rate={self._spec.rate:g}/s, burst={self._spec.burst})"
