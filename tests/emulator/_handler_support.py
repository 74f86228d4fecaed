"""Helpers for calling the bizproc handlers directly (no HTTP): a settable clock, contexts, call/fail."""

from __future__ import annotations

from typing import Any

import pytest

from bitrix_bizproc.emulator.context import CallContext, HandlerResult, PortalError
from bitrix_bizproc.emulator.handlers import dispatch
from bitrix_bizproc.emulator.records import PortalSettings
from bitrix_bizproc.emulator.state import PortalState

NOW = 1_726_000_000.0  # 2024-09-10T20:26:40Z
DEAL = ("crm", "CCrmDocumentDeal", "DEAL")


class Clock:
    """A clock tests move by hand."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_state(**settings: Any) -> PortalState:
    """An empty portal with an admin (1), two employees (2, 3 whose head is 2) and a dismissed one (4)."""
    state = PortalState(Clock(), PortalSettings(**settings))
    state.add_user("Admin", "Portal", is_admin=True)
    state.add_user("Erika", "Boss")
    state.add_user("Max", "Worker", head_id=2)
    state.add_user("Klaus", "Weber", active=False)
    return state


def context(
    user_id: int = 1, *, admin: bool = True, app: str | None = None, scopes: str = "bizproc user"
) -> CallContext:
    """A caller: admin webhook by default."""
    return CallContext(user_id, admin, app, frozenset(scopes.split()), lambda: NOW)


ADMIN = context()
APP = context(app="app.one")


def call(state: PortalState, ctx: CallContext, method: str, **params: Any) -> HandlerResult:
    """Run a method; parameter names are upper-cased as the HTTP layer does."""
    return dispatch(state, ctx, method, {k.upper(): v for k, v in params.items()})


def fail(state: PortalState, ctx: CallContext, method: str, **params: Any) -> PortalError:
    """Run a method that must fail; the portal error it raised."""
    with pytest.raises(PortalError) as caught:
        call(state, ctx, method, **params)
    return caught.value


def error_of(state: PortalState, ctx: CallContext, method: str, **params: Any) -> tuple[str, str]:
    """(code, description) of a failing call."""
    err = fail(state, ctx, method, **params)
    return err.code, err.description
