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
        ("", 400, "WorkflowNotFound", e.ValidationError),  # empty codes: only per method (below)
        ("", 400, "Template not found", e.ValidationError),
        ("", 401, "Application not found", e.InvalidCredentialsError),  # status, never the text
        ("APPLICATION_NOT_FOUND", 401, "Application not found", e.InvalidCredentialsError),
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


# Answers with an EMPTY code, exactly as the portal's bizproc REST service throws them
# (bitrix/modules/bizproc/lib/restservice.php, public mirrors; CBPWorkflowPersister::LoadWorkflow).
@pytest.mark.parametrize(
    ("method", "description", "cls"),
    [
        ("bizproc.workflow.terminate", "WorkflowNotFound", e.WorkflowNotFoundError),
        ("bizproc.workflow.kill", "WorkflowNotFound", e.WorkflowNotFoundError),
        # BPCGWP_INVALID_WF, lang/en and lang/ru of bizproc workflowpersister.php (bitrix-core-business)
        ("bizproc.workflow.terminate", "The business process is not found.", e.WorkflowNotFoundError),
        ("bizproc.workflow.kill", "The business process is not found", e.WorkflowNotFoundError),
        ("bizproc.workflow.kill", "Бизнес-процесс не найден", e.WorkflowNotFoundError),
        ("bizproc.task.list", "The business process is not found.", e.ValidationError),
        (
            "bizproc.workflow.template.update",
            "You can update ONLY templates created by current application",
            e.AccessDeniedError,
        ),
        (  # the wording quoted in issue 12, finding 5
            "bizproc.workflow.template.update",
            "You can update ONLY templates created by the current application",
            e.AccessDeniedError,
        ),
        (
            "bizproc.workflow.template.delete",
            "You can delete ONLY templates created by current application",
            e.AccessDeniedError,
        ),
        ("bizproc.workflow.template.update", "Workflow template not found.", e.NotFoundError),
        ("bizproc.workflow.template.delete", "Workflow template not found.", e.NotFoundError),
        ("bizproc.workflow.template.update", "No fields to update.", e.ValidationError),
        ("bizproc.workflow.start", "Wrong DOCUMENT_ID!", e.ValidationError),
        ("bizproc.workflow.start", "Template type and DOCUMENT_ID mismatch!", e.ValidationError),
        # the same text elsewhere proves nothing: the status decides
        ("bizproc.task.list", "WorkflowNotFound", e.ValidationError),
        ("bizproc.workflow.terminate", "Workflow not found somewhere", e.ValidationError),
    ],
)
def test_empty_codes_are_read_per_method(method: str, description: str, cls: type[e.BitrixError]) -> None:
    error = e.error_from_code("", description, status=400, method=method)
    assert type(error) is cls and error.code == ""


def test_an_empty_code_inside_a_batch_has_no_status_and_still_maps() -> None:
    error = e.error_from_code("", "WorkflowNotFound", method="bizproc.workflow.terminate")
    assert type(error) is e.WorkflowNotFoundError


# Every code the docs list (error-codes.md, _includes/system-errors.md, settings/oauth/error-codes.md and
# the "Possible Error Codes" table of each api-reference/bizproc page), with the class it must become.
DOCUMENTED_CODES: dict[str, type[e.BitrixError]] = {
    "INTERNAL_SERVER_ERROR": e.ServerError,
    "ERROR_UNEXPECTED_ANSWER": e.ServerError,
    "QUERY_LIMIT_EXCEEDED": e.QueryLimitError,
    "ERROR_BATCH_METHOD_NOT_ALLOWED": e.ValidationError,
    "ERROR_BATCH_LENGTH_EXCEEDED": e.ValidationError,
    "NO_AUTH_FOUND": e.InvalidCredentialsError,
    "INVALID_REQUEST": e.ValidationError,
    "OVERLOAD_LIMIT": e.OverloadError,
    "ACCESS_DENIED": e.AccessDeniedError,
    "INVALID_CREDENTIALS": e.InvalidCredentialsError,
    "ERROR_MANIFEST_IS_NOT_AVAILABLE": e.NotFoundError,
    "insufficient_scope": e.InsufficientScopeError,
    "expired_token": e.ExpiredTokenError,
    "user_access_error": e.AccessDeniedError,
    "PORTAL_DELETED": e.PortalDeletedError,
    "ERROR_HANDLER_ALREADY_EXIST": e.ValidationError,
    "invalid_request": e.ValidationError,
    "invalid_client": e.InvalidGrantError,
    "invalid_scope": e.InsufficientScopeError,
    "invalid_grant": e.InvalidGrantError,
    "PAYMENT_REQUIRED": e.AccessDeniedError,
    "ERROR_ACTIVITY_VALIDATION_FAILURE": e.ValidationError,
    "ERROR_ACTIVITY_ALREADY_INSTALLED": e.ValidationError,
    "ERROR_ACTIVITY_ADD_FAILURE": e.ValidationError,
    "ERROR_ACTIVITY_NOT_FOUND": e.NotFoundError,
    "ERROR_UNSUPPORTED_PROTOCOL": e.ValidationError,
    "ERROR_WRONG_HANDLER_URL": e.ValidationError,
    "ERROR_EMPTY_LOG_MESSAGE": e.ValidationError,
    "ERROR_WRONG_WORKFLOW_ID": e.ValidationError,
    "ERROR_SELECT_VALIDATION_FAILURE": e.ValidationError,
    "ERROR_TEMPLATE_NOT_OWNER": e.AccessDeniedError,
    "ERROR_TEMPLATE_NOT_FOUND": e.NotFoundError,
    "ERROR_TEMPLATE_VALIDATION_FAILURE": e.ValidationError,
    "ERROR_TASK_VALIDATION": e.ValidationError,
    "ERROR_TASK_NOT_FOUND": e.NotFoundError,
    "ERROR_TASK_COMPLETED": e.ValidationError,
    "ERROR_TASK_TYPE": e.ValidationError,
    "ERROR_TASK_EXECUTION": e.ValidationError,
    "ERROR_INVALID_USER_ID": e.ValidationError,
    "ERROR_DELEGATION_NOT_ALLOWED": e.AccessDeniedError,
    # real answers recorded elsewhere: issue 12 finding 1;
    # bitrix24/b24phpsdk tests/Unit/Core/ApiLevelErrorHandlerTest.php
    "APPLICATION_NOT_FOUND": e.InvalidCredentialsError,
    "wrong_client": e.InvalidGrantError,
}


@pytest.mark.parametrize(("code", "cls"), sorted(DOCUMENTED_CODES.items()))
@pytest.mark.parametrize("status", [None, 200, 400, 401, 403, 404, 500])
def test_a_documented_code_wins_over_any_status_and_text(
    code: str, cls: type[e.BitrixError], status: int | None
) -> None:
    error = e.error_from_code(code, "Something was not found", status=status)
    assert type(error) is cls


@pytest.mark.parametrize("method", ["bizproc.workflow.terminate", "bizproc.workflow.kill"])
def test_the_gateways_not_found_on_a_workflow_stop_is_a_workflow_not_found(method: str) -> None:
    # protocol-facts.md section 8: DELETE /v1/workflows/:id answers 404 ENTITY_NOT_FOUND for an unknown ID
    error = e.error_from_code("ENTITY_NOT_FOUND", "Workflow not found", status=404, method=method)
    assert type(error) is e.WorkflowNotFoundError
    other = e.error_from_code("ENTITY_NOT_FOUND", "Template not found", status=404, method="x.y")
    assert type(other) is e.NotFoundError
