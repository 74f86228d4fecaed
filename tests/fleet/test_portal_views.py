"""A fleet store's single-portal view is a whole token store (load, save, save_if_empty, delete): an app's
uninstall (issue 15) through ``token_store_for=store.for_portal`` forgets the portal in the fleet (issue 16)
the way ``store.remove`` does, whichever store holds it."""

from __future__ import annotations

from redis_shared.conftest import redis_port  # noqa: F401  (the session's redis-server)

from bitrix_bizproc._auth import FillingTokenStore
from bitrix_bizproc.fleet import PortalTokenStore

from .test_stores import any_store, pair  # noqa: F401 - a fixture


async def test_each_portal_view_fills_only_an_empty_slot_and_deletes_the_portal(
    any_store: PortalTokenStore,  # noqa: F811
) -> None:
    await any_store.save("m1", pair(1, "alpha.bitrix24.com"))
    await any_store.save("m2", pair(2, "beta.bitrix24.com"))
    view = any_store.for_portal("m1")
    assert isinstance(view, FillingTokenStore)
    assert await view.save_if_empty(pair(3)) == pair(1, "alpha.bitrix24.com")  # a pair is there: kept
    delete = getattr(view, "delete", None)
    assert callable(delete), f"{type(view).__name__} has no delete(): an app's uninstall fails"
    await delete()
    assert await view.load() is None and await any_store.load("m1") is None
    assert await any_store.members() == ["m2"]  # a fleet-wide job no longer visits it
    assert await any_store.member_for_domain("alpha.bitrix24.com") is None
    assert await any_store.member_for_domain("beta.bitrix24.com") == "m2"


async def test_a_portal_saved_through_its_view_is_a_member_and_found_by_domain(
    any_store: PortalTokenStore,  # noqa: F811
) -> None:
    """A client seeded through ``for_portal`` (e.g. ``from_oauth(token_store=store.for_portal(m), ...)``)
    installs the portal: fleet-wide jobs (``members()``) and lookups by domain must find it."""
    await any_store.for_portal("m1").save(pair(1, "alpha.bitrix24.com"))
    assert await any_store.members() == ["m1"]
    assert await any_store.member_for_domain("alpha.bitrix24.com") == "m1"
    assert await any_store.for_portal("m2").save_if_empty(pair(2, "beta.bitrix24.com")) == pair(
        2, "beta.bitrix24.com"
    )
    assert await any_store.members() == ["m1", "m2"]
    assert await any_store.member_for_domain("beta.bitrix24.com") == "m2"
    # A rotation keeps the domain the install recorded; the endpoint's host does not take it over.
    await any_store.save("m3", pair(3, "gamma.bitrix24.com"), domain="custom.example.com")
    await any_store.for_portal("m3").save(pair(4, "gamma.bitrix24.com"))
    assert await any_store.load("m3") == pair(4, "gamma.bitrix24.com")
    assert await any_store.member_for_domain("custom.example.com") == "m3"
    assert await any_store.member_for_domain("gamma.bitrix24.com") is None
