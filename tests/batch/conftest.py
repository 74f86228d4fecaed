"""Fixtures for the batch tests: an admin client on the emulated portal, and running instances."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from bitrix_bizproc._client import BizprocClient
from bitrix_bizproc.emulator import EmulatedPortal
from bitrix_bizproc.protocol.retry import RetryPolicy

DEAL = ("crm", "CCrmDocumentDeal", "DEAL")


@pytest.fixture
async def client(portal: EmulatedPortal) -> AsyncIterator[BizprocClient]:
    """The admin's webhook client, limiter off, failures not retried (so faults surface at once)."""
    async with BizprocClient.from_webhook(portal.webhook_url, limiter="off", retry=RetryPolicy.never()) as c:
        yield c


@pytest.fixture
def instances(portal: EmulatedPortal) -> Callable[[int], list[str]]:
    """``instances(n)``: the IDs of ``n`` new running workflow instances."""

    def make(n: int) -> list[str]:
        if not list(portal.state.templates):
            portal.state.add_template("Approval", DEAL)
        return [w.id for w in portal.state.add_instances(n)]

    return make
