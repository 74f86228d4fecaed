"""The emulated portal's settings; mutable, so a test can switch limits while the portal runs."""

from __future__ import annotations

import attrs

from .limits import UNLIMITED, BatchBilling, Plan

__all__ = ["DEFAULT_SCOPES", "PortalConfig"]

DEFAULT_SCOPES: frozenset[str] = frozenset({"bizproc", "user"})


@attrs.define
class PortalConfig:
    """How the emulated portal behaves: plan limits, simulated method time, token lifetimes, sizes."""

    plan: Plan = UNLIMITED
    overload: bool = False  # answer every call with 503 OVERLOAD_LIMIT (the vendor's manual block)
    processing_time: float = 0.0  # simulated seconds each call is charged (drives ``operating``)
    method_processing: dict[str, float] = attrs.field(factory=dict)  # per-method overrides
    batch_billing: BatchBilling = BatchBilling.PER_METHOD
    token_lifetime: float = 3600.0  # access tokens, seconds on the emulator clock
    refresh_lifetime: float = 180 * 86400.0
    code_lifetime: float = 30.0  # authorization codes
    max_body_bytes: int = 1_048_576
    batch_max: int = 50
    utc_offset_minutes: int = 180  # the portal's timezone in ``date_start``/``date_finish``
    domain: str = "emulated.bitrix24.local"  # the portal's own name
    oauth_domain: str = "oauth.bitrix.info"  # what the token server reports as ``domain``
    member_id: str = "e3b0c44298fc1c149afbf4c8996fb924"
    default_scopes: frozenset[str] = DEFAULT_SCOPES

    def charge(self, method: str) -> float:
        """Simulated seconds one call of ``method`` takes."""
        return self.method_processing.get(method, self.processing_time)
