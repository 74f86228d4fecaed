"""Shared fixtures: the emulated portal on a free loopback port (limits off unless a test asks)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from bitrix_bizproc.emulator import EmulatedPortal, PortalConfig

PortalFactory = Callable[..., Awaitable[EmulatedPortal]]


@pytest.fixture
async def portal_factory() -> AsyncIterator[PortalFactory]:
    """Start portals with a config of your own: ``await portal_factory(PortalConfig(...), clock=c)``."""
    started: list[EmulatedPortal] = []

    async def make(config: PortalConfig | None = None, **kwargs: Any) -> EmulatedPortal:
        portal = EmulatedPortal(config, **kwargs)
        await portal.start()
        started.append(portal)
        return portal

    yield make
    for portal in started:
        await portal.stop()


@pytest.fixture
async def portal(portal_factory: PortalFactory) -> EmulatedPortal:
    """An emulated portal serving on 127.0.0.1, plan ``unlimited``, empty state."""
    return await portal_factory()
