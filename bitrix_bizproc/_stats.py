"""Counters a user can read: what the session sent, retried, waited for and refreshed."""

from __future__ import annotations

from collections import Counter
from typing import Any

import attrs

__all__ = ["Stats"]


@attrs.define
class Stats:
    """Live counters of one client; ``snapshot()`` gives a JSON-ready copy, ``reset()`` zeroes them."""

    requests: int = 0  # HTTP requests sent to the portal (retries included, token refreshes excluded)
    calls: int = 0  # calls made through ``Session.call`` (each may take several requests)
    retries: Counter[str] = attrs.field(factory=Counter)  # by reason (query_limit, server_error, ...)
    throttled_seconds: float = 0.0  # time spent waiting for the rate limiter and operating budget
    refreshes: int = 0  # OAuth token refreshes that succeeded
    refresh_failures: int = 0
    errors: Counter[str] = attrs.field(factory=Counter)  # errors raised to callers, by code (or class name)

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready copy of every counter."""
        return {
            k: dict(v) if isinstance(v, Counter) else v for k, v in attrs.asdict(self, recurse=False).items()
        }

    def reset(self) -> None:
        """Zero every counter."""
        fresh = Stats()
        for field in attrs.fields(Stats):
            setattr(self, field.name, getattr(fresh, field.name))
