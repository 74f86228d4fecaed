"""Faults on demand: 500/502 pages, dropped connections, slow answers, QUERY_LIMIT bursts, latency."""

from __future__ import annotations

import enum
import random
from collections import deque

import attrs

__all__ = ["Fault", "FaultKind", "Faults", "html_error_page"]


class FaultKind(enum.Enum):
    """What goes wrong."""

    HTTP_500 = "http_500"  # an HTML "500 Internal Server Error" page
    HTTP_502 = "http_502"  # an HTML "502 Bad Gateway" page from the front proxy
    DROP = "drop"  # the connection closes without an answer
    SLOW = "slow"  # the answer comes after ``delay`` real seconds (the call does run)
    QUERY_LIMIT = "query_limit"  # 503 QUERY_LIMIT_EXCEEDED, whatever the bucket says


@attrs.frozen
class Fault:
    """One fault, optionally only for calls of ``method`` (``batch`` for a batch request)."""

    kind: FaultKind
    method: str | None = None
    delay: float = 0.0


_REASONS = {500: "Internal Server Error", 502: "Bad Gateway"}


def html_error_page(status: int) -> str:
    """The HTML page a front proxy sends with a 5xx status."""
    reason = _REASONS.get(status, "Error")
    return (
        f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )


class Faults:
    """Scripted faults (taken in order), random faults, and a latency model of base + per command."""

    def __init__(self) -> None:
        self._script: deque[Fault] = deque()
        self._random_rate = 0.0
        self._random_kinds: tuple[FaultKind, ...] = ()
        self._rng = random.Random(0)
        self.base_latency = 0.0  # real seconds added to every answer
        self.per_command_latency = 0.0  # real seconds added per command run

    def inject(
        self, kind: FaultKind, *, times: int = 1, method: str | None = None, delay: float = 0.0
    ) -> None:
        """Queue ``times`` faults of ``kind`` for the next matching requests."""
        fault = Fault(kind, method.lower() if method else None, delay)
        self._script.extend([fault] * times)

    def query_limit_burst(self, times: int) -> None:
        """Answer the next ``times`` requests with 503 ``QUERY_LIMIT_EXCEEDED``."""
        self.inject(FaultKind.QUERY_LIMIT, times=times)

    def set_random(self, rate: float, kinds: tuple[FaultKind, ...], *, seed: int = 0) -> None:
        """Fail a ``rate`` share of requests at random with one of ``kinds`` (deterministic per ``seed``)."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be within [0, 1]")
        self._random_rate = rate
        self._random_kinds = kinds
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
        if self._random_rate and self._random_kinds and self._rng.random() < self._random_rate:
            return Fault(self._rng.choice(self._random_kinds), delay=1.0)
        return None

    def latency(self, commands: int) -> float:
        """Real seconds to wait before answering a request that ran ``commands`` commands."""
        return self.base_latency + self.per_command_latency * commands
