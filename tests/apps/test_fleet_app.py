"""An app on a fleet: install/uninstall feed the fleet's store, replies go through the fleet's clients.

End to end against an :class:`EmulatedFleet`: each portal's robots runtime sends ``ONAPPINSTALL`` to the
app, runs a workflow holding the app's robot, and waits for the reply.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bitrix_bizproc import ConfigurationError, ConfigurationTypeError, MemoryTokenStore
from bitrix_bizproc.apps import BitrixApp, Property, RobotCall
from bitrix_bizproc.emulator import EmulatedFleet
from bitrix_bizproc.fleet import Fleet, MemoryPortalStore

from .conftest import DEAL, serve_aiohttp
from .fixtures import ACTIVITY_CALL, FORM, INSTALL_EVENT, body

MEMBERS = ["portal-a", "portal-b", "portal-c"]


@pytest.fixture
async def emulated() -> AsyncIterator[EmulatedFleet]:
    """Three emulated portals of one market app, served from one port."""
    async with EmulatedFleet() as fleet:
        for member in MEMBERS:
            fleet.add_portal(member)
        yield fleet


def fleet_app(fleet: Fleet, calls: list[RobotCall]) -> BitrixApp:
    """An app on ``fleet`` with robot ``md5`` (text -> hash)."""
    app = BitrixApp(
        client_id=fleet.client_id,
        client_secret=fleet.client_secret,
        handler_url="http://placeholder/",
        fleet=fleet,
    )

    @app.robot(
        "md5",
        name="MD5",
        properties={"text": Property(name="Text", type="string")},
        return_properties={"hash": Property(name="Hash", type="string")},
    )
    async def md5(call: RobotCall) -> dict[str, Any]:
        calls.append(call)
        return {"hash": hashlib.md5((call.properties["text"] or "").encode()).hexdigest()}

    return app


def start(emulated: EmulatedFleet, member: str, text: str) -> str:
    portal = emulated.portal(member)
    step = {"activity": "RestActivity", "code": "md5", "properties": {"text": text}}
    template = portal.state.add_template("hash", DEAL, tasks=[step])
    return portal.state.start_workflow(template, "DEAL_1", 1).id


async def test_three_portals_install_run_and_one_uninstalls(emulated: EmulatedFleet) -> None:
    store = MemoryPortalStore()
    async with Fleet(
        store,
        client_id=emulated.app.client_id,
        client_secret=emulated.app.client_secret,
        token_url=emulated.token_url,
        auto_batch=True,
        auto_batch_window=0.05,
    ) as fleet:
        calls: list[RobotCall] = []
        app = fleet_app(fleet, calls)
        assert app.fleet is fleet and app.store is store
        async with serve_aiohttp(app) as url:
            app.handler_url = url
            for member in MEMBERS:  # each portal sends ONAPPINSTALL: the fleet's store gets its tokens
                assert await emulated.portal(member).robots.install(url) == 200
                await app.sync(member)
            assert await store.members() == MEMBERS
            for member in MEMBERS:
                saved = await store.load(member)
                assert saved is not None
                assert saved.application_token == emulated.portal(member).robots.application_token
                assert await store.member_for_domain(emulated.portal(member).config.domain) == member
            assert fleet.open_clients == MEMBERS  # the app's sync went through the fleet's clients
            before = {m: fleet.stats(m).calls for m in MEMBERS}

            workflows = {m: start(emulated, m, m) for m in MEMBERS}
            for member, wid in workflows.items():
                record = await emulated.portal(member).robots.wait(wid)
                assert record.state == "Completed"
                (run,) = emulated.portal(member).robots.runs_of(wid)
                assert run.return_values == {"hash": hashlib.md5(member.encode()).hexdigest()}
            assert sorted(c.member_id for c in calls) == MEMBERS
            replies = {m: fleet.stats(m).calls - before[m] for m in MEMBERS}
            assert replies == {m: 1 for m in MEMBERS}  # each portal's reply went through its fleet client
            by_portal = fleet.stats_by_portal()
            assert sorted(by_portal) == MEMBERS and all(
                by_portal[m]["errors_by_class"] == {} for m in MEMBERS
            )

            gone = emulated.portal("portal-c")
            client = await fleet.client("portal-c")
            old_token = gone.robots.application_token
            assert await gone.robots.uninstall() == 200
            assert await store.load("portal-c") is None
            assert client.session._closed  # type: ignore[attr-defined]
            assert fleet.open_clients == ["portal-a", "portal-b"]
            wid = start(emulated, "portal-c", "again")  # its next robot call is refused, and runs nothing
            await gone.robots.drain()
            await app.drain()
            (run,) = gone.robots.runs_of(wid)
            assert (run.http_status, run.status) == (401, "waiting")
            replay = {"auth[member_id]": "portal-c", "auth[application_token]": old_token}
            answer = await app.handle(FORM, body(ACTIVITY_CALL, **replay))
            assert (answer.status, answer.body["error"]) == (401, "FORGED_REQUEST")
            assert len(calls) == 3
            wid = start(emulated, "portal-a", "still here")  # the others carry on
            assert (await emulated.portal("portal-a").robots.wait(wid)).state == "Completed"
        assert fleet.open_clients == ["portal-a", "portal-b"]  # the app's close leaves a given fleet open


async def test_a_reinstall_rotates_the_application_token() -> None:
    store = MemoryPortalStore()
    fleet = Fleet(store, client_id="local.app", client_secret="secret", auto_batch=True)
    app = fleet_app(fleet, [])
    first = body(INSTALL_EVENT)
    member = dict(INSTALL_EVENT)["auth[member_id]"]
    old = dict(INSTALL_EVENT)["auth[application_token]"]
    new = "a" * 32
    assert (await app.handle(FORM, first)).status == 200
    uninstall = [("event", "ONAPPUNINSTALL"), ("auth[member_id]", member), ("auth[application_token]", old)]
    assert (await app.handle(FORM, body(uninstall))).status == 200
    assert await store.load(member) is None
    assert (await app.handle(FORM, body(INSTALL_EVENT, **{"auth[application_token]": new}))).status == 200
    saved = await store.load(member)
    assert saved is not None and saved.application_token == new
    call = {"auth[member_id]": member, "code": "md5", "use_subscription": "N"}  # no reply to send
    refused = await app.handle(FORM, body(ACTIVITY_CALL, **call, **{"auth[application_token]": old}))
    assert refused.status == 401
    accepted = await app.handle(FORM, body(ACTIVITY_CALL, **call, **{"auth[application_token]": new}))
    assert accepted.status == 200
    await app.aclose()
    await fleet.aclose()


async def test_the_app_without_a_fleet_keeps_a_private_one() -> None:
    app = BitrixApp(client_id="local.app", client_secret="secret", handler_url="https://a.example/b24")
    fleet = app.fleet
    assert isinstance(fleet, Fleet) and fleet.store is app.store
    assert (fleet.client_id, fleet.auto_batch, fleet.auto_batch_window) == ("local.app", True, 0.25)
    assert fleet.plan_of("any") == "standard"
    assert app.fleet is fleet  # one, made once
    await app.aclose()


def test_a_fleet_that_does_not_fit_is_refused() -> None:
    store = MemoryPortalStore()
    options: dict[str, Any] = {"client_secret": "secret", "handler_url": "https://a.example/b24"}
    coalescing = Fleet(store, client_id="local.app", client_secret="secret", auto_batch=True)
    with pytest.raises(ConfigurationError, match="client_id"):
        BitrixApp(client_id="another.app", fleet=coalescing, **options)
    with pytest.raises(ConfigurationError, match="auto_batch"):
        BitrixApp(
            client_id="local.app", fleet=Fleet(store, client_id="local.app", client_secret="s"), **options
        )
    with pytest.raises(ConfigurationError, match="store"):
        BitrixApp(client_id="local.app", fleet=coalescing, store=MemoryPortalStore(), **options)


async def test_an_install_with_a_bad_domain_is_malformed_and_saves_nothing() -> None:
    store = MemoryPortalStore()
    app = BitrixApp(
        client_id="local.app", client_secret="s", handler_url="https://a.example/b24", store=store
    )
    answer = await app.handle(FORM, body(INSTALL_EVENT, **{"auth[domain]": "not a domain/"}))
    assert (answer.status, answer.body["error"]) == (400, "MALFORMED_REQUEST")
    assert await store.members() == []


def test_a_single_portal_token_store_is_refused() -> None:
    with pytest.raises(ConfigurationTypeError, match="PortalTokenStore"):
        BitrixApp(
            client_id="local.app",
            client_secret="s",
            handler_url="https://a.example/b24",
            store=MemoryTokenStore(),  # type: ignore[arg-type]
        )
