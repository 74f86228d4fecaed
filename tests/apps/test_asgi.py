"""The ASGI adapter on its own: lifespan, methods other than POST, scopes it does not serve."""

from __future__ import annotations

from typing import Any

from bitrix_bizproc.apps import AsgiApp, BitrixApp

from .fixtures import ACTIVITY_CALL, FORM, body
from .test_app import install, recorded_app


def make() -> tuple[BitrixApp, AsgiApp]:
    app = BitrixApp(client_id="local.app", client_secret="secret", handler_url="https://app.example.com/b24")
    return app, AsgiApp(app)


async def call(asgi: AsgiApp, scope: dict[str, Any], messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    queue = list(messages)

    async def receive() -> dict[str, Any]:
        return queue.pop(0)

    async def send(message: Any) -> None:
        sent.append(dict(message))

    await asgi(scope, receive, send)
    return sent


async def test_lifespan_closes_the_app() -> None:
    app, asgi = make()
    closed: list[bool] = []

    async def aclose() -> None:
        closed.append(True)

    app.aclose = aclose  # type: ignore[method-assign]
    sent = await call(
        asgi, {"type": "lifespan"}, [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    )
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert closed == [True]


async def test_get_is_refused_and_a_body_in_chunks_is_read_whole() -> None:
    app, calls = recorded_app()
    await install(app)
    asgi = AsgiApp(app)
    sent = await call(asgi, {"type": "http", "method": "GET", "headers": []}, [])
    assert sent[0]["status"] == 405
    raw = body(ACTIVITY_CALL)
    half = len(raw) // 2
    chunks = [
        {"type": "http.request", "body": raw[:half], "more_body": True},
        {"type": "http.request", "body": raw[half:], "more_body": False},
    ]
    headers = [(b"content-type", b"application/x-www-form-urlencoded")]
    sent = await call(asgi, {"type": "http", "method": "POST", "headers": headers}, chunks)
    await app.drain()
    assert sent[0]["status"] == 200 and len(calls) == 1
    assert (await app.handle(FORM, raw[:half])).status != 200  # what reading one chunk only would give
    assert await call(asgi, {"type": "websocket"}, []) == []
