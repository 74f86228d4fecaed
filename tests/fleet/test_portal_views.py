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
