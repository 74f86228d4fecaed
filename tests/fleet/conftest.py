"""An emulated fleet of portals on one loopback port, and a fleet client over a token store of them."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from bitrix_bizproc import OAuthTokens
from bitrix_bizproc.emulator import EmulatedFleet, EmulatedPortal, PortalConfig
from bitrix_bizproc.fleet import Fleet, MemoryPortalStore, PortalTokenStore
from bitrix_bizproc.protocol.auth import parse_token_response

DEAL = ("crm", "CCrmDocumentDeal", "DEAL")


def tokens_of(answer: dict[str, Any]) -> OAuthTokens:
    """The token server's JSON answer as the client keeps it."""
    return parse_token_response(200, json.dumps(answer).encode(), now=time.time())


async def install(
    emulated: EmulatedFleet, store: PortalTokenStore, member_id: str, config: PortalConfig | None = None
) -> EmulatedPortal:
    """A new emulated portal whose tokens the store holds, as the app's install event would leave them."""
    portal = emulated.add_portal(member_id, config)
    await store.save(member_id, tokens_of(emulated.issue_tokens(member_id)), domain=portal.config.domain)
    return portal


def seed(portal: EmulatedPortal, n: int) -> list[str]:
    """``n`` running workflows on ``portal``."""
    if not portal.state.templates:
        portal.state.add_template("cleanup", DEAL)
    return [w.id for w in portal.state.add_instances(n)]


@pytest.fixture
async def emulated() -> AsyncIterator[EmulatedFleet]:
    """An empty emulated fleet, serving."""
    async with EmulatedFleet() as fleet:
        yield fleet


@pytest.fixture
def store() -> MemoryPortalStore:
    """An empty in-memory token store of many portals."""
    return MemoryPortalStore()


FleetFactory = Callable[..., Awaitable[Fleet]]


@pytest.fixture
async def make_fleet(emulated: EmulatedFleet, store: MemoryPortalStore) -> AsyncIterator[FleetFactory]:
    """``await make_fleet(**options)``: a fleet of the emulated portals' app over ``store``; closed after."""
    made: list[Fleet] = []

    async def make(**options: Any) -> Fleet:
        options.setdefault("plan", "off")
        fleet = Fleet(
            options.pop("store", store),
            client_id=emulated.app.client_id,
            client_secret=emulated.app.client_secret,
            token_url=emulated.token_url,
            **options,
        )
        made.append(fleet)
        return fleet

    yield make
    for fleet in made:
        await fleet.aclose()
