"""End to end through both adapters: the portal runs a workflow, POSTs to the app, the app replies."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from bitrix_bizproc import AccessDeniedError
from bitrix_bizproc.apps import RobotCall
from bitrix_bizproc.emulator import ManualClock

from .conftest import DEAL, Harness, PortalFactory, make_app, serve_aiohttp


async def test_robot_round_trip(harness: Harness) -> None:
    wid = harness.start("md5", properties={"text": "hello", "times": "2"})
    record = await harness.portal.robots.wait(wid)
    assert record.state == "Completed"
    (run,) = harness.portal.robots.runs_of(wid)
    assert (run.status, run.http_status) == ("completed", 200)
    assert run.return_values == {"hash": hashlib.md5(b"hellohello").hexdigest()}
    (call,) = harness.calls
    assert call.properties == {"text": "hello", "times": 2}  # converted by the declared types
    assert call.document_id == ("crm", "CCrmDocumentDeal", "DEAL_7")


async def test_robot_that_does_not_wait(harness: Harness) -> None:
    wid = harness.start("notify")
    record = await harness.portal.robots.wait(wid)
    assert record.state == "Completed"
    (run,) = harness.portal.robots.runs_of(wid)
    assert run.status == "delivered" and run.return_values is None


async def test_default_property_value_is_sent(harness: Harness) -> None:
    wid = harness.start("md5", properties={"text": "abc"})
    await harness.portal.robots.wait(wid)
    assert harness.calls[0].properties["times"] == 1
    assert harness.portal.robots.runs_of(wid)[0].return_values == {"hash": hashlib.md5(b"abc").hexdigest()}


async def test_sync_is_idempotent(harness: Harness) -> None:
    member = harness.portal.config.member_id
    again = await harness.app.sync(member)
    assert (again.added, sorted(again.updated), again.removed) == (
        [],
        ["echo", "md5", "notify", "silent"],
        [],
    )
    client = await harness.app.client_for(member)
    await client.robots.add(code="old", handler=harness.url, name="Old one")
    pruned = await harness.app.sync(member, remove_stale=True)
    assert pruned.removed == ["old"]
    assert sorted(await client.robots.list()) == ["md5", "notify", "silent"]
    assert await client.activities.list() == ["echo"]


async def test_timeout_moves_the_workflow_on(portal_factory: PortalFactory) -> None:
    clock = ManualClock()
    portal = await portal_factory(clock=clock)
    calls: list[RobotCall] = []
    app = make_app(portal, "http://placeholder/", calls)
    async with serve_aiohttp(app) as url:
        app.handler_url = url
        await portal.robots.install(url)
        await app.sync(portal.config.member_id)
        step = {"activity": "RestActivity", "code": "silent", "timeout_duration": 60}
        template = portal.state.add_template("t", DEAL, tasks=[step])
        wid = portal.state.start_workflow(template, "DEAL_1", 1).id
        await portal.robots.drain()
        await app.drain()
        running = portal.state.instance(wid)
        assert len(calls) == 1 and running is not None and running.state == "Running"
        clock.advance(59)
        assert portal.robots.expire_overdue() == []
        clock.advance(1)
        (expired,) = portal.robots.expire_overdue()
        assert expired.status == "timed_out"
        record = portal.state.instance(wid)
        assert record is not None and record.state == "Completed"
        token = portal.robots.runs_of(wid)[0].token.token
        client = await app.client_for(portal.config.member_id)
        with pytest.raises(AccessDeniedError):  # a late answer: the token is spent
            await client.events.send(token, {"x": 1})


async def test_sync_on_install(portal_factory: PortalFactory) -> None:
    portal = await portal_factory()
    app = make_app(portal, "http://placeholder/", [])
    app.sync_on_install = True
    async with serve_aiohttp(app) as url:
        app.handler_url = url
        assert await portal.robots.install(url) == 200
        registered = {a.code: a.fields["HANDLER"] for a in portal.state.activities.values() if a.is_robot}
        assert registered == {"md5": url, "notify": url, "silent": url}
        assert [a.code for a in portal.state.activities.values() if not a.is_robot] == ["echo"]


async def test_uninstall_from_the_portal(harness: Harness) -> None:
    member = harness.portal.config.member_id
    assert await harness.app.installation(member) is not None
    assert await harness.portal.robots.uninstall(clean=True) == 200
    assert await harness.app.installation(member) is None  # the in-memory store forgot the portal


async def test_activity_round_trip(harness: Harness) -> None:
    wid = harness.start("echo", properties={"when": "27.11.2026"})
    record = await harness.portal.robots.wait(wid)
    assert record.state == "Completed"
    assert harness.calls[0].properties == {"when": dt.date(2026, 11, 27)}
    assert harness.portal.robots.runs_of(wid)[0].return_values == {"same": "2026-11-27"}
