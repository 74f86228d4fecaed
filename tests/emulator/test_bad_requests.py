"""Point 7: malformed requests get a 4xx JSON answer, never a traceback, and never reach the handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bitrix_bizproc.emulator import EmulatedPortal, PortalConfig

from .conftest import PortalFactory, Post, calls


@pytest.mark.parametrize(
    ("body", "description"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe{}", "not valid JSON"),
        (b"[1, 2, 3]", "JSON object"),
        (b'"text"', "JSON object"),
        (b"null", "JSON object"),
    ],
)
async def test_malformed_bodies_are_400_invalid_request(
    stub: EmulatedPortal, post: Post, body: bytes, description: str
) -> None:
    status, answer = await post(
        stub.webhook_url + "test.echo", data=body, headers={"Content-Type": "application/json"}
    )
    assert (
        status == 400 and answer["error"] == "INVALID_REQUEST" and description in answer["error_description"]
    )
    assert calls(stub) == []


async def test_oversized_body_is_refused_before_it_is_read(stub_factory: PortalFactory, post: Post) -> None:
    portal = await stub_factory(PortalConfig(max_body_bytes=1000))
    status, answer = await post(portal.webhook_url + "test.echo", json={"x": "a" * 2000})
    assert (status, answer["error"]) == (413, "INVALID_REQUEST")
    status, answer = await post(portal.webhook_url + "test.echo", data=_chunks(b"a" * 2000))
    assert status == 413  # a chunked body without Content-Length is cut off too
    assert calls(portal) == []
    assert (await post(portal.webhook_url + "test.echo", json={"x": "a" * 100}))[0] == 200


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for i in range(0, len(data), 100):
        yield data[i : i + 100]


async def test_empty_body_and_form_bodies_are_accepted(stub: EmulatedPortal, post: Post) -> None:
    status, answer = await post(stub.webhook_url + "test.echo", data=b"")
    assert status == 200 and answer["result"]["params"] == {}
    status, answer = await post(stub.webhook_url + "test.echo", data={"filter[ID]": "5", "select[]": "ID"})
    assert answer["result"]["params"] == {"FILTER": {"ID": "5"}, "SELECT": ["ID"]}


async def test_a_handler_bug_is_a_json_500_and_is_counted(stub: EmulatedPortal, post: Post) -> None:
    status, answer = await post(stub.webhook_url + "test.boom", json={})
    assert (status, answer) == (
        500,
        {"error": "INTERNAL_SERVER_ERROR", "error_description": "Internal server error"},
    )
    result = (await post(stub.webhook_url + "batch", json={"cmd": {"a": "test.boom", "b": "test.echo"}}))[1]
    assert result["result"]["result_error"]["a"]["error"] == "INTERNAL_SERVER_ERROR"
    assert "b" in result["result"]["result"]
    assert stub.counters.internal_errors == 2


async def test_wrong_shapes_in_batch_do_not_break_it(stub: EmulatedPortal, post: Post) -> None:
    for cmd in ("test.echo", 42, {"a": ["test.echo"]}, {"a": None}):
        status, answer = await post(stub.webhook_url + "batch", json={"cmd": cmd, "halt": {"x": 1}})
        assert status == 200 and answer["result"]["result"] == []
    status, answer = await post(
        stub.webhook_url + "batch", json={"cmd": {"a": "?x=1", "b": "test.echo?%zz=1&&=&y"}}
    )
    assert answer["result"]["result_error"]["a"]["error"] == "ERROR_METHOD_NOT_FOUND"
    assert answer["result"]["result"]["b"]["params"] == {"%ZZ": "1", "Y": ""}


async def test_unknown_paths_and_http_methods(stub: EmulatedPortal, http: aiohttp.ClientSession) -> None:
    async with http.post(stub.base_url + "/rest/1/code/extra/test.echo", json={}) as response:
        assert response.status == 404 and (await response.json())["error"] == "ERROR_METHOD_NOT_FOUND"
    async with http.put(stub.webhook_url + "test.echo", json={"a": 1}) as response:
        assert response.status == 200
    async with http.get(stub.base_url + "/nothing") as response:
        assert response.status == 404
