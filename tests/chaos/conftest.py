"""The chaos suite: jobs under injected faults, audited against the emulated portal's own record.

The short form (at most 2,000 items a scenario) runs in CI; ``-m chaos_full`` runs the 10,000-item form
(deselected by default; ``benchmarks/chaos.py`` runs it too and prints the figures).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from bitrix_bizproc.emulator import EmulatedPortal

from .harness import VirtualTime


@pytest.fixture
def clock() -> VirtualTime:
    """The virtual clock the client and the portal share."""
    return VirtualTime()


@pytest.fixture
async def chaos_portal(
    portal_factory: Callable[..., Awaitable[EmulatedPortal]], clock: VirtualTime
) -> AsyncIterator[EmulatedPortal]:
    """An emulated portal on the virtual clock, plan unlimited until a scenario sets limits."""
    yield await portal_factory(clock=clock)
