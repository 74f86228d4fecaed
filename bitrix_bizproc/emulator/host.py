"""What the served routes need of the portal they serve: the portal's side of the ``/rest/`` and ``/v1`` apps.

:class:`~bitrix_bizproc.emulator.portal.EmulatedPortal` satisfies all three protocols; the route modules
(``app.py``, ``vibecode.py``) and the robots' runtime depend on these instead of the portal, so no import
goes back up to it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from aiohttp import web

from .auth import AuthRegistry
from .config import PortalConfig
from .counters import Counters
from .faults import Faults
from .limits import LeakyBucket
from .runner import MethodRunner
from .state import PortalState

__all__ = ["GatewayHost", "PortalHost", "RobotsHost"]


class GatewayHost(Protocol):
    """What the gateway's routes use: the method runner, the clock and the address served on."""

    @property
    def clock(self) -> Callable[[], float]: ...

    @property
    def runner(self) -> MethodRunner: ...

    @property
    def base_url(self) -> str: ...


class PortalHost(GatewayHost, Protocol):
    """What the ``/rest/`` and ``/oauth/token/`` routes use besides: settings, limits, faults, counters."""

    @property
    def config(self) -> PortalConfig: ...

    @property
    def auth(self) -> AuthRegistry: ...

    @property
    def bucket(self) -> LeakyBucket: ...

    @property
    def counters(self) -> Counters: ...

    @property
    def faults(self) -> Faults: ...


class RobotsHost(Protocol):
    """What the robots' runtime uses: the state, the served app, tokens, settings and the clock."""

    @property
    def clock(self) -> Callable[[], float]: ...

    @property
    def state(self) -> PortalState: ...

    @property
    def app(self) -> web.Application: ...

    @property
    def auth(self) -> AuthRegistry: ...

    @property
    def config(self) -> PortalConfig: ...
