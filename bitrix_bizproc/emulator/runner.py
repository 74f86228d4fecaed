"""Running one method for the HTTP layer and for batch: scope, operating budget, dispatch, ``time``."""

from __future__ import annotations

import datetime as _dt
import logging
from collections.abc import Callable
from typing import Any, Protocol

import attrs

from .auth import Credential
from .config import PortalConfig
from .context import CallContext, HandlerResult, PortalError
from .counters import Counters
from .limits import OperatingBudget

__all__ = ["Dispatcher", "MethodOutcome", "MethodRunner", "time_block"]

log = logging.getLogger(__name__)


class Dispatcher(Protocol):
    """The method handlers' entry point: ``dispatch(state, ctx, method, params)``."""

    def __call__(
        self, state: Any, ctx: CallContext, method: str, params: dict[str, Any], /
    ) -> HandlerResult: ...


@attrs.frozen
class MethodOutcome:
    """What one method call produced: a result or an error, and its ``time`` block (None if not run)."""

    result: HandlerResult | None
    error: PortalError | None
    time: dict[str, Any] | None


def time_block(
    start: float, finish: float, processing: float, tz: _dt.timezone, operating: tuple[float, int] | None
) -> dict[str, Any]:
    """The ``time`` object of an answer; ``operating`` is ``(seconds, reset_at)`` when accounted."""
    block: dict[str, Any] = {
        "start": start,
        "finish": finish,
        "duration": finish - start,
        "processing": processing,
        "date_start": _dt.datetime.fromtimestamp(start, tz).isoformat(timespec="seconds"),
        "date_finish": _dt.datetime.fromtimestamp(finish, tz).isoformat(timespec="seconds"),
    }
    if operating is not None:
        block["operating_reset_at"] = operating[1]
        block["operating"] = operating[0]
    return block


def _operating_limit_error() -> PortalError:
    return PortalError("OPERATION_TIME_LIMIT", "Method is blocked due to operation time limit.", 429)


class MethodRunner:
    """Runs methods against the state through the dispatcher, with the portal's accounting around them."""

    def __init__(
        self,
        *,
        config: PortalConfig,
        state: Any,
        clock: Callable[[], float],
        dispatcher: Dispatcher,
        counters: Counters,
        budget: OperatingBudget,
        admin_of: Callable[[int], bool],
    ) -> None:
        self.config = config
        self.state = state
        self.clock = clock
        self.dispatcher = dispatcher
        self.counters = counters
        self.budget = budget
        self.admin_of = admin_of

    @property
    def tz(self) -> _dt.timezone:
        """The portal's timezone."""
        return _dt.timezone(_dt.timedelta(minutes=self.config.utc_offset_minutes))

    def context(self, credential: Credential, *, in_batch: bool = False) -> CallContext:
        """The handlers' view of the caller."""
        admin = credential.admin if credential.admin is not None else self.admin_of(credential.user_id)
        return CallContext(
            user_id=credential.user_id,
            is_admin=admin,
            app_id=credential.app_id,
            scopes=credential.scopes,
            now=self.clock,
            in_batch=in_batch,
        )

    def check_budget(self, credential: Credential, method: str) -> None:
        """429 OPERATION_TIME_LIMIT when ``method`` is over its budget before this call."""
        if self.budget.blocked(credential.key, method, self.clock(), self.config.plan.operating_limit):
            raise _operating_limit_error()

    def charge(
        self, credential: Credential, method: str, seconds: float, *, started: float
    ) -> tuple[float, int]:
        """Record ``seconds`` against the method for a call that ``started`` then; (operating, reset_at).

        A basket counts down from the start of its first call (settings/performance/limits.md).
        """
        now = self.clock()
        key = credential.key
        self.budget.record(key, method, started, seconds)
        return self.budget.operating(key, method, now), self.budget.reset_at(key, method, now, started)

    def run(
        self,
        credential: Credential,
        method: str,
        params: dict[str, Any],
        *,
        in_batch: bool = False,
        bill: bool = True,
        arrived: float | None = None,
    ) -> MethodOutcome:
        """Run one method (the dispatcher checks scope and rights); ``bill=False`` skips accounting.

        The ``time`` block is measured on the portal's clock, from ``arrived`` (when the request came in; the
        method's own start by default) to now; ``processing`` is the method's own run. A simulated cost
        (``PortalConfig.charge``) stands for a method that ran that long: it is charged to the operating
        budget, never written into the block's times (a real portal's ``finish`` is when it answered).
        """
        if bill:
            try:
                self.check_budget(credential, method)
            except PortalError as refused:
                return MethodOutcome(None, refused, None)
        start = self.clock()
        result: HandlerResult | None = None
        error: PortalError | None = None
        try:
            result = self.dispatcher(self.state, self.context(credential, in_batch=in_batch), method, params)
        except PortalError as exc:
            error = exc
        except Exception:  # a handler bug must not take the portal down nor leak a traceback
            log.exception("handler for %s failed", method)
            self.counters.internal_errors += 1
            error = PortalError("INTERNAL_SERVER_ERROR", "Internal server error", 500)
        self.counters.commands += 1
        self.counters.methods[method] += 1
        finish = self.clock()
        processing = max(0.0, finish - start)
        begun = start if arrived is None else min(arrived, start)
        operating = (
            self.charge(credential, method, self.config.charge(method), started=begun) if bill else None
        )
        return MethodOutcome(result, error, time_block(begun, finish, processing, self.tz, operating))
