"""The seam between the emulator's HTTP layer and its bizproc method handlers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

__all__ = ["CallContext", "HandlerResult", "PortalError"]


@attrs.frozen
class CallContext:
    """Who is calling, as the HTTP layer resolved it from the webhook or the access token."""

    user_id: int
    is_admin: bool
    app_id: str | None  # the OAuth client_id; None for an incoming webhook
    scopes: frozenset[str]
    now: Callable[[], float]  # the emulator's (possibly scaled) clock, unix seconds
    in_batch: bool = False

    @property
    def is_app(self) -> bool:
        """Whether the call comes from an application (OAuth) context."""
        return self.app_id is not None


@attrs.frozen
class HandlerResult:
    """What a handler returns: the ``result`` and, for lists, ``total``/``next``."""

    result: Any
    total: int | None = None
    next: int | None = None


class PortalError(Exception):
    """An error the emulated portal answers with: ``{"error": code, "error_description": description}``."""

    def __init__(self, code: str, description: str, status: int = 400) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description
        self.status = status
