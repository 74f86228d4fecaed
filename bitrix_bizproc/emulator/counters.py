"""Counters of what the emulated portal served, for tests and benchmarks."""

from __future__ import annotations

from collections import Counter
from typing import Any

import attrs

__all__ = ["Counters"]


@attrs.define
class Counters:
    """Requests, batches, commands, rejections by error code, token grants; ``reset()`` zeroes them."""

    requests: int = 0  # HTTP requests to /rest/, rejected ones included
    batches: int = 0  # accepted ``batch`` requests
    commands: int = 0  # methods run: single calls plus every command run inside a batch
    methods: Counter[str] = attrs.field(factory=Counter)  # commands by method name
    rejections: Counter[str] = attrs.field(factory=Counter)  # top-level error answers by code
    command_errors: Counter[str] = attrs.field(factory=Counter)  # errors of commands inside batches
    faults: Counter[str] = attrs.field(factory=Counter)  # injected faults by kind
    token_grants: int = 0  # authorization_code exchanges
    token_refreshes: int = 0  # successful refresh_token grants
    internal_errors: int = 0  # handler bugs answered as INTERNAL_SERVER_ERROR
    lost_answers: int = 0  # calls that ran but whose answer a fault took away (``after=True``)

    def reset(self) -> None:
        """Zero every counter."""
        fresh = Counters()
        for field in attrs.fields(Counters):
            setattr(self, field.name, getattr(fresh, field.name))

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready copy of every counter."""
        return {
            k: dict(v) if isinstance(v, Counter) else v for k, v in attrs.asdict(self, recurse=False).items()
        }
