"""No secret in any log line at DEBUG (issues 13 item 10, 15, 16, 18 item 6), across the merged parts: a
bulk job on a webhook, an app's robot round trip with its install event, and a fleet job whose portals
refresh their tokens. Every logger is captured, aiohttp's and the emulator's included."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import attrs
import pytest
from apps.conftest import DEAL, make_app, serve_aiohttp
from jobs._seed import CUTOFF, PortalFactory, seed_instances

from bitrix_bizproc import BizprocClient
from bitrix_bizproc.apps import RobotCall
from bitrix_bizproc.emulator import EmulatedFleet, EmulatedPortal
from bitrix_bizproc.fleet import MemoryPortalStore, terminate_fleet
from bitrix_bizproc.jobs import instance_filter, terminate_workflows

from .conftest import FleetFactory, install

OLD_ONLY = instance_filter(started_before=CUTOFF)


def _assert_unlogged(caplog: pytest.LogCaptureFixture, secrets: Iterable[str | None]) -> None:
    found = [s for s in secrets if s]
    assert found and all(len(s) >= 8 for s in found)  # real secrets, not words that occur anyway
    assert caplog.records  # DEBUG was on: there is something to search
    for record in caplog.records:
        text = record.getMessage() + (record.exc_text or "")
        leaked = [s[:4] + "..." for s in found if s in text]
        assert not leaked, f"{record.name}: a secret ({leaked}) in {record.getMessage()[:80]!r}"


async def test_a_bulk_job_logs_no_webhook_code(
    portal_factory: PortalFactory, caplog: pytest.LogCaptureFixture
) -> None:
    portal = await portal_factory()
    seed_instances(portal, old=120, new=3)
    code = portal.webhook_url.rstrip("/").rsplit("/", 1)[-1]
    caplog.set_level(logging.DEBUG)
    async with BizprocClient.from_webhook(portal.webhook_url, limiter=None) as client:
        report = await terminate_workflows(client, filter=OLD_ONLY)
    assert report.ok and report.counts["done"] == 120
    _assert_unlogged(caplog, [code])


async def test_an_app_round_trip_logs_no_token_and_no_application_token(
    portal: EmulatedPortal, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    calls: list[RobotCall] = []
    app = make_app(portal, "http://placeholder/", calls)
    async with serve_aiohttp(app) as url:
        app.handler_url = url
        assert await portal.robots.install(url) == 200
        member = portal.config.member_id
        await app.sync(member)
        template = portal.state.add_template(
            "md5", DEAL, tasks=[{"activity": "RestActivity", "code": "md5", "properties": {"text": "x"}}]
        )
        wid = portal.state.start_workflow(template, "DEAL_7", 1).id
        assert (await portal.robots.wait(wid)).state == "Completed"
        tokens = await app.token_store(member).load()
        assert tokens is not None and len(calls) == 1
        await app.aclose()
    event_auth = calls[0].request.auth
    _assert_unlogged(
        caplog,
        [
            portal.oauth_app.client_secret,
            tokens.access_token,
            tokens.refresh_token,
            portal.robots.application_token,
            event_auth.access_token,
            event_auth.refresh_token,
        ],
    )


async def test_a_fleet_job_with_token_refreshes_logs_no_secret(
    emulated: EmulatedFleet,
    store: MemoryPortalStore,
    make_fleet: FleetFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secrets: list[str | None] = []
    for member_id in ("p-one", "p-two"):
        portal = await install(emulated, store, member_id)
        seed_instances(portal, old=60, new=2)
        stale = await store.load(member_id)
        assert stale is not None
        secrets += [stale.access_token, stale.refresh_token]
        await store.save(member_id, attrs.evolve(stale, expires_at=0.0))  # the first call refreshes
    fleet = await make_fleet()
    secrets.append(fleet.client_secret)
    caplog.set_level(logging.DEBUG)
    report = await terminate_fleet(fleet, filter=OLD_ONLY)
    assert report.ok, str(report)
    assert report.counts["done"] == 120
    for member_id in ("p-one", "p-two"):
        fresh = await store.load(member_id)
        assert fresh is not None and fresh.refresh_token not in secrets  # they were refreshed
        secrets += [fresh.access_token, fresh.refresh_token]
    _assert_unlogged(caplog, secrets)
