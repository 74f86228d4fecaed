"""Clocks for the emulated portal: the wall clock, a manual clock for tests, a scaled clock for demos."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["Clock", "ManualClock", "ScaledClock", "system_clock"]

Clock = Callable[[], float]
"""A clock is any callable that returns unix seconds."""


def system_clock() -> float:
    """The wall clock, unix seconds."""
    return time.time()


class ManualClock:
    """A clock that moves only when told to: a test crosses a 10-minute window with ``advance(600)``."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self._now = float(start)

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (never backwards)."""
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        self._now += seconds

    def set(self, now: float) -> None:
        """Jump to ``now`` unix seconds (not earlier than the current time)."""
        self.advance(now - self._now)

    def __repr__(self) -> str:
        return f"ManualClock({self._now!r})"


class ScaledClock:
    """A clock that runs ``scale`` times faster than real time from ``start`` (default: now)."""

    def __init__(self, scale: float, start: float | None = None) -> None:
        if scale <= 0:
            raise ValueError("scale must be positive")
        self.scale = scale
        self._origin_wall = time.time() if start is None else start
        self._origin_mono = time.monotonic()

    def __call__(self) -> float:
        return self._origin_wall + (time.monotonic() - self._origin_mono) * self.scale

    def __repr__(self) -> str:
        return f"ScaledClock(scale={self.scale!r})"
