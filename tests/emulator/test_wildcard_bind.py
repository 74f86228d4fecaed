"""A portal bound to every interface (``--host 0.0.0.0``) prints addresses a client can reach.

Before the fix base_url was ``http://0.0.0.0:<port>``: the webhook, OAuth and Vibecode URLs printed by
``bizproc emulator`` and the token server's ``client_endpoint`` pointed at an address that is not one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bitrix_bizproc import BizprocClient
from bitrix_bizproc.emulator import EmulatedPortal


async def test_a_wildcard_bind_advertises_the_loopback_address(
    portal_factory: Callable[..., Awaitable[EmulatedPortal]],
) -> None:
    portal = await portal_factory(host="0.0.0.0")
    prefix = f"http://127.0.0.1:{portal.port}"
    assert portal.base_url == prefix
    for url in (portal.webhook_url, portal.token_url, portal.rest_url, portal.vibecode_url):
        assert url.startswith(prefix + "/")
    assert portal.auth.rest_endpoint == prefix + "/rest/"
    if 1 not in portal.state.users:
        portal.state.add_user("Admin", "Adminov", id=1, is_admin=True)
    async with BizprocClient.from_webhook(portal.webhook_url, limiter=None) as client:
        assert [u.id for u in await client.users.list(filter={"ID": 1}).collect()] == [1]


def test_ipv6_hosts_are_bracketed() -> None:
    for host in ("::", "::1"):
        portal: Any = EmulatedPortal(host=host)
        assert portal.base_url.startswith("http://[::1]:")
