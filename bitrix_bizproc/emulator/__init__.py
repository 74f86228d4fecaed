"""The emulated Bitrix24 portal: the bizproc REST API over real HTTP, with limits, batch and faults.

::

    async with EmulatedPortal(PortalConfig(plan=STANDARD), clock=ManualClock()) as portal:
        portal.webhook_url            # http://127.0.0.1:<port>/rest/1/<code>/
        portal.issue_tokens()         # an OAuth access/refresh pair for portal.rest_url
"""

from __future__ import annotations

from .auth import OAuthApp, Webhook
from .clock import Clock, ManualClock, ScaledClock, system_clock
from .config import PortalConfig
from .context import CallContext, HandlerResult, PortalError
from .counters import Counters
from .faults import Fault, FaultKind, Faults
from .fleet import EmulatedFleet
from .limits import ENTERPRISE, PLANS, STANDARD, UNLIMITED, BatchBilling, Plan
from .portal import EmulatedPortal, create_app
from .state import PortalState

__all__ = [
    "ENTERPRISE",
    "PLANS",
    "STANDARD",
    "UNLIMITED",
    "BatchBilling",
    "CallContext",
    "Clock",
    "Counters",
    "EmulatedFleet",
    "EmulatedPortal",
    "Fault",
    "FaultKind",
    "Faults",
    "HandlerResult",
    "ManualClock",
    "OAuthApp",
    "Plan",
    "PortalConfig",
    "PortalError",
    "PortalState",
    "ScaledClock",
    "Webhook",
    "create_app",
    "system_clock",
]
