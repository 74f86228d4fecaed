"""The emulated gateway over raw HTTP: envelope, 204s, batch validation, shared state, counters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bitrix_bizproc.emulator import EmulatedPortal
from bitrix_bizproc.emulator.vibecode import VibecodeGateway, add_vibecode_routes

from .conftest import DEAL_TYPE

Http = aiohttp.ClientSession


@pytest.fixture
async def http(key: str) -> AsyncIterator[Http]:
    """An HTTP session sending the admin's personal key."""
    async with aiohttp.ClientSession(headers={"X-Api-Key": key}) as session:
        yield session


async def _send(http: Http, verb: str, url: str, **kw: Any) -> tuple[int, Any]:
    async with http.request(verb, url, **kw) as response:
        body = await response.read()
        return response.status, (await response.json() if body else None)


async def test_delete_answers_204_without_a_body(
    portal: EmulatedPortal, gateway: VibecodeGateway, http: Http
) -> None:
    portal.state.add_template("T", DEAL_TYPE)
    [workflow] = portal.state.add_instances(1)
    assert await _send(http, "DELETE", f"{gateway.base_url}/workflows/{workflow.id}?status=bye") == (
        204,
        None,
    )
    assert await _send(http, "DELETE", f"{gateway.base_url}/workflows/{workflow.id}") == (
        404,
        {"success": False, "error": {"code": "ENTITY_NOT_FOUND", "message": "Workflow not found"}},
    )


async def test_the_list_carries_bitrix_rows_and_meta_total(
    portal: EmulatedPortal, gateway: VibecodeGateway, http: Http
) -> None:
    template = portal.state.add_template("T", DEAL_TYPE)
    portal.state.add_instances(60)
    status, body = await _send(
        http, "GET", f"{gateway.base_url}/workflows?templateId={template.id}&offset=50"
    )
    assert status == 200 and body["success"] is True and body["meta"] == {"total": 60}
    assert len(body["data"]) == 10
    assert set(body["data"][0]) == {
        *("ID", "MODIFIED", "OWNED_UNTIL", "MODULE_ID", "ENTITY"),
        *("DOCUMENT_ID", "STARTED", "STARTED_BY", "TEMPLATE_ID"),
    }


async def test_templates_page_by_limit_beyond_fifty(
    portal: EmulatedPortal, gateway: VibecodeGateway, http: Http
) -> None:
    for i in range(120):
        portal.state.add_template(f"T{i}", DEAL_TYPE)
    url = f"{gateway.base_url}/entities/bizproc-templates?limit=110&offset=5&select=id,name&order[id]=asc"
    status, body = await _send(http, "GET", url)
    assert status == 200 and body["meta"] == {"total": 120}
    assert [row["name"] for row in body["data"]] == [f"T{i}" for i in range(5, 115)]
    assert set(body["data"][0]) == {"id", "name"}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"calls": []}, 400, "VALIDATION_ERROR"),
        ({"calls": [{"entity": "workflows", "action": "list"}] * 51}, 400, "VALIDATION_ERROR"),
        ({"calls": [{"entity": "workflows", "action": "delete"}]}, 400, "MISSING_ENTITY_ID"),
        ({"calls": [{"entity": "workflows"}]}, 400, "VALIDATION_ERROR"),
    ],
)
async def test_a_malformed_batch_is_refused_whole(
    gateway: VibecodeGateway, http: Http, body: dict[str, Any], status: int, code: str
) -> None:
    answer = await _send(http, "POST", f"{gateway.base_url}/batch", json=body)
    assert answer[0] == status and answer[1]["error"]["code"] == code


async def test_batch_calls_succeed_and_fail_independently(
    portal: EmulatedPortal, gateway: VibecodeGateway, http: Http
) -> None:
    portal.state.add_template("T", DEAL_TYPE)
    [workflow] = portal.state.add_instances(1)
    calls = [
        {"id": "gone", "entity": "workflows", "action": "delete", "entityId": "nope"},
        {
            "id": "kill",
            "entity": "workflows",
            "action": "delete",
            "entityId": workflow.id,
            "params": {"force": True},
        },
        {"id": "deals", "entity": "deals", "action": "list"},
        {"entity": "workflows", "action": "list"},
    ]
    status, body = await _send(http, "POST", f"{gateway.base_url}/batch", json={"calls": calls})
    results = {r["id"]: r for r in body["data"]["results"]}
    assert status == 200 and list(results) == ["gone", "kill", "deals", "3"]
    assert results["gone"]["error"]["code"] == "ENTITY_NOT_FOUND" and results["gone"]["status"] == 404
    assert results["kill"]["success"] is True and results["kill"]["status"] == 204
    assert results["deals"]["success"] is False
    assert results["3"]["meta"] == {"total": 0}
    assert portal.state.counts()["killed"] == 1 and gateway.batches == 1


async def test_bad_json_and_bad_arguments_get_a_400(gateway: VibecodeGateway, http: Http) -> None:
    bad_json = await _send(http, "POST", f"{gateway.base_url}/workflows/start", data=b"{nope")
    assert bad_json[0] == 400 and bad_json[1]["error"]["code"] == "VALIDATION_ERROR"
    bad_entity = await _send(
        http,
        "POST",
        f"{gateway.base_url}/workflows/start",
        json={"templateId": 1, "entityType": "task", "entityId": 1},
    )
    assert bad_entity[0] == 400 and bad_entity[1]["error"]["code"] == "VALIDATION_ERROR"
    bad_offset = await _send(http, "GET", f"{gateway.base_url}/workflows?offset=-5")
    assert bad_offset[0] == 400


async def test_rest_and_gateway_share_one_state(
    portal: EmulatedPortal, gateway: VibecodeGateway, http: Http
) -> None:
    template = portal.state.add_template("T", DEAL_TYPE)
    body = {"templateId": template.id, "entityType": "deal", "entityId": 12}
    status, started = await _send(http, "POST", f"{gateway.base_url}/workflows/start", json=body)
    assert status == 200
    async with aiohttp.ClientSession() as plain:
        rest = await _send(
            plain, "POST", portal.webhook_url + "bizproc.workflow.instances", json={"SELECT": ["ID"]}
        )
    assert rest[1]["result"] == [{"ID": started["data"]["workflowId"]}]


def test_the_routes_mount_once(portal: EmulatedPortal) -> None:
    with pytest.raises(RuntimeError, match="already mounted"):
        add_vibecode_routes(portal.app, portal)
