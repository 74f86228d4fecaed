"""Sending a set of encoded commands as one ``batch`` request and reading each command's own outcome.

The composer, the coalescer and the paginator all send through :func:`send_commands`: they decide what
goes together (chunks of at most 50, references, pages) and what an outcome means to their callers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import Any, Protocol

import attrs

from ._session import Session
from .protocol.batch import CommandOutcome, build_batch_params, parse_batch_result
from .protocol.envelope import ApiResponse

__all__ = ["CommandSession", "SentCommands", "send_commands"]


class CommandSession(Protocol):
    """What sending commands needs from the session: one call, with its limiter, auth refresh and retries."""

    def call(
        self, method: str, params: Mapping[str, Any] | None = None, *, idempotent: bool = True
    ) -> Awaitable[ApiResponse]:
        """Send one request and return its answer, or raise its typed error."""
        ...


@attrs.frozen
class SentCommands:
    """Each command's outcome by key (in the order sent), and whether an earlier try's answer was lost."""

    outcomes: dict[str, CommandOutcome]
    after_unknown: bool = False


async def send_commands(
    session: CommandSession,
    commands: Mapping[str, str],
    methods: Mapping[str, str],
    *,
    halt: bool = False,
    idempotent: bool = True,
) -> SentCommands:
    """Send ``commands`` (key -> ``method?query``) as one ``batch``; each key's result or typed error.

    A failure of the whole request (after the session's retries) raises; a key the portal did not run
    (``halt``) gets :class:`~bitrix_bizproc.NotExecutedError`.
    """
    params = build_batch_params(commands, halt=halt)
    if isinstance(session, Session) and getattr(session.call, "__func__", None) is Session.call:
        response = await session.call_wire("batch", params, idempotent)  # encoded and checked already
    else:
        response = await session.call("batch", params, idempotent=idempotent)
    outcomes = parse_batch_result(list(commands), response.result, halt=halt, methods=methods)
    return SentCommands(outcomes, response.after_unknown)
