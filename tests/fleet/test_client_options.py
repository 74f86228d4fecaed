"""Fleet options every client it builds gets: ``hooks``, ``allow_http`` (self-hosted portals), ``ssl``."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from bitrix_bizproc import ConfigurationError
from bitrix_bizproc._observe import AnswerEvent, Event, RequestEvent
from bitrix_bizproc.emulator import EmulatedFleet
from bitrix_bizproc.fleet import Fleet, MemoryPortalStore

from .conftest import FleetFactory, install


async def test_hooks_see_every_portals_requests(
    emulated: EmulatedFleet, store: MemoryPortalStore, make_fleet: FleetFactory
) -> None:
    await install(emulated, store, "member-a")
    await install(emulated, store, "member-b")
    events: list[Event] = []
    fleet = await make_fleet(hooks=[events.append])
    for member_id in ("member-a", "member-b"):
        await (await fleet.client(member_id)).call("user.get")
    requests = [e for e in events if isinstance(e, RequestEvent)]
    answers = [e for e in events if isinstance(e, AnswerEvent)]
    assert len(requests) == 2 and len(answers) == 2
    assert all(e.method == "user.get" for e in requests)


async def test_allow_http_reaches_the_clients_of_a_self_hosted_fleet(store: MemoryPortalStore) -> None:
    """A self-hosted OAuth server on plain http is refused unless the fleet opts in, as a lone client is."""
    from bitrix_bizproc import OAuthTokens

    tokens = OAuthTokens("at-1", "rt-1", "http://portal.intranet/rest/", None)
    await store.save("member-a", tokens, domain="portal.intranet")
    url = "http://portal.intranet/oauth/token/"
    async with Fleet(store, client_id="app", client_secret="s3cret", token_url=url, plan="off") as strict:
        with pytest.raises(ConfigurationError, match="allow_http"):
            await strict.client("member-a")
    async with Fleet(
        store, client_id="app", client_secret="s3cret", token_url=url, plan="off", allow_http=True
    ) as opted_in:
        client = await opted_in.client("member-a")
        assert client.session.auth.app.allow_http is True  # type: ignore[attr-defined]


async def test_ssl_goes_on_the_fleets_connection_pool(store: MemoryPortalStore, tmp_path: Path) -> None:
    context = ssl.create_default_context()
    async with Fleet(store, client_id="app", client_secret="s3cret", ssl=context) as fleet:
        assert fleet._http_session().connector._ssl is context  # type: ignore[union-attr]
    with pytest.raises(ConfigurationError, match="CA bundle"):
        Fleet(store, client_id="app", client_secret="s3cret", ssl=tmp_path / "missing.pem")
    import aiohttp

    async with aiohttp.ClientSession() as own:
        with pytest.raises(ConfigurationError, match="not both"):
            Fleet(store, client_id="app", client_secret="s3cret", ssl=context, http_session=own)
