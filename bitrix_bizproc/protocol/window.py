"""How many page requests a walk keeps in flight: Little's law under a memory budget.

A walk that sends one batch and waits for it leaves the bucket idle for a whole round trip. To keep it
busy the walk needs ``rate x latency`` requests in flight (Little's law), plus whatever the bucket lets go
at once right now (its free slots: the burst at the start of a walk). Answers hold memory until they are
yielded, so the window never exceeds the memory budget: ``budget_rows // rows_per_request`` requests.

Without a bucket (limits off: a self-hosted portal) only the budget and :data:`MAX_WINDOW` bound it.
Pure: the caller measures the latency (:class:`LatencyEstimate`) and reads the limiter.
"""

from __future__ import annotations

import math

__all__ = ["LATENCY_SLACK", "MAX_WINDOW", "LatencyEstimate", "inflight_window"]

MAX_WINDOW = 40  # batches in flight at most, whatever the budget (the HTTP pool's size, with margin)
LATENCY_SLACK = 1.5  # latency varies: size for half as much again as the average


def inflight_window(
    *,
    latency: float | None,
    rate: float | None,
    free_slots: int | None,
    rows_per_request: int,
    budget_rows: int,
    ceiling: int = MAX_WINDOW,
) -> int:
    """Requests to keep in flight (at least 1).

    ``latency``: seconds per round trip so far (``None``: not measured yet); ``rate``: requests/s the
    limiter lets go (``None``: no limiter); ``free_slots``: requests it would let go at once now
    (``None``: unknown); ``rows_per_request``: rows one answer may hold; ``budget_rows``: rows the walk
    may hold in answers not yet yielded.
    """
    memory_cap = budget_rows // max(1, rows_per_request)
    if rate is None:
        demand = ceiling
    else:
        little = math.ceil(rate * latency * LATENCY_SLACK) + 1 if latency is not None else 1
        demand = max(little, free_slots or 0)
    return max(1, min(demand, memory_cap, ceiling))


class LatencyEstimate:
    """A moving average of round-trip times (the latest weighs ``weight``); ``None`` until the first."""

    def __init__(self, weight: float = 0.3) -> None:
        self.weight = weight
        self.seconds: float | None = None

    def observe(self, seconds: float) -> None:
        """Take one round trip's time into the average (negative times, a clock step, count as 0)."""
        seconds = max(0.0, seconds)
        self.seconds = (
            seconds if self.seconds is None else self.seconds + self.weight * (seconds - self.seconds)
        )
