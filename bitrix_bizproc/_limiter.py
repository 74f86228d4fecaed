"""The async limiter: the portal's request bucket and the per-method operating budget, over asyncio.

Waiters queue in FIFO order; a single pacer task sleeps until the bucket has room and then wakes exactly
one waiter, so a thousand callers cost one timer, not a thousand wake-ups. A rejection from the portal
re-plans the queue at once, because capacity is handed out only when a request is actually let go.

A request is counted when it leaves: the session takes its place with ``hold=True`` once the request is
built, and calls :meth:`Limiter.sent` as it hands it to the transport. A place held (let go, not sent yet)
counts in full and does not drain, so a waiter that runs late, or a burst whose requests are handed over
one after another, never reaches the portal bunched above the burst the client kept. The session also
reports each answer (:meth:`Limiter.answered`): a request is known to have reached the portal by then, which
bounds the portal's level without the send-time headroom (see :class:`LeakyBucket`).

The bucket is local by default; a :class:`SharedBucket` (e.g. ``bitrix_bizproc.redis.RedisBucket``) keeps it
outside the process so that every worker of one portal draws on the same budget. Reservations then go
through the same FIFO pacer, one awaited reservation at a time; a shared bucket that also has
``on_answered(*, lost, processing)`` hears of every answer as the local one does (the answer bound).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

from ._stats import Stats
from .protocol.envelope import TimeInfo
from .protocol.errors import BitrixError, TransportError
from .protocol.limits import BucketSpec, LeakyBucket, OperatingBudget, bucket_spec

__all__ = ["Limiter", "SharedBucket", "resolve_bucket"]

logger = logging.getLogger("bitrix_bizproc")

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@runtime_checkable
class SharedBucket(Protocol):
    """A request bucket kept outside this process, shared by every client of one portal."""

    @property
    def spec(self) -> BucketSpec:
        """The bucket's shape (the same for every client sharing it)."""
        ...

    @property
    def epoch(self) -> int:
        """Bumped whenever this process learns that earlier reservations are no longer safe."""
        ...

    async def reserve(self) -> float:
        """Reserve the earliest slot for one request; seconds to wait before sending it (0: now)."""
        ...

    def on_rejected(self) -> None:
        """The portal answered ``QUERY_LIMIT_EXCEEDED``: tell every sharer the bucket is full."""
        ...

    def on_accepted(self) -> None:
        """A request went through."""
        ...

    async def aclose(self) -> None:
        """Finish background work (the bucket stays usable by other clients)."""
        ...


def resolve_bucket(option: object) -> BucketSpec | SharedBucket | None:
    """A limiter option: a preset name, a :class:`BucketSpec`, a :class:`SharedBucket`, or ``None`` (off)."""
    if isinstance(option, SharedBucket):
        return option
    return bucket_spec(option)


