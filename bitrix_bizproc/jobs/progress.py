"""Progress of a bulk job, reported through a callback: items done, total, rate and ETA."""

from __future__ import annotations

import time
from collections.abc import Callable

import attrs

__all__ = ["Progress", "ProgressCallback", "ProgressTracker"]


@attrs.frozen
class Progress:
    """A job's progress in one phase: ``"listing"`` the items, then the action (e.g. ``"terminate"``)."""

    phase: str
    done: int
    total: int | None
    failed: int
    elapsed: float
    rate: float  # items per second in this phase

    @property
    def eta(self) -> float | None:
        """Seconds left at the current rate, when the total is known and the rate is positive."""
        if self.total is None or self.rate <= 0:
            return None
        return max(0, self.total - self.done) / self.rate

    @property
    def fraction(self) -> float | None:
        """Share done, 0..1, when the total is known."""
        if not self.total:
            return None
        return min(1.0, self.done / self.total)


ProgressCallback = Callable[[Progress], None]
"""Called as a job advances (after every batch); must return quickly and must not raise."""


class ProgressTracker:
    """Counts items of one phase and forwards :class:`Progress` snapshots to a callback."""

    def __init__(
        self,
        phase: str,
        total: int | None,
        callback: ProgressCallback | None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.phase = phase
        self.total = total
        self.done = 0
        self.failed = 0
        self._callback = callback
        self._clock = clock
        self._started = clock()

    def advance(self, done: int, failed: int = 0) -> None:
        """Add ``done`` finished items (``failed`` of them failures) and report."""
        self.done += done
        self.failed += failed
        self.report()

    def report(self) -> None:
        """Send the current snapshot to the callback, if any."""
        if self._callback is not None:
            self._callback(self.snapshot())

    def snapshot(self) -> Progress:
        """The current progress."""
        elapsed = max(0.0, self._clock() - self._started)
        rate = self.done / elapsed if elapsed > 0 else 0.0
        return Progress(
            phase=self.phase, done=self.done, total=self.total, failed=self.failed, elapsed=elapsed, rate=rate
        )
