"""Retry classification, backoff with full jitter, Retry-After, and the non-idempotent rule."""

from __future__ import annotations

import pytest

from bitrix_bizproc.protocol.errors import (
    AccessDeniedError,
    BitrixError,
    ExpiredTokenError,
    InvalidCredentialsError,
    NotFoundError,
    OperationTimeLimitError,
    OutcomeUnknownError,
    OverloadError,
    QueryLimitError,
    ServerError,
    TransportError,
    ValidationError,
)
from bitrix_bizproc.protocol.retry import RetryPolicy, RetryReason, classify, is_ambiguous

SENT = {"sent": True, "timeout": False}
NOT_SENT = {"sent": False, "timeout": False}
TIMEOUT = {"sent": True, "timeout": True}


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (QueryLimitError(code="QUERY_LIMIT_EXCEEDED", status=503), RetryReason.QUERY_LIMIT),
        (OperationTimeLimitError(code="OPERATION_TIME_LIMIT", status=429), RetryReason.OPERATION_TIME_LIMIT),
        (ServerError("boom", status=502), RetryReason.SERVER_ERROR),
        (ServerError(code="INTERNAL_SERVER_ERROR", status=500), RetryReason.SERVER_ERROR),
        (TransportError("reset", details=SENT), RetryReason.CONNECTION),
        (TransportError("refused", details=NOT_SENT), RetryReason.CONNECTION),
        (TransportError("slow", details=TIMEOUT), RetryReason.TIMEOUT),
        (OverloadError(code="OVERLOAD_LIMIT", status=503), None),
        (ExpiredTokenError(code="expired_token"), None),
        (InvalidCredentialsError(code="INVALID_CREDENTIALS"), None),
        (AccessDeniedError(code="ACCESS_DENIED"), None),
        (ValidationError(code="ERROR_ARGUMENT"), None),
        (NotFoundError(code="ERROR_METHOD_NOT_FOUND"), None),
        (OutcomeUnknownError("?"), None),
        (BitrixError(code="SOMETHING_NEW"), None),
    ],
)
def test_classify(error: BitrixError, reason: RetryReason | None) -> None:
    assert classify(error) is reason
    decision = RetryPolicy().decide(error, 0, idempotent=True, rng=lambda: 0.5)
    assert (decision.reason if decision else None) is reason


@pytest.mark.parametrize(
    ("error", "ambiguous"),
    [
        (TransportError("reset", details=SENT), True),
        (TransportError("timeout", details=TIMEOUT), True),
        (TransportError("refused", details=NOT_SENT), False),
        (ServerError("<html>502</html>", status=502), True),
        (ServerError("x", code="INTERNAL_SERVER_ERROR", status=500), False),
        (QueryLimitError(code="QUERY_LIMIT_EXCEEDED", status=503), False),
    ],
)
def test_ambiguity(error: BitrixError, ambiguous: bool) -> None:
    assert is_ambiguous(error) is ambiguous


def test_non_idempotent_ambiguous_failure_raises_outcome_unknown() -> None:
    error = TransportError(
        "connection lost", code="CONNECTION_ERROR", details=SENT, method="bizproc.workflow.start"
    )
    with pytest.raises(OutcomeUnknownError, match="outcome is unknown") as info:
        RetryPolicy().decide(error, 0, idempotent=False)
    assert info.value.method == "bizproc.workflow.start"
    assert info.value.__cause__ is error


@pytest.mark.parametrize(
    "error",
    [TransportError("refused", details=NOT_SENT), QueryLimitError(code="QUERY_LIMIT_EXCEEDED", status=503)],
)
def test_non_idempotent_unambiguous_failure_is_retried(error: BitrixError) -> None:
    assert RetryPolicy().decide(error, 0, idempotent=False, rng=lambda: 0.0) is not None


def test_opt_in_retries_unsafe_calls() -> None:
    error = TransportError("lost", details=SENT)
    assert RetryPolicy(retry_unsafe=True).decide(error, 0, idempotent=False, rng=lambda: 0.0) is not None


@pytest.mark.parametrize(("attempt", "ceiling"), [(0, 0.5), (1, 1.0), (3, 4.0), (10, 30.0), (500, 30.0)])
def test_full_jitter_backoff(attempt: int, ceiling: float) -> None:
    policy = RetryPolicy(backoff=0.5, max_backoff=30.0)
    assert policy.backoff_delay(attempt, rng=lambda: 0.0) == 0.0
    assert policy.backoff_delay(attempt, rng=lambda: 0.999999) == pytest.approx(ceiling, rel=1e-5)


def test_budget_per_call() -> None:
    policy = RetryPolicy(max_attempts=3)
    error = ServerError("x", code="INTERNAL_SERVER_ERROR", status=500)
    assert policy.decide(error, 0, idempotent=True) is not None
    assert policy.decide(error, 1, idempotent=True) is not None
    assert policy.decide(error, 2, idempotent=True) is None
    assert RetryPolicy.never().decide(error, 0, idempotent=True) is None


def test_retry_after_is_honoured() -> None:
    error = QueryLimitError(code="RATE_LIMITED", status=429, retry_after=2.0)
    decision = RetryPolicy().decide(error, 0, idempotent=True, rng=lambda: 0.0)
    assert decision is not None and decision.delay == 2.0


def test_wait_hint_wins_and_is_capped() -> None:
    error = OperationTimeLimitError(code="OPERATION_TIME_LIMIT", status=429)
    decision = RetryPolicy().decide(error, 0, idempotent=True, wait_hint=42.0)
    assert decision is not None and decision.delay == 42.0
    assert RetryPolicy(max_wait=10.0).decide(error, 0, idempotent=True, wait_hint=42.0) is None


@pytest.mark.parametrize("kwargs", [{"max_attempts": 0}, {"max_attempts": True}, {"backoff": -1.0}])
def test_bad_policy(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]
