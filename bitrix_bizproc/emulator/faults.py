"""Faults on demand: 500/502 pages, dropped connections, slow answers, QUERY_LIMIT bursts, latency.

A fault strikes before the call runs (the portal did nothing) or, with ``after=True``, once it has run
(the portal did the work and the answer is lost on the way: the case a client cannot tell from the first).
"""

from __future__ import annotations

import enum
import random
from collections import deque

import attrs

__all__ = ["ANSWER_FAULTS", "Fault", "FaultKind", "Faults", "html_error_page", "maintenance_page"]


class FaultKind(enum.Enum):
    """What goes wrong."""

    HTTP_500 = "http_500"  # an HTML "500 Internal Server Error" page
    HTTP_502 = "http_502"  # an HTML "502 Bad Gateway" page from the front proxy
    DROP = "drop"  # the connection closes without an answer
    SLOW = "slow"  # the answer comes after ``delay`` real seconds (the call does run)
    QUERY_LIMIT = "query_limit"  # 503 QUERY_LIMIT_EXCEEDED, whatever the bucket says
    RESET = "reset"  # headers and part of the body are sent, then the connection is reset
    TRUNCATED = "truncated"  # HTTP 200 with the JSON body cut short
    HTML = "html"  # HTTP 200 with an HTML page (a captive portal, a maintenance page)


# Faults that only make sense once the call has run (there is an answer to cut or to delay).
ANSWER_FAULTS = frozenset({FaultKind.RESET, FaultKind.TRUNCATED, FaultKind.HTML})


@attrs.frozen
class Fault:
    """One fault, optionally only for calls of ``method`` (``batch`` for a batch request)."""

    kind: FaultKind
    method: str | None = None
    delay: float = 0.0
    after: bool = False  # strike once the call has run (the work is done, the answer lost)


_REASONS = {500: "Internal Server Error", 502: "Bad Gateway"}


def html_error_page(status: int) -> str:
    """The HTML page a front proxy sends with a 5xx status."""
    reason = _REASONS.get(status, "Error")
    return (
        f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )


def maintenance_page() -> str:
    """An HTML page served with status 200 where JSON was expected."""
    return "<!DOCTYPE html><html><head><title>Maintenance</title></head><body>Back soon</body></html>"


class Faults:
    """Scripted faults (taken in order), random faults, and a latency model of base + per command."""

    def __init__(self) -> None:
        self._script: deque[Fault] = deque()
        self._random_rate = 0.0
        self._random_kinds: tuple[FaultKind, ...] = ()
        self._random_after = 0.0
        self._random_delay = 1.0
        self._random_method: str | None = None
        self._rng = random.Random(0)
        self.base_latency = 0.0  # real seconds added to every answer
        self.per_command_latency = 0.0  # real seconds added per command run

    def inject(
        self,
        kind: FaultKind,
        *,
        times: int = 1,
        method: str | None = None,
        delay: float = 0.0,
        after: bool = False,
    ) -> None:
        """Queue ``times`` faults of ``kind`` for the next matching requests (``after``: once they ran)."""
        after = after or kind in ANSWER_FAULTS
        fault = Fault(kind, method.lower() if method else None, delay, after)
        self._script.extend([fault] * times)

    def query_limit_burst(self, times: int) -> None:
        """Answer the next ``times`` requests with 503 ``QUERY_LIMIT_EXCEEDED``."""
        self.inject(FaultKind.QUERY_LIMIT, times=times)

    def set_random(
        self,
        rate: float,
        kinds: tuple[FaultKind, ...],
        *,
        seed: int = 0,
        after: float = 0.0,
        delay: float = 1.0,
        method: str | None = None,
    ) -> None:
        """Fail a ``rate`` share of requests at random with one of ``kinds`` (deterministic per ``seed``).

        ``after`` is the share of them that strike once the call has run; ``delay`` is how long a
        ``SLOW`` answer takes; ``method`` limits them to one method (``batch`` for batch requests).
        """
        if not 0.0 <= rate <= 1.0 or not 0.0 <= after <= 1.0:
            raise ValueError("rate and after must be within [0, 1]")
        self._random_rate = rate
        self._random_kinds = kinds
        self._random_after = after
        self._random_delay = delay
        self._random_method = method.lower() if method else None
        self._rng = random.Random(seed)

    def set_latency(self, base: float = 0.0, per_command: float = 0.0) -> None:
        """Add ``base`` + ``per_command`` x commands real seconds to each answer."""
        self.base_latency = base
        self.per_command_latency = per_command

    def clear(self) -> None:
        """Remove every scripted and random fault and the latency."""
        self._script.clear()
        self._random_rate = 0.0
        self._random_kinds = ()
        self._random_after = 0.0
        self._random_method = None
        self.set_latency()

    @property
    def pending(self) -> int:
        """Scripted faults not yet served."""
        return len(self._script)

    def take(self, method: str) -> Fault | None:
        """The fault for this request, if any (a scripted one first)."""
        if self._script:
            for i, fault in enumerate(self._script):
                if fault.method is None or fault.method == method:
                    del self._script[i]
                    return fault
        if self._random_method is not None and method != self._random_method:
            return None
        if self._random_rate and self._random_kinds and self._rng.random() < self._random_rate:
            kind = self._rng.choice(self._random_kinds)
            # A limit answer is given before the call runs; the others may strike either side of it.
            after = kind in ANSWER_FAULTS or (
                kind is not FaultKind.QUERY_LIMIT and self._rng.random() < self._random_after
            )
            return Fault(kind, delay=self._random_delay, after=after)
        return None

    def latency(self, commands: int) -> float:
        """Real seconds to wait before answering a request that ran ``commands`` commands."""
        return self.base_latency + self.per_command_latency * commands
