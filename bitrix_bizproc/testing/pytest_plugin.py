"""The pytest plugin: an emulated Bitrix24 portal and a client for it, as fixtures.

Registered as a ``pytest11`` entry point (active once ``bitrix_bizproc`` is installed)::

    async def test_my_cleanup(bitrix_portal, bitrix_client):
        bitrix_portal.state.add_instances(3)
        assert len(await bitrix_client.workflows.instances().collect()) == 3

    @pytest.mark.bitrix_portal(plan="standard", seed=7, instances=200)
    def test_with_a_seeded_portal(bitrix_portal): ...

``bitrix_portal`` runs in a thread of its own, so it works in sync and async tests alike;
``bitrix_client`` is async and needs pytest-asyncio (without it, that fixture fails with a clear message
and the rest of the plugin keeps working). pytest-asyncio's default (strict) mode runs an ``async def``
test only with ``asyncio_mode = auto`` in the pytest configuration or a ``@pytest.mark.asyncio`` mark.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .._client import BizprocClient
    from ..emulator import EmulatedPortal

try:
    import pytest_asyncio
except ImportError:  # the plugin must not break a project without pytest-asyncio
    pytest_asyncio = None  # type: ignore[assignment]

__all__ = ["bitrix_client", "bitrix_portal", "bitrix_portal_factory"]

PortalFactory = Callable[..., "EmulatedPortal"]


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``bitrix_portal`` marker."""
    config.addinivalue_line(
        "markers",
        "bitrix_portal(plan='unlimited', seed=None, users=, templates=, instances=, ...): "
        "how the bitrix_portal fixture is set up (plan limits; seeded data)",
    )


@pytest.fixture
def bitrix_portal_factory() -> Iterator[PortalFactory]:
    """Start portals of your own: ``bitrix_portal_factory(plan="standard", seed=1, instances=50)``."""
    from ._threaded import start_portal

    started = []

    def make(**options: Any) -> EmulatedPortal:
        runner = start_portal(**options)
        started.append(runner)
        return runner.portal

    yield make
    for runner in reversed(started):
        runner.stop()


@pytest.fixture
def bitrix_portal(request: pytest.FixtureRequest, bitrix_portal_factory: PortalFactory) -> EmulatedPortal:
    """A running emulated portal: plan ``unlimited`` and empty, unless a ``bitrix_portal`` marker says else.

    It is an :class:`~bitrix_bizproc.emulator.EmulatedPortal`: ``webhook_url``, ``state`` (add templates,
    workflows, users), ``faults``, ``config``, ``counters``, ``issue_tokens()``.
    """
    marker = request.node.get_closest_marker("bitrix_portal")
    options: dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
    return bitrix_portal_factory(**options)


def _client_for(portal: EmulatedPortal) -> BizprocClient:
    from .._client import BizprocClient

    plan = portal.config.plan.name
    limiter = plan if plan in ("standard", "enterprise") else "unlimited"
    return BizprocClient.from_webhook(portal.webhook_url, limiter=limiter)  # type: ignore[arg-type]


if pytest_asyncio is not None:

    @pytest_asyncio.fixture
    async def bitrix_client(bitrix_portal: EmulatedPortal) -> AsyncIterator[BizprocClient]:
        """A :class:`BizprocClient` for ``bitrix_portal`` (its admin's webhook), closed after the test."""
        async with _client_for(bitrix_portal) as client:
            yield client

else:

    @pytest.fixture
    def bitrix_client(bitrix_portal: EmulatedPortal) -> BizprocClient:
        """Needs pytest-asyncio: the client is async."""
        pytest.fail(
            "the bitrix_client fixture needs pytest-asyncio (pip install pytest-asyncio); "
            "bitrix_portal works without it",
            pytrace=False,
        )
