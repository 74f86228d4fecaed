"""A client for the job tests (no client-side limiter: the portal's plan is unlimited unless set)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bitrix_bizproc import BizprocClient, RetryPolicy
from bitrix_bizproc.emulator import EmulatedPortal

FAST_RETRY = RetryPolicy(backoff=0.01)  # retries without real seconds of backoff


@pytest.fixture
async def client(portal: EmulatedPortal) -> AsyncIterator[BizprocClient]:
    """A webhook client of the portal's admin."""
    async with BizprocClient.from_webhook(portal.webhook_url, limiter=None, retry=FAST_RETRY) as c:
        yield c
