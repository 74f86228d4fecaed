"""The portal's limits as plain state and decisions: the request-rate leaky bucket and the operating budget.

Both take the current time as an argument; nothing here sleeps or reads a clock.

* :class:`LeakyBucket` mirrors the portal's per-portal bucket. Capacity is taken when a request is let go
  (not when its answer arrives), so a crowd of concurrent callers can never overfill it; a request let go
  is *held* (counted in full, not draining) until it actually leaves, and drains from then on, as it does in
  the portal's bucket, which counts it when it arrives.
* :class:`OperatingBudget` follows ``time.operating`` / ``operating_reset_at`` per method and says how
  long a method should wait before its next call; other methods are unaffected.

No answer can make a wait longer than :data:`MAX_WAIT` (the portal's 10-minute operating window plus a
minute of slack): a reset time or ``Retry-After`` further away is clamped to it, and NaN or infinite
figures are ignored.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from typing import Any, Literal

import attrs

from .envelope import MAX_WAIT, TimeInfo, by_command_key, opt_float
from .errors import ConfigurationError, ConfigurationTypeError

__all__ = [
    "MAX_WAIT",
    "PRESETS",
    "BucketSpec",
    "LeakyBucket",
    "MethodBudget",
    "OperatingBudget",
    "bucket_spec",
]


_EPSILON = 1e-9  # a fraction of a request: rounding left after waiting exactly the computed delay


def _bounded_wait(seconds: float) -> float:
    """``seconds`` within ``0..MAX_WAIT`` (NaN counts as the maximum: the safe side of an unknown)."""
    if seconds != seconds:  # NaN
        return MAX_WAIT
    return min(MAX_WAIT, max(0.0, seconds))


def _number(value: object, name: str) -> float:
    """The number option ``name`` (an int or float, not a bool) as a float."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationTypeError(f"{name} must be a number, not {type(value).__name__}")
    return float(value)


def _rate(value: object) -> float:
    return _number(value, "rate")


def _jitter(value: object) -> float:
    return _number(value, "jitter_allowance")


