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
    # Errors raised to callers, counted twice: every one by its class name (``QueryLimitError``), and those
    # the portal or token server gave a code by that code (``QUERY_LIMIT_EXCEEDED``; an empty code is
    # not counted there). So ``sum(errors_by_class.values())`` is the number of failed calls.
    errors_by_class: Counter[str] = attrs.field(factory=Counter)
    errors_by_code: Counter[str] = attrs.field(factory=Counter)

    def count_error(self, error: BaseException) -> None:
        """Count an error raised to a caller, by class and (if it has one) by portal code."""
        self.errors_by_class[type(error).__name__] += 1
        code = getattr(error, "code", "")
        if code:
            self.errors_by_code[code] += 1

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
