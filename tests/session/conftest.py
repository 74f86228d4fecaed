"""Session tests run against the emulated portal with a tiny echo dispatcher: the session's behaviour
(auth, limits, retries, safety) does not depend on what the bizproc handlers do."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from bitrix_bizproc._transport import AiohttpTransport, HttpRequest, HttpResponse
from bitrix_bizproc.emulator import CallContext, EmulatedPortal, HandlerResult, PortalConfig, PortalError
from bitrix_bizproc.protocol.errors import TransportError

CREATED: Counter[str] = Counter()


def echo(state: Any, ctx: CallContext, method: str, params: dict[str, Any], /) -> HandlerResult:
    """Answer every method with what it was asked; a few names fail on purpose."""
    if method == "test.denied":
        raise PortalError("ACCESS_DENIED", "Access denied!", 403)
    if method == "test.not_found":
        raise PortalError("ERROR_METHOD_NOT_FOUND", "Method not found!", 404)
    if method == "test.invalid":
        raise PortalError("ERROR_ARGUMENT", "Argument 'ID' is null or empty", 400)
    if method == "bizproc.workflow.start":
        CREATED[method] += 1
        return HandlerResult(result=f"wf-{CREATED[method]}")
    return HandlerResult(result={"method": method, "params": params}, total=1)


class RecordingTransport:
    """The real aiohttp transport, recording each request and failing scripted ones before sending."""

    def __init__(self) -> None:
        self.inner = AiohttpTransport(timeout=10)
        self.requests: list[HttpRequest] = []
        self.fail_next_token_requests = 0

    def paths(self) -> Counter[str]:
        return Counter(urlsplit(r.url).path for r in self.requests)

    async def send(self, request: HttpRequest) -> HttpResponse:
        self.requests.append(request)
        if "/oauth/token" in request.url and self.fail_next_token_requests:
            self.fail_next_token_requests -= 1
            raise TransportError("cannot connect (scripted)", details={"sent": False, "timeout": False})
        return await self.inner.send(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


EmuFactory = Callable[..., Awaitable[EmulatedPortal]]


@pytest.fixture
async def emu(portal_factory: Callable[..., Awaitable[EmulatedPortal]]) -> AsyncIterator[EmuFactory]:
    """Start an emulated portal with the echo dispatcher: ``await emu(PortalConfig(...), clock=...)``."""
    CREATED.clear()

    async def make(config: PortalConfig | None = None, **kwargs: Any) -> EmulatedPortal:
        return await portal_factory(config, dispatcher=echo, **kwargs)

    yield make


class Gate:
    """A sleep function that records waits and returns at once (optionally moving a manual clock)."""

    def __init__(self, advance: Callable[[float], None] | None = None) -> None:
        self.waits: list[float] = []
        self._advance = advance

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self._advance is not None:
            self._advance(seconds)
        await asyncio.sleep(0)
