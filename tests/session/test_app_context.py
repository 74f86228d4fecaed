"""Methods that need an application context are refused before sending under a webhook, with a hint."""

from __future__ import annotations

import pytest

from bitrix_bizproc import AccessDeniedError, BizprocClient
from bitrix_bizproc.emulator import EmulatedPortal


async def test_app_methods_are_refused_before_sending(portal: EmulatedPortal) -> None:
    async with BizprocClient.from_webhook(portal.webhook_url, limiter="off") as client:
        for call in (
            lambda: client.call("bizproc.activity.list"),
            lambda: client.activities.list(),
            lambda: client.robots.list(),
            lambda: client.templates.delete(12),
        ):
            with pytest.raises(AccessDeniedError, match=r"application context.*from_oauth") as info:
                await call()
            assert info.value.code == "ACCESS_DENIED"
    assert portal.counters.requests == 0


async def test_oauth_clients_still_send_them(portal: EmulatedPortal) -> None:
    tokens = portal.issue_tokens()
    app = portal.oauth_app
    async with BizprocClient.from_oauth(
        client_id=app.client_id, client_secret=app.client_secret, access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"], client_endpoint=portal.rest_url, token_url=portal.token_url,
        limiter="off",
    ) as client:  # fmt: skip
        assert isinstance(await client.activities.list(), list)
    assert portal.counters.requests == 1