class Limiter:
    """Paces requests to the portal: the shared bucket first waits per method, then in one FIFO queue."""

    def __init__(
        self,
        spec: BucketSpec | SharedBucket | None,
        *,
        operating_limit: float | None = 480.0,
        clock: Clock,
        sleep: Sleep = asyncio.sleep,
        stats: Stats | None = None,
    ) -> None:
        self.shared = spec if isinstance(spec, SharedBucket) else None
        # Optional on a shared bucket: answers (and places never used) for its answer bound.
        self._shared_answered: Callable[..., None] | None = getattr(self.shared, "on_answered", None)
        self.spec = spec.spec if isinstance(spec, SharedBucket) else spec
        self._clock = clock  # wall time: the operating budget compares it with the portal's reset times
        # The bucket paces by elapsed time: a monotonic clock, so a wall-clock step (NTP, a suspended VM)
        # neither stalls the queue (a step back) nor lets a burst through (a step forward). A clock of the
        # caller's (a test's) drives both.
        self._pace_clock: Clock = time.monotonic if clock is time.time else clock
        self._sleep = sleep
        self._stats = stats if stats is not None else Stats()
        self.bucket = LeakyBucket(spec, now=self._pace_clock()) if isinstance(spec, BucketSpec) else None
        self.budget = OperatingBudget(operating_limit)
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._pacer: asyncio.Task[None] | None = None
        self._throttling = False
        self._left: asyncio.Future[None] | None = None  # the pacer waits for a held place to leave
        self._answer: asyncio.Future[None] | None = None  # the pacer's wait, cut short by an answer

    @property
    def waiting(self) -> int:
        """Callers queued for the bucket right now."""
        return len(self._waiters)

    def pace(self) -> tuple[float | None, int | None]:
        """What the bucket allows: its drain rate (``None``: no limits) and the slots free at once now.

        A shared bucket's free slots live elsewhere: ``None`` (unknown).
        """
        if self.shared is not None:
            return self.shared.spec.rate, None
        bucket = self.bucket
        if bucket is None:
            return None, None
        return bucket.rate, max(0, bucket.free(self._pace_clock()) - len(self._waiters))

    def try_acquire(self, method: str, *, hold: bool = False) -> bool:
        """Take a place for ``method`` at once if no wait is needed; False means ``await acquire()``.

        ``hold=True``: the request is counted when it leaves, so call :meth:`sent` as it is handed to the
        transport (or :meth:`release` if it never is); otherwise it is counted now.
        """
        if self.budget.delay(method, self._clock()) > 0 or self.shared is not None:
            return False
        bucket = self.bucket
        if bucket is None:
            return True
        now = self._pace_clock()
        if not self._waiters and bucket.hold(now):
            if not hold:
                bucket.sent(now)
            return True
        return False

    async def acquire(self, method: str, *, hold: bool = False) -> None:
        """Wait until ``method`` may be sent, then take its place in the bucket (``hold``: see above)."""
        while not self.try_acquire(method, hold=hold):
            if self.budget.delay(method, self._clock()) > 0:
                await self._wait_operating(method)
            elif self.bucket is not None or self.shared is not None:
                await self._wait_bucket()
                if not hold:
                    self.sent()
                return

    def sent(self) -> float:
        """A request let go with ``hold=True`` has been handed to the transport: count it from now.

        Returns the moment, to hand back to :meth:`answered`.
        """
        now = self._pace_clock()
        if self.bucket is not None:
            self.bucket.sent(now)
            self._has_left()
        return now

    def answered(
        self, *, lost: bool = False, processing: float | None = None, sent: float | None = None
    ) -> None:
        """The answer to a request counted by :meth:`sent` is back (``lost``: the try ended without one).

        ``processing``: the answer's ``time.processing``, with ``sent`` (what :meth:`sent` returned): the
        portal ran the request that long after counting it, so it counts from that much earlier. A missing,
        negative or non-finite figure counts as none, and so does one not shorter than the time since it
        was sent: the request took time to get there, so that figure is not the portal's (clamped, it would
        count the request from before the portal did).
        """
        bucket = self.bucket
        if bucket is None and self._shared_answered is None:
            return
        now = self._pace_clock()
        ran = 0.0
        if processing is not None and sent is not None and 0 < processing < now - sent:  # NaN fails
            ran = processing
        if bucket is not None:
            bucket.answered(now, lost=lost, processing=ran)
            if not lost and self._answer is not None and not self._answer.done():
                self._answer.set_result(None)  # the answer bound may have room sooner: the pacer re-plans
        elif self._shared_answered is not None:
            self._shared_answered(lost=lost, processing=ran)

    def release(self) -> None:
        """A request let go with ``hold=True`` will not be sent: give its place back."""
        if self.bucket is not None:
            self.bucket.release()
            self._has_left()
        elif self._shared_answered is not None:
            self._shared_answered(lost=False, processing=0.0)  # its reservation ends now, unused

    async def _wait_bucket(self) -> None:
        started = self._pace_clock()
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        if self._pacer is None or self._pacer.done():
            self._pacer = asyncio.create_task(self._pace())
        try:
            await fut
        except BaseException:
            if not fut.done():
                fut.cancel()  # the pacer skips it; the slot goes to the next waiter
            elif not fut.cancelled() and fut.exception() is None:
                self.release()  # let go, but its caller is gone: the place must not stay held
            raise
        finally:
            self._stats.throttled_seconds += max(0.0, self._pace_clock() - started)

    async def _wait_operating(self, method: str) -> None:
        while (wait := self.budget.delay(method, self._clock())) > 0:
            logger.info("operating budget of %s nearly used up: waiting %.1f s for its reset", method, wait)
            self._stats.throttled_seconds += wait
            await self._sleep(wait)

    def _epoch(self) -> int:
        return self.shared.epoch if self.shared is not None else 0

    async def _reserve(self) -> float:
        return await self.shared.reserve() if self.shared is not None else 0.0

    async def _pace(self) -> None:
        while self._waiters:
            if self._waiters[0].done():
                self._waiters.popleft()
                continue
            bucket = self.bucket
            if bucket is not None:  # local: the first waiter goes once a place is free (held till it leaves)
                wait, epoch = bucket.delay(self._pace_clock()), bucket.epoch
                if wait > 0:
                    self._throttle()
                    if await self._answered_within(wait):
                        continue  # an answer came back meanwhile: plan again
                    if bucket.epoch != epoch:
                        continue  # the portal rejected a request meanwhile: plan again
                    if bucket.held and bucket.delay(self._pace_clock()) > 0 and await self._held_left(bucket):
                        continue  # a place let go earlier has left only now (a slow rebuild): plan again
                while self._waiters and self._waiters[0].done():
                    self._waiters.popleft()  # gone while the pacer slept
                if self._waiters:  # free now, or after exactly the wait computed (a re-check could spin on
                    bucket.hold(self._pace_clock(), force=True)  # clock rounding)
                    self._waiters.popleft().set_result(None)
                continue
            epoch = self._epoch()
            try:
                wait = await self._reserve()
            except Exception as exc:  # a shared bucket out of reach: fail the caller, not the whole queue
                self._fail_first(exc)
                continue
            if wait > 0:
                self._throttle()
                try:
                    await self._sleep(wait)
                except BaseException:
                    self.release()  # the pacer stops (the client closes): the slot reserved is not used
                    raise
                if self._epoch() != epoch:
                    self.release()  # the portal rejected a request meanwhile: this slot no longer exists
                    continue
            while self._waiters:
                fut = self._waiters.popleft()
                if not fut.done():
                    fut.set_result(None)
                    break
            else:
                self.release()  # every waiter left meanwhile: the slot reserved is not used
        if self._throttling:
            self._throttling = False
            logger.info("rate limit: queue drained")

    def _has_left(self) -> None:
        if self._left is not None and not self._left.done():
            self._left.set_result(None)

    async def _answered_within(self, wait: float) -> bool:
        """Sleep ``wait`` seconds; True if an answer came back first (it may have made room sooner)."""
        answer = self._answer = asyncio.get_running_loop().create_future()
        try:
            return await self._first(answer, wait)
        finally:
            self._answer = None

    async def _held_left(self, bucket: LeakyBucket) -> bool:
        """Wait for a held place to be sent or released; False if none was within one more wait (forced)."""
        left = self._left = asyncio.get_running_loop().create_future()
        try:
            return await self._first(left, bucket.delay(self._pace_clock()))
        finally:
            self._left = None

    async def _first(self, signal: asyncio.Future[None], wait: float) -> bool:
        """Sleep ``wait`` seconds or until ``signal`` is set, whichever is first; True if the signal was."""
        timer = asyncio.ensure_future(self._sleep(wait))
        try:
            await asyncio.wait((signal, timer), return_when=asyncio.FIRST_COMPLETED)
            return signal.done()
        finally:
            signal.cancel()
            timer.cancel()

    def _throttle(self) -> None:
        if not self._throttling:
            self._throttling = True
            logger.info("rate limit: throttling, %d request(s) queued", len(self._waiters))

    def _fail_first(self, exc: Exception) -> None:
        if not isinstance(exc, BitrixError):
            reason = type(exc).__name__
            exc = TransportError(f"the shared rate limiter failed: {reason}", code="LIMITER_FAILED")
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_exception(exc)
                break

    def on_rejected(self) -> None:
        """The portal answered ``QUERY_LIMIT_EXCEEDED``: assume its bucket is full, slow down."""
        if self.shared is not None:
            self.shared.on_rejected()
        elif self.bucket is not None:
            self.bucket.on_rejected(self._pace_clock())

    def on_accepted(self, method: str, time: TimeInfo | None) -> None:
        """An answer came back: learn from its ``time`` block."""
        if self.shared is not None:
            self.shared.on_accepted()
        elif self.bucket is not None:
            self.bucket.on_accepted()
        self.budget.observe(method, time, self._clock())

    def on_operation_blocked(
        self, method: str, *, time: TimeInfo | None = None, retry_after: float | None = None
    ) -> float:
        """The portal answered 429 ``OPERATION_TIME_LIMIT`` for ``method``: block it until its reset."""
        return self.budget.on_blocked(method, self._clock(), time=time, retry_after=retry_after)

    async def aclose(self) -> None:
        """Stop the pacer and release every waiter with a cancellation."""
        pacer, self._pacer = self._pacer, None
        if pacer is not None and not pacer.done():
            pacer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pacer
        while self._waiters:
            self._waiters.popleft().cancel()
        if self.shared is not None:
            await self.shared.aclose()
