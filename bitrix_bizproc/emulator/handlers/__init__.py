"""The emulated portal's REST methods: ``dispatch(state, ctx, method, params)`` -> result or PortalError."""

from __future__ import annotations

from typing import Any

from ...protocol.methods import METHODS
from ..context import CallContext, HandlerResult, PortalError
from ..state import PortalState
from . import activities, events, robots, tasks, templates, users, workflows
from .common import Handler, access_denied

__all__ = ["HANDLERS", "dispatch"]

HANDLERS: dict[str, Handler] = {
    **workflows.HANDLERS,
    **templates.HANDLERS,
    **tasks.HANDLERS,
    **activities.HANDLERS,
    **robots.HANDLERS,
    **events.HANDLERS,
    **users.HANDLERS,
}

_USER_SCOPES = frozenset({"user", "user_brief", "user_basic"})


def dispatch(state: PortalState, ctx: CallContext, method: str, params: dict[str, Any]) -> HandlerResult:
    """Run one REST method after the portal's scope, app-context and admin checks.

    ``params`` has its top-level keys upper-cased and ``auth`` removed; values may be strings.
    """
    name = method.strip().lower().removesuffix(".json")
    handler = HANDLERS.get(name)
    info = METHODS.get(name)
    if handler is None or info is None:
        raise PortalError("ERROR_METHOD_NOT_FOUND", "Method not found!", 404)
    allowed = _USER_SCOPES if info.scope == "user" else frozenset({info.scope})
    if info.scope and not (allowed & ctx.scopes):
        token = "access token" if ctx.is_app else "webhook token"
        # HTTP 401 as on live portals (b24pysdk errors/__init__.py); the docs' system-errors table says 403
        raise PortalError(
            "insufficient_scope", f"The request requires higher privileges than provided by the {token}", 401
        )
    if info.app_context and not ctx.is_app:
        raise access_denied("Application context required")
    if info.admin_only and not ctx.is_admin:
        raise access_denied()
    return handler(state, ctx, params)
