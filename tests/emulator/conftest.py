"""Fixtures for the emulator's HTTP-side tests: portals whose handlers are a small scripted stub."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, cast

import aiohttp
import pytest

from bitrix_bizproc.emulator import (
    CallContext,
    EmulatedPortal,
    HandlerResult,
    PortalConfig,
    PortalError,
    PortalState,
)

PortalFactory = Callable[..., Awaitable[EmulatedPortal]]
Post = Callable[..., Awaitable[tuple[int, Any]]]


class StubState:
    """Records the calls that reached the handlers, so a test can see that a refused call never ran."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []


def stub_dispatch(state: StubState, ctx: CallContext, method: str, params: dict[str, Any]) -> HandlerResult:
    """``test.echo`` returns its params, ``test.list`` pages 120 rows, ``test.fail`` raises as told."""
    state.calls.append((method, params))
    if method == "test.echo":
        return HandlerResult(
            {"params": params, "user_id": ctx.user_id, "admin": ctx.is_admin, "app": ctx.app_id}
        )
    if method in ("test.list", "bizproc.workflow.instances", "user.get"):
        start = int(params.get("START") or 0)
        rows = [{"ID": str(i)} for i in range(start, min(start + 50, 120))]
        return HandlerResult(rows, total=120, next=start + 50 if start + 50 < 120 else None)
    if method == "test.fail":
        raise PortalError(
            str(params.get("CODE", "")), str(params.get("DESC", "")), int(params.get("STATUS", 400))
        )
    if method == "test.boom":
        raise RuntimeError("a handler bug")
    raise PortalError("ERROR_METHOD_NOT_FOUND", "Method not found!", 404)


def calls(portal: EmulatedPortal) -> list[tuple[str, dict[str, Any]]]:
    """The (method, params) calls that reached a stub-backed portal's handlers."""
    return cast(StubState, portal.state).calls


@pytest.fixture
def stub_factory(portal_factory: PortalFactory) -> PortalFactory:
    """Start stub-backed portals with the given config and clock."""

    async def make(config: PortalConfig | None = None, **kwargs: Any) -> EmulatedPortal:
        return await portal_factory(
            config, state=cast(PortalState, StubState()), dispatcher=stub_dispatch, **kwargs
        )

    return make


@pytest.fixture
async def stub(stub_factory: PortalFactory) -> EmulatedPortal:
    """A stub-backed portal with limits off."""
    return await stub_factory()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp client session."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def post(http: aiohttp.ClientSession) -> Post:
    """``await post(url, json=..., **kw)`` -> (status, the JSON body, or the text when not JSON)."""

    async def send(url: str, **kwargs: Any) -> tuple[int, Any]:
        async with http.post(url, **kwargs) as response:
            text = await response.text()
            try:
                return response.status, json.loads(text)
            except ValueError:
                return response.status, text

    return send
