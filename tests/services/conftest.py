"""Fixtures for the service tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bitrix_bizproc import BizprocClient
from bitrix_bizproc.emulator import EmulatedPortal

from .recorder import Recorder


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def client(portal: EmulatedPortal) -> AsyncIterator[BizprocClient]:
    """The admin's webhook client (user 1), limiter off."""
    async with BizprocClient.from_webhook(portal.webhook_url, limiter="off") as client:
        yield client


@pytest.fixture
async def app(portal: EmulatedPortal) -> AsyncIterator[BizprocClient]:
    """An OAuth (application context) client for user 1, limiter off."""
    tokens = portal.issue_tokens()
    async with BizprocClient.from_oauth(
        client_id=portal.oauth_app.client_id,
        client_secret=portal.oauth_app.client_secret,
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        client_endpoint=tokens["client_endpoint"],
        token_url=portal.token_url,
        limiter="off",
    ) as client:
        yield client


@pytest.fixture
def staffed(portal: EmulatedPortal) -> EmulatedPortal:
    """The portal with its administrator (user 1) on the staff list, so other users can be added."""
    portal.state.add_user("Admin", "Root", id=1, is_admin=True)
    return portal
