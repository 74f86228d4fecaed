"""Shared by the examples: an emulated portal with an admin, plus a webhook client and an app client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import attrs

from bitrix_bizproc import BizprocClient
from bitrix_bizproc.emulator import EmulatedPortal

DEAL = ("crm", "CCrmDocumentDeal", "DEAL")


@attrs.frozen
class Demo:
    """The portal (to seed data) and two clients: the admin's webhook, and an OAuth app."""

    portal: EmulatedPortal
    client: BizprocClient
    app: BizprocClient


@asynccontextmanager
async def demo() -> AsyncIterator[Demo]:
    """Start an emulated portal on a free port; against a real one use BizprocClient.from_webhook(url)."""
    async with EmulatedPortal() as portal:
        portal.state.add_user("Admin", "Root", id=1, is_admin=True)
        tokens = portal.issue_tokens()
        client = BizprocClient.from_webhook(portal.webhook_url)
        app = BizprocClient.from_oauth(
            client_id=portal.oauth_app.client_id,
            client_secret=portal.oauth_app.client_secret,
            access_token=tokens["access_token"],
            refresh_token=tokens["refresh_token"],
            client_endpoint=tokens["client_endpoint"],
            token_url=portal.token_url,
        )
        async with client, app:
            yield Demo(portal, client, app)
