"""bizproc.event.send: an app activity's answer to the workflow waiting on it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..context import CallContext, HandlerResult
from ..records import LogEntry
from ..state import PortalState
from .common import Handler, access_denied
from .params import as_str

__all__ = ["HANDLERS", "send"]


def send(state: PortalState, ctx: CallContext, params: dict[str, Any]) -> HandlerResult:
    """Deliver RETURN_VALUES (and LOG_MESSAGE) for a valid, unused EVENT_TOKEN; the token is then spent."""
    token = state.event_tokens.get(as_str(params.get("EVENT_TOKEN")) or "")
    if (
        token is None
        or token.used
        or not token.use_subscription
        or (ctx.is_app and token.app_id not in (None, ctx.app_id))
    ):
        raise access_denied()
    values = params.get("RETURN_VALUES")
    token.return_values = {str(k): v for k, v in values.items()} if isinstance(values, Mapping) else {}
    message = as_str(params.get("LOG_MESSAGE")) or ""
    if message:
        state.activity_log.append(LogEntry(token.workflow_id, message, state.clock()))
    state.finish_app_activity(token)  # spends the token; the workflow moves on
    return HandlerResult(True)


HANDLERS: dict[str, Handler] = {"bizproc.event.send": send}
