"""An emulated portal and a BitrixApp served to it over loopback, through either adapter."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest
from aiohttp import web

from bitrix_bizproc.apps import AsgiApp, BitrixApp, Property, RobotCall, aiohttp_app
from bitrix_bizproc.emulator import EmulatedPortal

from .asgi_server import AsgiTestServer

DEAL = ("crm", "CCrmDocumentDeal", "DEAL")
PortalFactory = Callable[..., Awaitable[EmulatedPortal]]  # the ``portal_factory`` fixture


def make_app(portal: EmulatedPortal, handler_url: str, calls: list[RobotCall]) -> BitrixApp:
    """An app with robot ``md5`` (text -> hash) and ``notify`` (fire and forget) that records its calls."""
    app = BitrixApp(
        client_id=portal.oauth_app.client_id,
        client_secret=portal.oauth_app.client_secret,
        handler_url=handler_url,
        token_url=portal.token_url,
    )

    @app.robot(
        "md5",
        name="MD5",
        properties={
            "text": Property(name="Text", type="string", required=True),
            "times": Property(name="Times", type="int", default="1"),
        },
        return_properties={"hash": Property(name="Hash", type="string")},
    )
    async def md5(call: RobotCall) -> dict[str, Any]:
        calls.append(call)
        data = call.properties["text"].encode() * call.properties["times"]
        return {"hash": hashlib.md5(data).hexdigest()}

    @app.robot("notify", name="Notify", use_subscription=False)
    async def notify(call: RobotCall) -> None:
        calls.append(call)

    @app.robot("silent", name="Never answers", return_properties={"x": Property(name="X", type="int")})
    async def silent(call: RobotCall) -> None:
        calls.append(call)

    @app.activity(
        "echo",
        name="Echo (a workflow-designer activity)",
        properties={"when": Property(name="When", type="date")},
        return_properties={"same": Property(name="Same", type="date")},
    )
    async def echo(call: RobotCall) -> dict[str, Any]:
        calls.append(call)
        return {"same": call.properties["when"]}

    return app


@asynccontextmanager
async def serve_aiohttp(app: BitrixApp) -> AsyncIterator[str]:
    """Serve ``app`` as an aiohttp sub-application under /b24/; yields the handler URL."""
    web_app = web.Application()
    web_app.add_subapp("/b24/", aiohttp_app(app))
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/b24/"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def serve_asgi(app: BitrixApp) -> AsyncIterator[str]:
    """Serve ``app`` through :class:`AsgiApp` on a tiny asyncio HTTP server; yields the handler URL."""
    async with AsgiTestServer(AsgiApp(app)) as server:
        try:
            yield f"{server.url}/b24"
        finally:
            await app.aclose()


class Harness:
    """A portal, the app, where it is served, and the robot calls it received."""

    def __init__(self, portal: EmulatedPortal, app: BitrixApp, url: str, calls: list[RobotCall]) -> None:
        self.portal, self.app, self.url, self.calls = portal, app, url, calls

    def start(self, code: str, **step: Any) -> str:
        """Start a workflow whose template holds robot ``code`` (step options: properties, timeout)."""
        template = self.portal.state.add_template(
            f"with {code}", DEAL, tasks=[{"activity": "RestActivity", "code": code, **step}]
        )
        return self.portal.state.start_workflow(template, "DEAL_7", 1).id


@pytest.fixture(params=["aiohttp", "asgi"])
async def harness(request: pytest.FixtureRequest, portal: EmulatedPortal) -> AsyncIterator[Harness]:
    """The app served by each adapter in turn, installed on the portal, its robots synced."""
    calls: list[RobotCall] = []
    serve: Any = serve_aiohttp if request.param == "aiohttp" else serve_asgi
    holder: dict[str, BitrixApp] = {}
    app = make_app(portal, "http://placeholder/", calls)
    holder["app"] = app
    server: AbstractAsyncContextManager[str] = serve(app)
    async with server as url:
        app.handler_url = url
        assert await portal.robots.install(url) == 200
        await app.sync(portal.config.member_id)
        yield Harness(portal, app, url, calls)
