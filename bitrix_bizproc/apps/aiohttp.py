"""The aiohttp adapter: one route handler, or a sub-application to ``add_subapp`` under a prefix.

::

    web_app.router.add_post("/bitrix24", aiohttp_handler(app))
    # or
    web_app.add_subapp("/bitrix24/", aiohttp_app(app))   # POST /bitrix24/
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from .app import BitrixApp
from .requests import MAX_BODY_BYTES

__all__ = ["aiohttp_app", "aiohttp_handler"]


def aiohttp_handler(app: BitrixApp) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A request handler that passes the portal's POST to ``app.handle``."""

    async def handler(request: web.Request) -> web.Response:
        if request.method != "POST":
            return web.json_response({"error": "METHOD_NOT_ALLOWED"}, status=405)
        body = await request.content.read(MAX_BODY_BYTES + 1)
        answer = await app.handle(dict(request.headers), body)
        return web.Response(body=answer.encoded(), status=answer.status, content_type="application/json")

    return handler


def aiohttp_app(app: BitrixApp) -> web.Application:
    """An application answering POST ``/`` (mount it with ``add_subapp``); it closes ``app`` on cleanup."""
    sub = web.Application()
    sub.router.add_route("*", "/", aiohttp_handler(app))

    async def close(_: web.Application) -> None:
        await app.aclose()

    sub.on_cleanup.append(close)
    return sub
