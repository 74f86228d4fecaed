"""What the session reports as it works: typed events and the hooks that receive them.

Four events, each a small frozen record without a secret (no URL, no token, no parameter value, no error
text: the method, the portal's host, numbers and codes only)::

    RequestEvent   a request is about to be sent (attempt 1, 2, ...)
    AnswerEvent    its answer (HTTP status, error code, seconds) or its failure without an answer
    RetryEvent     the session will send it again after ``delay`` seconds
    ThrottleEvent  the limiter held it back for ``waited`` seconds

A hook is a callable taking one event. It is called on the event loop and must not block; an ``async``
hook is scheduled as a task. A hook that raises is logged and ignored: observing never breaks a call.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Iterable
from typing import Any, TypeAlias
from urllib.parse import urlsplit

import attrs

from .protocol.errors import ConfigurationTypeError

__all__ = ["AnswerEvent", "Event", "Hook", "Hooks", "RequestEvent", "RetryEvent", "ThrottleEvent", "host_of"]

logger = logging.getLogger("bitrix_bizproc")


@attrs.frozen
class RequestEvent:
    """A request is about to be sent: ``attempt`` 1 is the first try."""

    method: str
    host: str
    attempt: int
    request_id: int


@attrs.frozen
class AnswerEvent:
    """A request's outcome: ``status`` 0 and ``error`` set when no HTTP answer came back."""

    method: str
    host: str
    attempt: int
    request_id: int
    status: int
    seconds: float
    error: str | None = None  # the portal's error code or the error class, never its text


@attrs.frozen
class RetryEvent:
    """The session sends ``method`` again after ``delay`` seconds, because of ``reason``."""

    method: str
    host: str
    attempt: int
    reason: str
    delay: float
    error: str | None = None


@attrs.frozen
class ThrottleEvent:
    """The limiter held ``method`` back for ``waited`` seconds (the request bucket or the method's budget)."""

    method: str
    host: str
    waited: float


Event: TypeAlias = RequestEvent | AnswerEvent | RetryEvent | ThrottleEvent
Hook: TypeAlias = Callable[[Event], Any]


def host_of(url: str) -> str:
    """The host (and port) of ``url``, without user info, path or query: safe to report."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{host}:{parts.port}" if parts.port else host


class Hooks:
    """The hooks of one session; ``bool(hooks)`` is False when there are none (the session skips work)."""

    def __init__(self, hooks: Iterable[Hook] = ()) -> None:
        self._hooks: list[Hook] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        for hook in hooks:
            self.add(hook)

    def add(self, hook: Hook) -> Hook:
        """Call ``hook`` with every event from now on; returns it (usable as a decorator)."""
        if not callable(hook):
            raise ConfigurationTypeError(f"a hook must be callable, not {type(hook).__name__}")
        self._hooks.append(hook)
        return hook

    def remove(self, hook: Hook) -> None:
        """Stop calling ``hook`` (no error if it was not added)."""
        if hook in self._hooks:
            self._hooks.remove(hook)

    def __bool__(self) -> bool:
        return bool(self._hooks)

    def __len__(self) -> int:
        return len(self._hooks)

    def emit(self, event: Event) -> None:
        """Hand ``event`` to every hook; failures are logged, coroutines run as tasks."""
        for hook in tuple(self._hooks):
            try:
                outcome = hook(event)
                if inspect.isawaitable(outcome):
                    task = asyncio.ensure_future(outcome)
                    self._tasks.add(task)
                    task.add_done_callback(self._settled)
            except Exception:
                logger.exception("a hook failed on %s; ignored", type(event).__name__)

    def _settled(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("an async hook failed; ignored", exc_info=task.exception())
