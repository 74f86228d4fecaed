"""The fleet's lifecycle: clients from the store, idle close, refresh per portal, uninstall, stats, plans."""

from __future__ import annotations

import asyncio

import pytest

from bitrix_bizproc import BucketSpec, ConfigurationError
from bitrix_bizproc.emulator import EmulatedFleet
from bitrix_bizproc.fleet import Fleet, MemoryPortalStore, PortalNotFoundError

from .conftest import FleetFactory, install


class IdleClock:
    """A hand-moved clock for the idle timeout."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_clients_are_made_from_the_store_on_first_use(
    emulated: EmulatedFleet, store: MemoryPortalStore, make_fleet: FleetFactory
) -> None:
    await install(emulated, store, "member-a")
    b = await install(emulated, store, "member-b")
    fleet = await make_fleet()
    assert fleet.open_clients == []
    clients = await asyncio.gather(*(fleet.client("member-a") for _ in range(20)))
    assert len({id(c) for c in clients}) == 1  # one client however many callers ask at once
    assert fleet.open_clients == ["member-a"]
    by_domain = await fleet.client(domain=b.config.domain)
    assert by_domain is await fleet.client("member-b")
    assert (await by_domain.call("user.get")).result is not None
    assert b.counters.requests == 1
    # One connection pool for every portal.
    sessions = {id(c.session.transport._session) for c in (clients[0], by_domain)}  # type: ignore[attr-defined]
    assert len(sessions) == 1


async def test_a_portal_without_tokens_is_a_typed_error(make_fleet: FleetFactory) -> None:
    fleet = await make_fleet()
    with pytest.raises(PortalNotFoundError, match="no tokens"):
        await fleet.client("never-installed")
    with pytest.raises(PortalNotFoundError):
        await fleet.client(domain="nowhere.bitrix24.local")
    with pytest.raises(ConfigurationError):
        await fleet.client("../etc/passwd")
    with pytest.raises(ConfigurationError):
        await fleet.client()
    assert fleet.open_clients == []


async def test_idle_clients_are_closed_and_made_again_on_next_use(
    emulated: EmulatedFleet, store: MemoryPortalStore, make_fleet: FleetFactory
) -> None:
    for m in ("member-a", "member-b", "member-c"):
        await install(emulated, store, m)
    clock = IdleClock()
    fleet = await make_fleet(idle_timeout=60.0, idle_clock=clock)
    first = await fleet.client("member-a")
    await first.call("user.get")
    await fleet.client("member-b")
    clock.now += 30
    await fleet.client("member-b")  # used again: not idle yet
    async with fleet.lease("member-c") as leased:
        clock.now += 45
        assert await fleet.close_idle() == 1  # a: idle 75 s; b: 45 s; c: leased
        assert fleet.open_clients == ["member-b", "member-c"]
        assert first.session._closed  # type: ignore[attr-defined]
        clock.now += 100
        assert await fleet.close_idle() == 1  # b; c is still leased
        assert not leased.session._closed  # type: ignore[attr-defined]
    clock.now += 61
    assert await fleet.close_idle() == 1
    assert fleet.open_clients == []
    again = await fleet.client("member-a")
    assert again is not first
    await again.call("user.get")
    assert fleet.stats("member-a").calls == 2  # stats outlive the closed client


async def test_each_portal_refreshes_its_own_tokens_once(
    emulated: EmulatedFleet, store: MemoryPortalStore, make_fleet: FleetFactory
) -> None:
    a = await install(emulated, store, "member-a")
    b = await install(emulated, store, "member-b")
    fleet = await make_fleet()
    before_a, before_b = await store.load("member-a"), await store.load("member-b")
    a.auth.expire_access_tokens()
    client_a, client_b = await fleet.client("member-a"), await fleet.client("member-b")
    await asyncio.gather(
        *(client_a.call("user.get", {"ID": i}) for i in range(50)),
        *(client_b.call("user.get", {"ID": i}) for i in range(50)),
    )
    assert (a.counters.token_refreshes, b.counters.token_refreshes) == (1, 0)
    assert fleet.stats("member-a").refreshes == 1
    assert fleet.stats("member-b").refreshes == 0
    after_a, after_b = await store.load("member-a"), await store.load("member-b")
    assert after_a is not None and before_a is not None
    assert after_a.refresh_token != before_a.refresh_token  # the rotated pair is back in the store
    assert after_b == before_b
    assert (await store.domain_of_member("member-a")) == a.config.domain  # the index stays


async def test_a_portal_that_uninstalls_is_removed_and_its_client_closed(
    emulated: EmulatedFleet, store: MemoryPortalStore, make_fleet: FleetFactory
) -> None:
    await install(emulated, store, "member-a")
    await install(emulated, store, "member-b")
    fleet = await make_fleet()
    client = await fleet.client("member-a")
    await client.call("user.get")
    emulated.uninstall("member-a")
    await fleet.remove("member-a")  # the uninstall event
    assert client.session._closed  # type: ignore[attr-defined]
    assert await store.members() == ["member-b"]
    with pytest.raises(PortalNotFoundError):
        await fleet.client("member-a")
    assert fleet.stats("member-a").calls == 1
    await (await fleet.client("member-b")).call("user.get")  # the others carry on


async def test_a_reinstall_replaces_the_live_client(
    emulated: EmulatedFleet, store: MemoryPortalStore, make_fleet: FleetFactory
) -> None:
    from .conftest import tokens_of

    await install(emulated, store, "member-a")
    fleet = await make_fleet()
    old = await fleet.client("member-a")
    emulated.uninstall("member-a")
    await fleet.save("member-a", tokens_of(emulated.issue_tokens("member-a")), domain="a.bitrix24.local")
    new = await fleet.client("member-a")
    assert new is not old
    await new.call("user.get")  # the new pair works; the old client would get invalid_token


async def test_a_reinstall_during_a_lease_keeps_the_leased_client_until_its_last_lease_ends(
    emulated: EmulatedFleet,
    store: MemoryPortalStore,
    make_fleet: FleetFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from .conftest import tokens_of

    await install(emulated, store, "member-a")
    fleet = await make_fleet()
    closed: list[str] = []
    async with fleet.lease("member-a") as old, fleet.lease("member-a") as again:
        assert again is old
        real_close = old.aclose

        async def spy() -> None:
            closed.append("old")
            await real_close()

        monkeypatch.setattr(old, "aclose", spy)
        await old.call("user.get")
        await fleet.save("member-a", tokens_of(emulated.issue_tokens("member-a")), domain="a.bitrix24.local")
        assert closed == []  # two jobs still hold it
        async with fleet.lease("member-a") as new:
            assert new is not old
            await new.call("user.get")  # new leases get the new pair
        await old.call("user.get")  # the running job carries on with its client, not closed under it
    assert closed == ["old"]  # closed once its last lease ended
    assert fleet.stats("member-a").requests >= 3  # the retired client's counters are kept


async def test_per_portal_stats_and_plans(
    emulated: EmulatedFleet, store: MemoryPortalStore, make_fleet: FleetFactory
) -> None:
    for m in ("std", "ent", "self-hosted", "custom"):
        await install(emulated, store, m)
    spec = BucketSpec(rate=100.0, burst=20)
    plans = {"ent": "enterprise", "self-hosted": "off", "custom": spec}
    fleet = await make_fleet(plan="standard", plans=plans)
    limiters = {m: (await fleet.client(m)).session.limiter for m in ("std", "ent", "self-hosted", "custom")}
    assert limiters["std"].spec is not None and limiters["std"].spec.rate == 2.0
    assert limiters["ent"].spec is not None and limiters["ent"].spec.rate == 5.0
    assert limiters["self-hosted"].spec is None
    assert limiters["custom"].spec is spec
    for _ in range(3):
        await (await fleet.client("ent")).call("user.get")
    stats = fleet.stats_by_portal()
    assert stats["ent"]["calls"] == 3 and stats["std"]["calls"] == 0
    with pytest.raises(ConfigurationError):
        fleet.set_plan("std", "platinum")  # type: ignore[arg-type]


async def test_closing_the_fleet_closes_every_client(
    emulated: EmulatedFleet, store: MemoryPortalStore
) -> None:
    await install(emulated, store, "member-a")
    fleet = Fleet(
        store,
        client_id=emulated.app.client_id,
        client_secret=emulated.app.client_secret,
        token_url=emulated.token_url,
    )
    client = await fleet.client("member-a")
    await fleet.aclose()
    assert client.session._closed  # type: ignore[attr-defined]
    with pytest.raises(RuntimeError, match="closed"):
        await fleet.client("member-a")


async def test_auto_batch_clients_share_batches(
    emulated: EmulatedFleet, store: MemoryPortalStore, make_fleet: FleetFactory
) -> None:
    """With ``auto_batch`` the fleet's clients coalesce concurrent calls (what an app's replies need)."""
    a = await install(emulated, store, "member-a")
    fleet = await make_fleet(auto_batch=True, auto_batch_window=0.05)
    client = await fleet.client("member-a")
    assert (client.auto_batch, client.auto_batch_window) == (True, 0.05)
    users = await asyncio.gather(*(client.users.get(1) for _ in range(10)))
    assert len(users) == 10 and a.counters.requests == 1  # ten calls, one batch request
    plain = await make_fleet(store=store)
    assert (await plain.client("member-a")).auto_batch is False  # off unless asked for
    with pytest.raises(ConfigurationError, match="auto_batch_window"):
        await make_fleet(auto_batch=True, auto_batch_window=2)
