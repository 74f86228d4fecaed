"""The emulated portal POSTs to app robots what a real portal POSTs (keys of recorded requests).

Recorded shapes: tests/apps/fixtures.py (an activity call from mesilov/bitrix24-php-sdk
examples/application/local/activity-handler.php; ONAPPINSTALL from shadrinov/asterisk-connector
src/main/java/ru/ntechs/asteriskconnector/bitrix/BitrixEvent.java).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qsl

import pytest
from aiohttp import web
from apps.fixtures import ACTIVITY_CALL, INSTALL_EVENT

from bitrix_bizproc.emulator import EmulatedPortal
from bitrix_bizproc.emulator.records import AppActivity
from bitrix_bizproc.protocol.encoding import parse_query

DEAL = ("crm", "CCrmDocumentDeal", "DEAL")


@pytest.fixture
async def catcher() -> AsyncIterator[tuple[str, list[tuple[str, bytes]]]]:
    """A handler URL that records (content type, body) of every POST and answers 200."""
    seen: list[tuple[str, bytes]] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append((request.content_type, await request.read()))
        return web.json_response({"result": "ok"})

    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/hook", seen
    await runner.cleanup()


def keys(body: bytes) -> set[str]:
    return {k for k, _ in parse_qsl(body.decode(), keep_blank_values=True)}


async def test_robot_call_has_the_recorded_shape(
    portal: EmulatedPortal, catcher: tuple[str, list[tuple[str, bytes]]]
) -> None:
    url, seen = catcher
    await portal.robots.install(url)
    fields = {
        "HANDLER": url,
        "USE_SUBSCRIPTION": "Y",
        "PROPERTIES": {"comment": {"Name": "C", "Default": "d"}},
    }
    portal.state.activities[("app", "test_activity")] = AppActivity("app", "test_activity", False, fields)
    template = portal.state.add_template(
        "t",
        DEAL,
        tasks=[{"activity": "RestActivity", "code": "test_activity", "properties": {"amount": "333"}}],
    )
    workflow = portal.state.start_workflow(template, "DEAL_5", 1)
    await portal.robots.drain()
    content_type, sent = seen[-1]
    assert content_type == "application/x-www-form-urlencoded"
    assert keys(sent) == {k for k, _ in ACTIVITY_CALL}
    decoded = parse_query(sent.decode())
    assert decoded["document_id"] == ["crm", "CCrmDocumentDeal", "DEAL_5"]
    assert decoded["document_type"] == list(DEAL)
    assert decoded["properties"] == {"comment": "d", "amount": "333"}
    assert decoded["workflow_id"] == workflow.id and decoded["event_token"].startswith(workflow.id + "|")
    assert decoded["auth"]["application_token"] == portal.robots.application_token
    assert decoded["auth"]["domain"] == portal.config.domain
    assert decoded["auth"]["client_endpoint"] == portal.rest_url


async def test_install_and_uninstall_have_the_recorded_shape(
    portal: EmulatedPortal, catcher: tuple[str, list[tuple[str, bytes]]]
) -> None:
    url, seen = catcher
    assert await portal.robots.install(url) == 200
    assert keys(seen[0][1]) == {k for k, _ in INSTALL_EVENT}
    token = portal.robots.application_token
    assert await portal.robots.uninstall(clean=True) == 200
    uninstall = parse_query(seen[1][1].decode())
    assert uninstall["event"] == "ONAPPUNINSTALL" and uninstall["data"] == {"CLEAN": "1"}
    assert uninstall["auth"] == {
        "domain": portal.config.domain,
        "member_id": portal.config.member_id,
        "application_token": token,
    }


def test_a_workflow_started_without_a_loop_records_why_nothing_was_sent() -> None:
    portal = EmulatedPortal()
    fields = {"HANDLER": "http://127.0.0.1:9/hook", "USE_SUBSCRIPTION": "Y"}
    portal.state.activities[("app", "r")] = AppActivity("app", "r", True, fields)
    template = portal.state.add_template("t", DEAL, tasks=[{"activity": "RestActivity", "code": "r"}])
    workflow = portal.state.start_workflow(template, "DEAL_1", 1)
    (run,) = portal.robots.runs_of(workflow.id)
    assert (run.status, run.error) == ("waiting", "no running event loop")
