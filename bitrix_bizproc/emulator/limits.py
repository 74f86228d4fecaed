"""The portal's limits: the leaky request bucket and the per-method operating-time budget."""

from __future__ import annotations

import enum
from collections import deque

import attrs

__all__ = [
    "ENTERPRISE",
    "PLANS",
    "STANDARD",
    "UNLIMITED",
    "BatchBilling",
    "LeakyBucket",
    "OperatingBudget",
    "Plan",
]

BUCKET_SECONDS = 60.0  # one "basket" collects the calls of one minute
WINDOW_SECONDS = 600.0  # a basket counts for 10 minutes from its first call
RECORD_THRESHOLD = 0.1  # only calls longer than this are recorded


@attrs.frozen
class Plan:
    """A tariff's limits: bucket drain ``rate``/s, ``burst`` pending requests, operating budget (s)."""

    name: str
    rate: float | None  # None: no request-rate limit
    burst: int
    operating_limit: float | None = 480.0  # None: no operating-time limit

    @classmethod
    def custom(cls, rate: float | None, burst: int, operating_limit: float | None = 480.0) -> Plan:
        """A plan with limits of your own."""
        return cls("custom", rate, burst, operating_limit)

    @classmethod
    def named(cls, name: str) -> Plan:
        """One of the presets: ``standard``, ``enterprise``, ``unlimited``."""
        try:
            return PLANS[name]
        except KeyError:
            raise ValueError(f"unknown plan {name!r}; choose one of {', '.join(PLANS)}") from None


STANDARD = Plan("standard", 2.0, 50)
ENTERPRISE = Plan("enterprise", 5.0, 250)
UNLIMITED = Plan("unlimited", None, 0, None)
PLANS: dict[str, Plan] = {p.name: p for p in (STANDARD, ENTERPRISE, UNLIMITED)}


class BatchBilling(enum.Enum):
    """Where a batch's operating time goes: to each nested method (the docs) or to ``batch``."""

    PER_METHOD = "per_method"
    BATCH = "batch"


class LeakyBucket:
    """Counts pending requests; drains ``rate`` per second; refuses while the count is over ``burst``."""

    def __init__(self) -> None:
        self._level = 0.0
        self._at: float | None = None

    def level(self, now: float, rate: float) -> float:
        """The pending count at ``now`` after draining."""
        if self._at is not None and now > self._at:
            self._level = max(0.0, self._level - (now - self._at) * rate)
        if self._at is None or now > self._at:
            self._at = now
        return self._level

    def admit(self, now: float, rate: float, burst: int) -> bool:
        """Add one request, or refuse it (without counting it) when the bucket is over ``burst``."""
        if self.level(now, rate) > burst:
            return False
        self._level += 1.0
        return True

    def reset(self) -> None:
        """Empty the bucket."""
        self._level = 0.0
        self._at = None


@attrs.define
class _Basket:
    start: float
    seconds: float


class OperatingBudget:
    """Execution time per (credential, method) in ten one-minute baskets, as the cloud portal keeps it."""

    def __init__(self) -> None:
        self._baskets: dict[tuple[str, str], deque[_Basket]] = {}

    def _live(self, key: tuple[str, str], now: float) -> deque[_Basket] | None:
        baskets = self._baskets.get(key)
        if baskets is None:
            return None
        while baskets and baskets[0].start + WINDOW_SECONDS <= now:
            baskets.popleft()
        return baskets

    def operating(self, credential: str, method: str, now: float) -> float:
        """Seconds the method used in the live baskets."""
        baskets = self._live((credential, method), now)
        return sum(b.seconds for b in baskets) if baskets else 0.0

    def reset_at(self, credential: str, method: str, now: float, started: float | None = None) -> int:
        """Unix time the oldest live basket expires (10 min after ``started``, or ``now``, when none is)."""
        baskets = self._live((credential, method), now)
        start = baskets[0].start if baskets else now if started is None else started
        return int(start + WINDOW_SECONDS)

    def record(self, credential: str, method: str, now: float, seconds: float) -> None:
        """Charge a call's execution time; calls of 0.1 s or less are not recorded."""
        if seconds <= RECORD_THRESHOLD:
            return
        key = (credential, method)
        baskets = self._live(key, now)
        if baskets is None:
            baskets = self._baskets[key] = deque()
        if baskets and now < baskets[-1].start + BUCKET_SECONDS:
            baskets[-1].seconds += seconds
        else:
            baskets.append(_Basket(now, seconds))

    def blocked(self, credential: str, method: str, now: float, limit: float | None) -> bool:
        """Whether the method is over its limit before the next call."""
        return limit is not None and self.operating(credential, method, now) > limit

    def reset(self) -> None:
        """Forget every basket."""
        self._baskets.clear()