def _whole(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigurationTypeError(f"{attribute.name} must be a whole number, not {type(value).__name__}")


def _positive(_: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not value > 0:
        raise ConfigurationError(f"{attribute.name} must be positive, got {value!r}")


def _seconds(_: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0 <= value <= 3600:  # NaN fails too
        raise ConfigurationError(f"{attribute.name} must be between 0 and 3600 seconds, got {value!r}")


_DEFAULT_ALLOWANCE = 1.5


def _covered(rate: object, headroom: object) -> float:
    """The delay ``headroom`` slots cover at ``rate`` (the default allowance if either is not valid yet)."""
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not rate > 0:
        return _DEFAULT_ALLOWANCE  # the validators refuse it
    if isinstance(headroom, bool) or not isinstance(headroom, int) or headroom < 0:
        return _DEFAULT_ALLOWANCE
    return min(3600.0, headroom / rate)


def _default_headroom(spec: BucketSpec) -> int:
    """The slots that drain in ``jitter_allowance`` seconds, if the burst can spare them, or none.

    Past ``burst - 1`` slots the send-time bound lags instead (:attr:`BucketSpec.lag`); of the two ways
    to cover the allowance the one that sends faster for long is taken: ``burst - h`` requests may pend
    while each lags ``jitter_allowance - h / rate``.
    """
    rate, burst, allowance = spec.rate, spec.burst, spec.jitter_allowance
    slots = rate * allowance
    if slots < burst:  # infinity and NaN fail (the validators refuse NaN)
        headroom = math.ceil(round(slots, 9))  # round: 100 * 0.03 is 3 slots, not 4
        if headroom <= burst - 1:
            return headroom
    headroom = burst - 1
    lag = allowance - headroom / rate
    if lag <= _EPSILON or burst / allowance <= 1.0 / lag + _EPSILON:
        return headroom  # sends at least as fast as lagging the whole allowance
    return 0


@attrs.frozen(init=False)
class BucketSpec:
    """A leaky bucket's shape: it drains ``rate`` requests per second and blocks above ``burst`` pending.

    The client lets at most ``capacity = burst - headroom`` requests pend by its own count. A request reaches
    the portal's counter some time after the client counted it (connection set-up, the network, a queue in
    front of the portal); when earlier requests are held up longer than later ones, above all a first burst
    that waits for its connections while the client's count already drains, the portal's bucket is fuller
    than the client's by up to ``rate`` x that delay. ``jitter_allowance`` is the delay covered, in seconds:
    ``headroom = ceil(rate * jitter_allowance)`` slots stay free (at most ``burst - 1``; ``headroom=`` sets
    them directly).

    The default, 1.5 s, is for a portal across the internet: a new connection's TCP and TLS handshakes (a
    few hundred ms), one lost SYN (retransmitted after 1 s), a short queue in front of the portal. On the
    standard plan (2/s) it keeps 3 of the 50 slots free, on enterprise (5/s) 8 of 250. It costs little: the
    client also bounds the portal's level by the answers it has back (see :class:`LeakyBucket`), which needs
    no headroom, so a first burst takes the whole ``burst`` and, once answers come back, only the round
    trips' worth of slots stays free. Over a LAN or loopback a smaller allowance will do; a bucket sped up
    N times for a test or a demo wants the allowance divided by N as well.

    ``headroom=`` alone covers ``headroom / rate`` seconds (the allowance follows from it). When the
    headroom covers less than the allowance (both given, or a ``rate x jitter_allowance`` of ``burst`` or
    more, where at most ``burst - 1`` slots can stay free), the send-time bound counts each request in
    full for the rest, :attr:`lag` seconds after it left, before letting it drain: every spec accepted is
    honoured, at the cost of a slower send-time bound for such a spec.
    """

    rate: float = attrs.field(converter=_rate, validator=_positive)
    burst: int = attrs.field(validator=[_whole, _positive])
    jitter_allowance: float = attrs.field(default=1.5, converter=_jitter, validator=_seconds, kw_only=True)
    headroom: int = attrs.field(default=attrs.Factory(_default_headroom, takes_self=True), kw_only=True)

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        jitter_allowance: float | None = None,
        headroom: int | None = None,
    ) -> None:
        if jitter_allowance is None:
            jitter_allowance = _DEFAULT_ALLOWANCE
            if headroom is not None:  # the headroom given is the delay covered: the allowance follows
                jitter_allowance = _covered(rate, headroom)
        if headroom is None:
            self.__attrs_init__(rate, burst, jitter_allowance=jitter_allowance)
        else:
            self.__attrs_init__(rate, burst, jitter_allowance=jitter_allowance, headroom=headroom)

    @headroom.validator
    def _check_headroom(self, attribute: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < self.burst:
            raise ConfigurationError(f"headroom must be a whole number in [0, burst), got {value!r}")

    @property
    def capacity(self) -> int:
        """How many requests the client lets pend at once (``burst`` minus the headroom)."""
        return self.burst - self.headroom

    @property
    def lag(self) -> float:
        """Seconds a sent request counts in full in the send-time bound: the allowance the headroom misses."""
        lag = self.jitter_allowance - self.headroom / self.rate
        return lag if lag > _EPSILON else 0.0


PRESETS: dict[str, BucketSpec | None] = {
    "standard": BucketSpec(rate=2.0, burst=50),
    "enterprise": BucketSpec(rate=5.0, burst=250),
    # The Vibecode gateway: 300 requests/min per key, a sliding window. A bucket of 29 draining 4.5/s lets
    # at most 29 + 270 = 299 arrive in any 60 s (one spare for the window's edge); 22 at once by send time.
    "vibecode": BucketSpec(rate=4.5, burst=29),
    "unlimited": None,  # a self-hosted portal without limits: no pacing at all
    "off": None,
}

LimiterOption = Literal["standard", "enterprise", "vibecode", "unlimited", "off"] | BucketSpec | None


def bucket_spec(option: object) -> BucketSpec | None:
    """Resolve a limiter option (a preset name, a :class:`BucketSpec`, or ``None`` for off)."""
    if option is None or isinstance(option, BucketSpec):
        return option
    if isinstance(option, str):
        try:
            return PRESETS[option]
        except KeyError:
            raise ConfigurationError(
                f"unknown limiter preset {option!r}: use one of {sorted(PRESETS)} or a BucketSpec"
            ) from None
    raise ConfigurationTypeError(
        f"limiter must be a preset name, a BucketSpec or None, not {type(option).__name__}"
    )


class LeakyBucket:
    """The client's copy of the portal bucket.

    A request is counted when it leaves: :meth:`hold` takes its place when it is let go (it counts in full,
    not draining, while it has not left), :meth:`sent` counts it from the moment it is handed over. The
    older :meth:`reserve` books a send in order, possibly in the future, counted from that moment.

    Two bounds on the portal's level are kept; a request may go when either leaves it room:

    * by send time: each request drains from the moment it left, and ``headroom`` slots stay free for
      requests that reach the portal later than they left (up to ``jitter_allowance``), so the portal's
      level is at most this count plus the headroom, as long as no request is held up longer than that.
      A spec whose headroom covers less than the allowance counts each request in full for the rest
      (:attr:`BucketSpec.lag`) before it drains: a request sent at ``s`` reaches the portal by
      ``s + lag + headroom / rate``, which the headroom covers;
    * by answer: a request has reached the portal by the time its answer is back, so counted from its
      answer it drains no sooner than the portal's copy; one still on its way counts in full and does not
      drain. This bound holds however late a request arrives and needs no headroom: a first burst takes
      the whole ``burst`` (nothing the portal holds can be older), and once answers come back the headroom
      is only what the round trips cost. A request with no answer (a timeout, a reset) counts as answered
      ``jitter_allowance`` after it ended, and until then this bound lets nothing go.
    """

    __slots__ = (
        "_answered",
        "_answered_t",
        "_lag",
        "_lagging",
        "_level",
        "_rate_factor",
        "_t",
        "epoch",
        "held",
        "in_flight",
        "spec",
    )

    # After a rejection the drain rate assumed is cut by this factor, then recovers with each success.
    SLOWDOWN = 0.75
    MIN_RATE_FACTOR = 0.5
    RECOVERY = 0.02

    def __init__(self, spec: BucketSpec, *, now: float = 0.0) -> None:
        self.spec = spec
        self._level = 0.0  # pending requests at time ``_t`` (after the last reserved send)
        self._t = now
        self._lag = spec.lag
        self._lagging: deque[float] = deque()  # when each request sent within its lag starts to drain
        self._answered = 0.0  # the same, each request counted from its answer: at time ``_answered_t``
        self._answered_t = now
        self._rate_factor = 1.0
        self.epoch = 0  # bumped whenever earlier reservations become invalid
        self.held = 0  # let go but not sent yet: each counts in full and does not drain
        self.in_flight = 0  # sent (or reserved), answer not back yet: in full in the answer bound

    @property
    def rate(self) -> float:
        """The drain rate assumed now (lower for a while after a rejection)."""
        return self.spec.rate * self._rate_factor

    def level(self, now: float) -> float:
        """Pending requests at ``now`` as far as this client knows (counting reservations up to ``now``)."""
        if self._lagging:
            self._settle(now)
            return self._drained(now) + len(self._lagging)
        if now <= self._t:
            return self._level
        return max(0.0, self._level - (now - self._t) * self.rate)

    def _drained(self, now: float) -> float:
        if now <= self._t:
            return self._level
        return max(0.0, self._level - (now - self._t) * self.rate)

    def _settle(self, now: float) -> None:
        """Requests whose lag is over by ``now`` join the draining count, each from the end of its lag."""
        lagging = self._lagging
        while lagging and lagging[0] <= now:
            base = max(lagging.popleft(), self._t)
            self._level = self._drained(base) + 1.0
            self._t = base

    def _count(self, now: float) -> None:
        """Count one request sent (or booked) at ``now`` in the send-time bound."""
        if self._lag:
            lagging = self._lagging
            at = now + self._lag
            lagging.append(max(at, lagging[-1]) if lagging else at)
            return
        base = max(now, self._t)
        self._level = self._drained(base) + 1.0
        self._t = base

    def _lagged_delay(self, now: float, base: float, need: float) -> float:
        """Seconds from ``now`` until the send-time count, lagging requests included, is at most ``need``."""
        self._settle(base)
        rate = self.rate
        t, level, left = base, self._drained(base), len(self._lagging)
        for at in self._lagging:  # in full until ``at``, draining from then
            if level + left <= need + _EPSILON:
                return t - now
            target = need - left
            if target >= 0 and t + (level - target) / rate <= at:
                return t + (level - target) / rate - now
            level = max(0.0, level - (at - t) * rate) + 1.0
            t, left = at, left - 1
        over = level - need
        return t - now + (over / rate if over > _EPSILON else 0.0)

    def _answered_level(self, now: float) -> float:
        if now <= self._answered_t:
            return self._answered
        return max(0.0, self._answered - (now - self._answered_t) * self.rate)

    def delay(self, now: float) -> float:
        """Seconds from ``now`` until one more request fits, without reserving it."""
        rate = self.rate
        base = max(now, self._t)
        if self._lagging:
            by_send = self._lagged_delay(now, base, self.spec.capacity - self.held - 1.0)
        else:
            over = self._drained(base) + self.held + 1.0 - self.spec.capacity
            by_send = base - now + (over / rate if over > _EPSILON else 0.0)
        room = self.spec.burst - self.in_flight - self.held - 1.0  # what the answered requests may fill
        if room < 0 or by_send <= 0:
            return by_send
        base = max(now, self._answered_t)
        over = self._answered_level(base) - room
        by_answer = base - now + (over / rate if over > _EPSILON else 0.0)
        return min(by_send, by_answer)

    def free(self, now: float) -> int:
        """Requests that fit at once at ``now`` (by whichever bound leaves more room)."""
        # As in delay: a bound frees nothing before its time (a reservation, a lost try's arrival, ahead).
        by_send = self.spec.capacity - self.level(now) if now >= self._t else 0.0
        by_answer = 0.0
        if now >= self._answered_t:
            by_answer = self.spec.burst - self.in_flight - self._answered_level(now)
        return max(0, int(max(by_send, by_answer) - self.held + _EPSILON))

    def hold(self, now: float, *, force: bool = False) -> bool:
        """Take a slot now if one is free, for a request about to leave; then :meth:`sent` or :meth:`release`.

        Until it is sent the request counts in full and does not drain: the portal has not seen it yet.
        ``force``: take it anyway (the caller has waited out :meth:`delay`).
        """
        if not force and self.delay(now) > 0:
            return False
        self.held += 1
        return True

    def sent(self, now: float) -> None:
        """A held request has left: it counts from ``now`` and drains from then on; then :meth:`answered`."""
        self.held = max(0, self.held - 1)
        if self._lag:
            self._count(now)
        else:  # the common case, inline
            base = max(now, self._t)
            self._level = self._drained(base) + 1.0
            self._t = base
        self.in_flight += 1

    def answered(self, now: float, *, lost: bool = False, processing: float = 0.0) -> None:
        """The answer to a sent request is back at ``now`` (``lost``: the try ended without one).

        ``processing``: seconds the portal says it spent running the request (its ``time.processing``),
        at most the time since it was sent. The portal counts a request before it runs it, so the request
        counts from ``now - processing``: a long batch is not taken for a late arrival.

        A lost request may still reach the portal: it counts as arriving ``jitter_allowance`` later. The
        answered level is kept as of the latest such moment, so until then this bound lets nothing go, and
        an answer back before it counts from it.
        """
        if self.in_flight <= 0:
            return
        self.in_flight -= 1
        at = now + self.spec.jitter_allowance if lost else now - processing
        base = max(at, self._answered_t)
        self._answered = self._answered_level(base) + 1.0
        self._answered_t = base

    def release(self) -> None:
        """A held request did not leave after all: give its slot back."""
        self.held = max(0, self.held - 1)

    def reserve(self, now: float) -> float:
        """Reserve the earliest slot for one request and return its delay from ``now`` (0: send now).

        Its answer is never reported, so it stays in flight: only the send-time bound frees its place.
        """
        wait = self.delay(now)
        self._count(now + wait)
        self.in_flight += 1
        return wait

    def on_rejected(self, now: float) -> None:
        """The portal said ``QUERY_LIMIT_EXCEEDED``: assume the bucket full; drain slower for a while."""
        base = max(now, self._t)  # never below the send-time count: it may be above capacity, still arriving
        self._settle(base)  # requests still in their lag stay counted in full on top
        self._level = max(self._drained(base), float(self.spec.capacity))
        self._t = base
        self._answered = float(self.spec.burst)  # both bounds were wrong (another client?): full
        self._answered_t = max(now, self._answered_t)
        self._rate_factor = max(self.MIN_RATE_FACTOR, self._rate_factor * self.SLOWDOWN)
        self.epoch += 1

    def on_accepted(self) -> None:
        """A request went through: let the assumed drain rate recover towards the real one."""
        if self._rate_factor < 1.0:
            self._rate_factor = min(1.0, self._rate_factor + self.RECOVERY)


@attrs.define
class MethodBudget:
    """What the portal last said about one method's operating time."""

    operating: float = 0.0
    reset_at: float | None = None  # local-clock time when the oldest one-minute bucket expires
    blocked_until: float | None = None  # set after a 429 OPERATION_TIME_LIMIT


class OperatingBudget:
    """Per-method operating time (``time.operating``): decides when a method must pause until its reset."""

    # When the portal gives no reset time, one one-minute bucket is the next chance of relief.
    DEFAULT_WAIT = 60.0

    def __init__(self, limit: float | None = 480.0, *, near: float = 0.95) -> None:
        if limit is not None:
            limit = _number(limit, "operating_limit")
        if limit is not None and not limit > 0:
            raise ConfigurationError(f"operating limit must be positive or None, got {limit!r}")
        if not 0 < near <= 1:
            raise ConfigurationError(f"near must be in (0, 1], got {near!r}")
        self.limit = limit
        self.near = near
        self._methods: dict[str, MethodBudget] = {}

    def get(self, method: str) -> MethodBudget | None:
        """The state of ``method``, if the portal has reported on it."""
        return self._methods.get(method.lower())

    def observe(self, method: str, time: TimeInfo | None, now: float) -> None:
        """Record the ``time`` block of an answer for ``method``; missing fields are tolerated."""
        if time is None:
            return
        operating = time.figure("operating")
        if operating is None:
            return
        key = method.lower()
        state = self._methods.get(key)
        if state is None:
            state = self._methods[key] = MethodBudget()
        state.operating = operating
        state.blocked_until = None
        state.reset_at = _to_local(time.figure("operating_reset_at"), time, now)

    def observe_batch(self, commands: Mapping[str, str], result_time: object, now: float) -> None:
        """Record each ``result_time`` of a batch answer against the method of its command.

        A method ends with the figures of its last command that has them, as if each command were observed
        in turn; so only that command's block is read, and only the fields the budget uses.
        """
        seen: set[str] = set()
        latest: list[tuple[str, TimeInfo]] = []
        for key, raw in reversed(by_command_key(result_time).items()):
            method = commands.get(key)
            if method is None:
                continue
            folded = method.lower()
            if folded in seen or not isinstance(raw, Mapping):
                continue
            operating = opt_float(raw.get("operating"))
            if operating is None:
                continue
            seen.add(folded)
            time = TimeInfo(
                start=opt_float(raw.get("start")),
                finish=opt_float(raw.get("finish")),
                operating=operating,
                operating_reset_at=opt_float(raw.get("operating_reset_at")),
            )
            latest.append((method, time))
        for method, time in reversed(latest):
            self.observe(method, time, now)

    def on_blocked(
        self, method: str, now: float, *, time: TimeInfo | None = None, retry_after: float | None = None
    ) -> float:
        """The portal answered 429 ``OPERATION_TIME_LIMIT``: block ``method`` and return the wait."""
        state = self._methods.setdefault(method.lower(), MethodBudget())
        until = _to_local(time.figure("operating_reset_at"), time, now) if time is not None else None
        if until is None and retry_after is not None and math.isfinite(retry_after) and retry_after > 0:
            until = now + _bounded_wait(retry_after)
        if until is None and state.reset_at is not None and state.reset_at > now:
            until = state.reset_at
        if until is None or until <= now:
            until = now + self.DEFAULT_WAIT
        state.blocked_until = until
        return until - now

    def delay(self, method: str, now: float) -> float:
        """Seconds ``method`` should wait before its next call (0: go ahead)."""
        state = self._methods.get(method.lower())
        if state is None:
            return 0.0
        if state.blocked_until is not None:
            if state.blocked_until > now:
                return _bounded_wait(state.blocked_until - now)
            state.blocked_until = None
        if self.limit is None or state.operating < self.limit * self.near:
            return 0.0
        if state.reset_at is None:
            state.reset_at = now + self.DEFAULT_WAIT
        if state.reset_at > now:
            return _bounded_wait(state.reset_at - now)
        # The oldest bucket has expired: let one call through to learn the new figure.
        state.operating = 0.0
        return 0.0


def _to_local(reset_at: float | None, time: TimeInfo | None, now: float) -> float | None:
    """Turn the portal's ``operating_reset_at`` into local-clock time.

    Measured from the call's ``start`` on the portal's own clock, which cancels clock skew and errs on the
    safe side (by the call's duration at most). At most :data:`MAX_WAIT` ahead of ``now``.
    """
    if reset_at is None or not math.isfinite(reset_at):
        return None
    reference = now
    if time is not None:  # only the figures needed: an unread block stays unread
        start = time.figure("start")
        finish = time.figure("finish") if start is None else None
        reference = start if start is not None else finish if finish is not None else now
    return now + _bounded_wait(reset_at - reference)
