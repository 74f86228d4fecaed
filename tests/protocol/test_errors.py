"""The error tree: codes to classes, fallbacks on status and text, pickling, messages."""

from __future__ import annotations

import pickle

import pytest

from bitrix_bizproc.protocol import errors as e


@pytest.mark.parametrize(
    ("code", "status", "description", "cls"),
    [
        ("expired_token", 401, "", e.ExpiredTokenError),
        ("INVALID_CREDENTIALS", 401, "", e.InvalidCredentialsError),
        ("NO_AUTH_FOUND", 401, "", e.InvalidCredentialsError),
        ("insufficient_scope", 403, "", e.InsufficientScopeError),
        ("invalid_grant", 400, "", e.InvalidGrantError),
        ("ACCESS_DENIED", 403, "", e.AccessDeniedError),
        ("QUERY_LIMIT_EXCEEDED", 503, "", e.QueryLimitError),
        ("OPERATION_TIME_LIMIT", 429, "", e.OperationTimeLimitError),
        ("OVERLOAD_LIMIT", 503, "", e.OverloadError),
        ("ERROR_METHOD_NOT_FOUND", 404, "", e.NotFoundError),
        ("ERROR_WRONG_WORKFLOW_ID", 400, "", e.ValidationError),
        ("INTERNAL_SERVER_ERROR", 500, "", e.ServerError),
        ("", 400, "WorkflowNotFound", e.NotFoundError),  # bizproc's empty codes
        ("", 400, "Template not found", e.NotFoundError),
        ("SOMETHING_NEW", 502, "", e.ServerError),
        ("SOMETHING_NEW", 401, "", e.InvalidCredentialsError),
        ("SOMETHING_NEW", 418, "", e.ValidationError),
        ("SOMETHING_NEW", None, "", e.BitrixError),
    ],
)
def test_error_from_code(code: str, status: int | None, description: str, cls: type[e.BitrixError]) -> None:
    error = e.error_from_code(code, description, status=status, method="m")
    assert type(error) is cls
    assert error.code == code  # an unknown code keeps its code
    assert (error.status, error.method) == (status, "m")


@pytest.mark.parametrize(
    ("cls", "retryable"),
    [
        (e.QueryLimitError, True),
        (e.ServerError, True),
        (e.TransportError, True),
        (e.OverloadError, False),
        (e.OutcomeUnknownError, False),
        (e.AuthError, False),
        (e.ValidationError, False),
    ],
)
def test_retryable_flags(cls: type[e.BitrixError], retryable: bool) -> None:
    assert cls.retryable is retryable


def test_message_and_pickle() -> None:
    error = e.QueryLimitError(
        "Too many requests", code="QUERY_LIMIT_EXCEEDED", status=503, method="batch", retry_after=1.5
    )
    assert str(error) == "batch: QUERY_LIMIT_EXCEEDED - Too many requests (HTTP 503)"
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is e.QueryLimitError and clone.retry_after == 1.5 and clone.method == "batch"


def test_outcome_unknown_is_a_transport_error() -> None:
    assert issubclass(e.OutcomeUnknownError, e.TransportError)
