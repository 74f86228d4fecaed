"""Many emulated portals from one server: each its own data, bucket and tokens; one token server."""

from __future__ import annotations

from typing import Any

import aiohttp

from bitrix_bizproc.emulator import STANDARD, EmulatedFleet, PortalConfig

from .conftest import seed


async def post(session: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> tuple[int, Any]:
    async with session.post(url, json=body) as resp:
        return resp.status, await resp.json()


async def test_each_portal_answers_from_its_own_state(emulated: EmulatedFleet) -> None:
    a, b = emulated.add_portal("member-a"), emulated.add_portal("member-b")
    seed(a, 3)
    seed(b, 1)
    ta, tb = emulated.issue_tokens("member-a"), emulated.issue_tokens("member-b")
    assert ta["client_endpoint"] == f"{emulated.base_url}/member-a/rest/"
    assert ta["member_id"] == "member-a"
    async with aiohttp.ClientSession() as http:
        for t, total in ((ta, 3), (tb, 1)):
            url = t["client_endpoint"] + "bizproc.workflow.instances"
            status, body = await post(http, url, {"auth": t["access_token"]})
            assert status == 200 and body["total"] == total
        # A token of portal A is unknown to portal B.
        status, body = await post(http, tb["client_endpoint"] + "user.get", {"auth": ta["access_token"]})
        assert (status, body["error"]) == (401, "invalid_token")
        status, body = await post(http, f"{emulated.base_url}/nobody/rest/user.get", {})
        assert (status, body["error"]) == (404, "NOT_FOUND")


async def test_each_portal_has_its_own_bucket(emulated: EmulatedFleet) -> None:
    tight = emulated.add_portal("tight", PortalConfig(plan=STANDARD))
    loose = emulated.add_portal("loose")
    tokens = {m: emulated.issue_tokens(m) for m in ("tight", "loose")}
    async with aiohttp.ClientSession() as http:
        for member_id in ("tight", "loose"):
            for _ in range(60):
                t = tokens[member_id]
                await post(http, t["client_endpoint"] + "user.get", {"auth": t["access_token"]})
    assert tight.counters.rejections["QUERY_LIMIT_EXCEEDED"] > 0
    assert loose.counters.rejections["QUERY_LIMIT_EXCEEDED"] == 0
    assert tight.counters.requests == loose.counters.requests == 60


async def test_the_shared_token_server_refreshes_the_portal_that_issued_the_token(
    emulated: EmulatedFleet,
) -> None:
    a, b = emulated.add_portal("member-a"), emulated.add_portal("member-b")
    tb = emulated.issue_tokens("member-b")
    query = {
        "grant_type": "refresh_token",
        "client_id": emulated.app.client_id,
        "client_secret": emulated.app.client_secret,
        "refresh_token": tb["refresh_token"],
    }
    async with aiohttp.ClientSession() as http:
        async with http.get(emulated.token_url, params=query) as resp:
            answer = await resp.json()
        assert answer["client_endpoint"] == emulated.rest_url("member-b")
        assert (a.counters.token_refreshes, b.counters.token_refreshes) == (0, 1)
        async with http.get(emulated.token_url, params=query) as resp:  # rotated: the old one is dead
            assert resp.status == 400
            assert (await resp.json())["error"] == "invalid_grant"


async def test_an_uninstalled_app_loses_every_token(emulated: EmulatedFleet) -> None:
    emulated.add_portal("member-a")
    t = emulated.issue_tokens("member-a")
    emulated.uninstall("member-a")
    async with aiohttp.ClientSession() as http:
        status, body = await post(http, t["client_endpoint"] + "user.get", {"auth": t["access_token"]})
    assert (status, body["error"]) == (401, "invalid_token")
