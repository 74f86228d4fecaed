"""The portal's request bucket kept in Redis, so that every worker of one portal stays under it together.

One Lua script does all the arithmetic atomically on Redis's own clock (``TIME``), so the workers' clocks
never matter. It keeps the rule of :class:`bitrix_bizproc.protocol.limits.LeakyBucket`, shared: a request
may go when either bound leaves it room,

* by send time: a slot is reserved when its request is let go (possibly in the future) and drains from
  then; the spec's headroom stays free for late arrivals, and a spec whose headroom covers less than its
  jitter allowance counts each request in full for the rest (its ``lag``) before it drains;
* by answer: every sharer reports its answers (with the portal's ``time.processing``) and its lost tries;
  a request counts in full until its answer is back and drains from then (from ``processing`` earlier;
  a lost one from ``jitter_allowance`` after its try ended). This bound needs no headroom: a first burst
  takes the whole burst and quick answers give room back at once.

Answers are measured on the reporting process's monotonic clock and sent as "so long ago", so they too are
placed on Redis's clock, never earlier than they happened. They are sent at once in the background (one
report at a time per process; those that come meanwhile ride along with the next). A process that dies
with requests on their way leaves them counted in full (the answer bound only gets slower, never unsafe)
until the idle bucket expires.

A rejection fills both bounds and slows the assumed drain rate for everyone, recovering with each
accepted request.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time

from redis.asyncio import Redis

from .._tasks import wait_for_all
from ..protocol.errors import ConfigurationError, TransportError
from ..protocol.limits import BucketSpec, LeakyBucket, bucket_spec
from ._common import check_client, check_key, redis_failures

__all__ = ["RedisBucket"]

logger = logging.getLogger("bitrix_bizproc")

# KEYS[1]: the bucket hash {level, at, lagging, answered, answered_at, in_flight, factor}.
# ARGV: rate, burst, capacity, lag, accepted, rejected, reserve (0|1), slowdown, min factor, recovery,
# ttl ms, then one offset per answer: it counts from now + offset (negative: that long ago).
# Returns the seconds from now until the reserved request may be sent (as a string: Lua numbers would
# come back truncated to integers). ``lagging``: the times (comma-separated) at which requests still
# counted in full by the send-time bound start to drain.
_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local base_rate, burst, capacity = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local lag = tonumber(ARGV[4])
local accepted, rejected = tonumber(ARGV[5]), tonumber(ARGV[6])
local EPSILON = 1e-9
local state = redis.call('HMGET', KEYS[1], 'level', 'at', 'lagging', 'answered', 'answered_at',
    'in_flight', 'factor')
local level = tonumber(state[1]) or 0
local at = tonumber(state[2]) or now
local lagging = {}
for item in string.gmatch(state[3] or '', '[^,]+') do
    lagging[#lagging + 1] = tonumber(item)
end
local answered = tonumber(state[4]) or 0
local answered_at = tonumber(state[5]) or now
local in_flight = tonumber(state[6]) or 0
local factor = tonumber(state[7]) or 1

local function rate()
    return base_rate * factor
end
local function drained(t)
    if t <= at then
        return level
    end
    return math.max(0, level - (t - at) * rate())
end
local function answered_level(t)
    if t <= answered_at then
        return answered
    end
    return math.max(0, answered - (t - answered_at) * rate())
end
local function settle(t)  -- requests whose lag is over join the draining count
    local kept = {}
    for _, start in ipairs(lagging) do
        if start <= t then
            local b = math.max(start, at)
            level = drained(b) + 1
            at = b
        else
            kept[#kept + 1] = start
        end
    end
    lagging = kept
end
local function count(t)  -- one request sent (or booked) at t, in the send-time bound
    if lag > 0 then
        local start = t + lag
        if #lagging > 0 then
            start = math.max(start, lagging[#lagging])
        end
        lagging[#lagging + 1] = start
        return
    end
    local b = math.max(t, at)
    level = drained(b) + 1
    at = b
end
local function lagged_delay(b, need)
    settle(b)
    local r = rate()
    local t, lvl, left = b, drained(b), #lagging
    for _, start in ipairs(lagging) do
        if lvl + left <= need + EPSILON then
            return t - now
        end
        local target = need - left
        if target >= 0 and t + (lvl - target) / r <= start then
            return t + (lvl - target) / r - now
        end
        lvl = math.max(0, lvl - (start - t) * r) + 1
        t, left = start, left - 1
    end
    local over = lvl - need
    if over > EPSILON then
        return t - now + over / r
    end
    return t - now
end
local function delay()
    local r = rate()
    local b = math.max(now, at)
    local by_send
    if #lagging > 0 then
        by_send = lagged_delay(b, capacity - 1)
    else
        local over = drained(b) + 1 - capacity
        by_send = b - now
        if over > EPSILON then
            by_send = by_send + over / r
        end
    end
    local room = burst - in_flight - 1
    if room < 0 or by_send <= 0 then
        return by_send
    end
    b = math.max(now, answered_at)
    local over = answered_level(b) - room
    local by_answer = b - now
    if over > EPSILON then
        by_answer = by_answer + over / r
    end
    return math.min(by_send, by_answer)
end

for i = 12, #ARGV do  -- answers: each counts from its moment on, as far as the last one counted
    if in_flight > 0 then
        in_flight = in_flight - 1
        local b = math.max(now + tonumber(ARGV[i]), answered_at)
        answered = answered_level(b) + 1
        answered_at = b
    end
end
if accepted > 0 and factor < 1 then
    factor = math.min(1, factor + accepted * tonumber(ARGV[10]))
end
if rejected > 0 then
    local b = math.max(now, at)
    settle(b)
    level = math.max(drained(b), capacity)
    at = b
    answered = burst
    answered_at = math.max(now, answered_at)
    factor = math.max(tonumber(ARGV[9]), factor * tonumber(ARGV[8]) ^ rejected)
end
local wait = 0
if ARGV[7] == '1' then
    wait = math.max(0, delay())
    count(now + wait)
    in_flight = in_flight + 1
end
local kept = {}
for i, start in ipairs(lagging) do
    kept[i] = string.format('%.17g', start)
end
redis.call('HSET', KEYS[1], 'level', string.format('%.17g', level), 'at', string.format('%.17g', at),
    'lagging', table.concat(kept, ','), 'answered', string.format('%.17g', answered),
    'answered_at', string.format('%.17g', answered_at), 'in_flight', in_flight,
    'factor', string.format('%.17g', factor))
redis.call('PEXPIRE', KEYS[1], ARGV[11])
return string.format('%.17g', wait)
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
        self._answers: list[tuple[float, float]] = []  # (monotonic moment, seconds to count it after that)
        self._reporting: asyncio.Task[None] | None = None
        self._flushes: set[asyncio.Task[None]] = set()
        # Idle state expires once the bucket has certainly drained, even at the slowest assumed rate.
        drain = (resolved.burst / resolved.rate + resolved.lag) / LeakyBucket.MIN_RATE_FACTOR
        self._ttl_ms = math.ceil((drain + resolved.jitter_allowance + 600.0) * 1000)

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
        self._report()

    def on_accepted(self) -> None:
        """A request went through: the shared drain rate may recover (sent with the next reservation)."""
        self._accepted += 1

    def on_answered(self, *, lost: bool = False, processing: float = 0.0) -> None:
        """The answer to a reserved request is back (``lost``: its try ended without one); see the module.

        ``processing``: the portal ran it that long before answering (the caller checked the figure). A
        reserved request that was never sent is reported as answered now.
        """
        after = self._spec.jitter_allowance if lost else -processing
        self._answers.append((time.monotonic(), after))
        self._report()

    async def aclose(self) -> None:
        """Wait for pending reports; the bucket stays usable (the Redis client is yours)."""
        await wait_for_all(self._flushes)

    def _report(self) -> None:
        """Send what is pending in the background, one report at a time (news meanwhile rides along)."""
        if self._reporting is not None and not self._reporting.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop: the next reservation carries the news
        task = self._reporting = loop.create_task(self._flush())
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def _flush(self) -> None:
        while self._rejected or self._accepted or self._answers:
            try:
                await self._run(reserve=False)
            except TransportError as exc:
                logger.warning("could not report to the shared bucket %r: %s", self.key, exc)
                return

    async def _run(self, *, reserve: bool) -> float:
        accepted, rejected, answers = self._accepted, self._rejected, self._answers
        self._accepted = self._rejected = 0
        self._answers = []
        spec = self._spec
        now = time.monotonic()
        args: list[str | int] = [
            repr(spec.rate),
            spec.burst,
            spec.capacity,
            repr(spec.lag),
            accepted,
            rejected,
            int(reserve),
            repr(LeakyBucket.SLOWDOWN),
            repr(LeakyBucket.MIN_RATE_FACTOR),
            repr(LeakyBucket.RECOVERY),
            self._ttl_ms,
        ]
        args.extend(repr(after - (now - moment)) for moment, after in answers)
        try:
            with redis_failures("reserving a request slot"):
                raw = await self._script(keys=[self.key], args=args)
        except BaseException:
            self._accepted += accepted  # not known to have reached Redis: send them again next time
            self._rejected += rejected
            # Answers are not sent again: had they reached Redis after all, twice would free room that
            # is not free. Lost, they leave their requests counted in full (slower, never unsafe).
            raise
        return max(0.0, float(raw))

    def __repr__(self) -> str:
        return f"RedisBucket(key={self.key!r}, rate={self._spec.rate:g}/s, burst={self._spec.burst})"
