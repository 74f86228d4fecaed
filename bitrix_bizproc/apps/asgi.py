"""A plain ASGI application (no framework needed): mount it in FastAPI, Starlette or Django.

::

    asgi = AsgiApp(app)               # any ASGI server, or:
    fastapi_app.mount("/bitrix24", asgi)

Every POST, whatever its path, goes to ``app.handle``; other methods get 405. On ``lifespan`` shutdown
the app's clients are closed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from .app import AppResponse, BitrixApp
from .requests import MAX_BODY_BYTES

__all__ = ["AsgiApp"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class AsgiApp:
    """``await AsgiApp(app)(scope, receive, send)``: the ASGI 3 face of a :class:`BitrixApp`."""

    def __init__(self, app: BitrixApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if scope.get("method") != "POST":
            await self._answer(send, AppResponse(405, {"error": "METHOD_NOT_ALLOWED"}))
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > MAX_BODY_BYTES or not message.get("more_body", False):
                break
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", ())}
        await self._answer(send, await self.app.handle(headers, bytes(body)))

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.app.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    @staticmethod
    async def _answer(send: Send, answer: AppResponse) -> None:
        body = answer.encoded()
        await send(
            {
                "type": "http.response.start",
                "status": answer.status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
