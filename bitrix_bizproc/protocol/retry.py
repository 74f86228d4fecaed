"""Which failures are retried, after how long, and when a retry would risk doing something twice.

Retried: ``QUERY_LIMIT_EXCEEDED``, ``OPERATION_TIME_LIMIT`` (after the method's reset), 5xx answers,
connection errors and timeouts. Never retried: auth, access, validation, not found, ``OVERLOAD_LIMIT``.
A call that is not idempotent (it creates something) is not sent again after an *ambiguous* failure
(the request left, no answer came back): the caller gets :class:`OutcomeUnknownError` instead, unless
the policy says ``retry_unsafe=True``.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Callable

import attrs

from .errors import (
    BitrixError,
    ConfigurationError,
    ConfigurationTypeError,
    OperationTimeLimitError,
    OutcomeUnknownError,
    OverloadError,
    QueryLimitError,
    ServerError,
    TransportError,
)

__all__ = ["RetryDecision", "RetryPolicy", "RetryReason", "classify", "is_ambiguous"]


class RetryReason(enum.Enum):
    """Why a call was retried (the key of ``stats.retries``)."""

    QUERY_LIMIT = "query_limit"
    OPERATION_TIME_LIMIT = "operation_time_limit"
    SERVER_ERROR = "server_error"
    CONNECTION = "connection"
    TIMEOUT = "timeout"


def classify(error: BitrixError) -> RetryReason | None:
    """The retry reason for ``error``, or ``None`` if retrying cannot help."""
    if isinstance(error, OutcomeUnknownError | OverloadError):
        return None
    if isinstance(error, QueryLimitError):
        return RetryReason.QUERY_LIMIT
    if isinstance(error, OperationTimeLimitError):
        return RetryReason.OPERATION_TIME_LIMIT
    if isinstance(error, ServerError):
        return RetryReason.SERVER_ERROR
    if isinstance(error, TransportError):
        return RetryReason.TIMEOUT if error.details.get("timeout") else RetryReason.CONNECTION
    return None


def is_ambiguous(error: BitrixError) -> bool:
    """Whether the request may have run on the portal although no usable answer came back.

    A transport failure after the request was sent, or a 5xx without a portal error code (an HTML page
    from a proxy: the portal behind it may have finished the call) is ambiguous; a refused connection or
    an answer with a portal error code is not.
    """
    if isinstance(error, TransportError):
        return bool(error.details.get("sent", True))
    if isinstance(error, ServerError):
        return not error.code
    return False


def _non_negative(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationTypeError(f"{attribute.name} must be a number, not {type(value).__name__}")
    if not value >= 0:  # NaN fails too
        raise ConfigurationError(f"{attribute.name} must not be negative, got {value!r}")


@attrs.frozen
class RetryDecision:
    """Retry after ``delay`` seconds, for ``reason``."""

    delay: float
    reason: RetryReason


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How a call is retried: a per-call budget and exponential backoff with full jitter."""

    max_attempts: int = attrs.field(default=5)  # tries per call, the first one included
    backoff: float = attrs.field(default=0.5, validator=_non_negative)  # base of the exponential backoff
    max_backoff: float = attrs.field(default=30.0, validator=_non_negative)
    max_wait: float = attrs.field(default=660.0, validator=_non_negative)  # longest single wait accepted
    retry_unsafe: bool = False  # also resend non-idempotent calls after an ambiguous failure

    @max_attempts.validator
    def _check_attempts(self, _: object, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigurationTypeError(f"max_attempts must be an integer, not {type(value).__name__}")
        if value < 1:
            raise ConfigurationError(f"max_attempts must be an integer >= 1, got {value!r}")

    @classmethod
    def never(cls) -> RetryPolicy:
        """A policy that never retries."""
        return cls(max_attempts=1)

    def backoff_delay(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Full jitter: uniform in ``[0, min(max_backoff, backoff * 2**attempt))`` for retry ``attempt``."""
        ceiling = min(self.max_backoff, self.backoff * (2.0 ** min(attempt, 62)))
        return ceiling * rng()

    def decide(
        self,
        error: BitrixError,
        attempt: int,
        *,
        idempotent: bool,
        wait_hint: float | None = None,
        rng: Callable[[], float] = random.random,
    ) -> RetryDecision | None:
        """Retry ``error`` after try number ``attempt`` (0-based)? ``None`` means give up and raise.

        ``wait_hint`` is a wait the caller already knows is needed (e.g. until an operating reset).
        Raises :class:`OutcomeUnknownError` for an ambiguous failure of a non-idempotent call.
        """
        reason = classify(error)
        if reason is None:
            return None
        if not idempotent and not self.retry_unsafe and is_ambiguous(error):
            raise OutcomeUnknownError(
                f"the request was sent but no usable answer came back ({error.description or error.code}); "
                "the outcome is unknown: check before calling again, or pass idempotent=True to retry",
                code=error.code,
                status=error.status,
                method=error.method,
                details={"cause": type(error).__name__},
            ) from error
        if attempt + 1 >= self.max_attempts:
            return None
        if wait_hint is not None:
            delay = wait_hint
        elif error.retry_after is not None:
            delay = max(0.0, error.retry_after)
        else:
            delay = self.backoff_delay(attempt, rng)
        if delay > self.max_wait:
            return None
        return RetryDecision(delay=delay, reason=reason)
