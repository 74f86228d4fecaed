"""The error tree, and the mapping from portal error codes to classes.

::

    BitrixError                      code, description, status, method
    ├── TransportError               connection reset, DNS, timeout (no portal answer)
    │   └── OutcomeUnknownError      a non-idempotent call was sent and no answer came back
    ├── AuthError
    │   ├── ExpiredTokenError        expired_token (refreshed and retried by the session)
    │   ├── InvalidCredentialsError  INVALID_CREDENTIALS, NO_AUTH_FOUND, invalid_token, ...
    │   ├── InsufficientScopeError   insufficient_scope, invalid_scope, INVALID_SCOPE
    │   ├── InvalidGrantError        invalid_grant, invalid_client (the token server refused)
    │   └── TokenStoreError          a refreshed token pair could not be saved to the token store
    ├── AccessDeniedError            ACCESS_DENIED, user_access_error, SCOPE_DENIED, ...
    │   └── PortalDeletedError       PORTAL_DELETED, HTTP 410 (never retried; stops a job)
    ├── RateLimitError
    │   ├── QueryLimitError          QUERY_LIMIT_EXCEEDED, RATE_LIMITED (retried)
    │   ├── OperationTimeLimitError  OPERATION_TIME_LIMIT (waits for operating_reset_at)
    │   └── OverloadError            OVERLOAD_LIMIT (a manual block: never retried)
    ├── NotFoundError                ERROR_METHOD_NOT_FOUND, ERROR_*_NOT_FOUND
    │   └── WorkflowNotFoundError    kill/terminate of a workflow that is not running: "WorkflowNotFound"
    ├── ValidationError              the portal or the client refused the parameters
    │   └── UnsupportedOperationError   the transport cannot express the operation
    ├── ServerError                  5xx, INTERNAL_SERVER_ERROR
    │   └── MalformedResponseError   a body that is not JSON, too deep, or has a field out of range
    ├── UnexpectedRedirectError      a 3xx answer that is not the portal's REST path on a new host
    ├── NotExecutedError             a batch command the portal skipped (halt=True)
    ├── JournalError                 a job journal cannot be read or written (disk full, read-only, foreign)
    └── ConfigurationError           a client option or credential refused (also a ValueError)
        └── ConfigurationTypeError   ... of the wrong type (also a TypeError)

How an answer becomes a class (:func:`error_class_for`), never by guessing from free text:

1. a known code (``_CODE_CLASSES``);
2. an EMPTY code: the exact descriptions the portal's own code throws without one, for the method that
   throws them (``_EMPTY_CODE_ANSWERS``: e.g. ``WorkflowNotFound`` from ``bizproc.workflow.terminate``);
3. the HTTP status (401 auth, 403 access, 404 not found, 429 limit, other 4xx validation, 5xx server);
4. otherwise :class:`BitrixError` itself, keeping the code.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from .redaction import redact

__all__ = [
    "AccessDeniedError",
    "AuthError",
    "BitrixError",
    "ClientValidationError",
    "ConfigurationError",
    "ConfigurationTypeError",
    "ExpiredTokenError",
    "InsufficientScopeError",
    "InvalidCredentialsError",
    "InvalidGrantError",
    "JournalError",
    "MalformedResponseError",
    "NotExecutedError",
    "NotFoundError",
    "OperationTimeLimitError",
    "OutcomeUnknownError",
    "OverloadError",
    "PortalDeletedError",
    "QueryLimitError",
    "RateLimitError",
    "ServerError",
    "TokenStoreError",
    "TransportError",
    "UnexpectedRedirectError",
    "UnsupportedOperationError",
    "ValidationError",
    "WorkflowNotFoundError",
    "error_class_for",
    "error_from_code",
]


class BitrixError(Exception):
    """Base of every error this library raises: the portal's code and description, HTTP status, method."""

    retryable: ClassVar[bool] = False

    def __init__(
        self,
        description: str = "",
        *,
        code: str = "",
        status: int | None = None,
        method: str | None = None,
        retry_after: float | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.code = code
        self.description = redact(description)  # webhook paths, token parameters: whoever built it
        self.status = status
        self.method = method
        self.retry_after = retry_after
        self.details = details or {}
        super().__init__(self._message())

    def scrub(self, secrets: Iterable[str | None]) -> None:
        """Mask each of ``secrets`` (a webhook code, tokens) wherever the portal echoed it into this error."""
        known = [s for s in secrets if s]
        if not known:
            return
        self.description = redact(self.description, known)
        self.details = {k: redact(v, known) if isinstance(v, str) else v for k, v in self.details.items()}
        self.args = (self._message(),)

    def _message(self) -> str:
        parts = []
        if self.method:
            parts.append(f"{self.method}:")
        if self.code:
            parts.append(self.code)
        if self.description:
            parts.append(f"- {self.description}" if self.code else self.description)
        if self.status is not None:
            parts.append(f"(HTTP {self.status})")
        return " ".join(parts) or type(self).__name__

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, description={self.description!r}, "
            f"status={self.status!r}, method={self.method!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild,
            (
                type(self),
                self.description,
                self.code,
                self.status,
                self.method,
                self.retry_after,
                self.details,
            ),
        )


def _rebuild(
    cls: type[BitrixError],
    description: str,
    code: str,
    status: int | None,
    method: str | None,
    retry_after: float | None,
    details: dict[str, Any],
) -> BitrixError:
    return cls(description, code=code, status=status, method=method, retry_after=retry_after, details=details)


class TransportError(BitrixError):
    """No answer from the portal: connection refused or reset, DNS failure, timeout."""

    retryable = True


class OutcomeUnknownError(TransportError):
    """A call that creates something was sent but no answer came back: it may or may not have run."""

    retryable = False


class AuthError(BitrixError):
    """The portal or the token server did not accept the credentials."""


class ExpiredTokenError(AuthError):
    """The OAuth access token has expired (``expired_token``)."""


class InvalidCredentialsError(AuthError):
    """Wrong webhook code or access token, or none at all."""


class InsufficientScopeError(AuthError):
    """The webhook or app lacks the scope the method needs (``insufficient_scope``)."""


class InvalidGrantError(AuthError):
    """The token server refused the refresh token or the client credentials."""


class TokenStoreError(AuthError):
    """A refreshed token pair could not be saved; calls fail until a save succeeds (the pair is kept)."""


class AccessDeniedError(BitrixError):
    """The user behind the credentials may not do this (``ACCESS_DENIED``)."""


class PortalDeletedError(AccessDeniedError):
    """The portal was deleted or its public part closed (``PORTAL_DELETED``, HTTP 410): never retried."""


class RateLimitError(BitrixError):
    """The portal refused the call because of one of its limits."""

    retryable = True


class QueryLimitError(RateLimitError):
    """The leaky bucket is full (``QUERY_LIMIT_EXCEEDED``, HTTP 503)."""


class OperationTimeLimitError(RateLimitError):
    """The method used up its 10-minute operating budget (``OPERATION_TIME_LIMIT``, HTTP 429)."""


class OverloadError(RateLimitError):
    """The vendor blocked the REST API by hand (``OVERLOAD_LIMIT``); retrying does not help."""

    retryable = False


class NotFoundError(BitrixError):
    """The method, workflow, template, task, activity or robot does not exist."""


class WorkflowNotFoundError(NotFoundError):
    """The workflow is not running (any more): what kill/terminate answer for an unknown or finished ID.

    An empty code and a localised text: "The business process is not found.", "Бизнес-процесс не найден",
    or "WorkflowNotFound".
    """


class ValidationError(BitrixError):
    """The parameters were refused, by the portal or before sending by this library."""


class ClientValidationError(ValidationError):
    """Bad input this library refused before sending anything (code ``CLIENT_VALIDATION``)."""

    CODE: ClassVar[str] = "CLIENT_VALIDATION"

    def __init__(
        self, description: str = "", *, method: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description, code=self.CODE, method=method, details=details)


class UnsupportedOperationError(ValidationError):
    """The transport (e.g. the Vibecode gateway) cannot express this operation."""


class ServerError(BitrixError):
    """The portal failed: HTTP 5xx, an internal error code, or a body that is not JSON."""

    retryable = True


class UnexpectedRedirectError(BitrixError):
    """The portal answered with a redirect that is not a domain change of the same REST path; not re-sent."""


class MalformedResponseError(ServerError):
    """The portal's answer could not be read: not JSON, truncated, too deep, or a field out of range.

    The message keeps a short excerpt of the body, never the whole of it.
    """


class NotExecutedError(BitrixError):
    """A batch command the portal did not run because an earlier one failed with ``halt=True``."""


class JournalError(BitrixError):
    """A job journal could not be read or written (disk full, read-only, not a journal at all)."""


class ConfigurationError(BitrixError, ValueError):
    """A client option, credential or stored setting this library refused; nothing was sent.

    Also a :class:`ValueError`, so ``except ValueError`` keeps working.
    """


class ConfigurationTypeError(ConfigurationError, TypeError):
    """A client option of the wrong type (a :class:`ConfigurationError` that is also a :class:`TypeError`)."""


_CODE_CLASSES: dict[str, type[BitrixError]] = {
    # auth
    "expired_token": ExpiredTokenError,
    "invalid_token": InvalidCredentialsError,
    "INVALID_CREDENTIALS": InvalidCredentialsError,
    "NO_AUTH_FOUND": InvalidCredentialsError,
    "WRONG_AUTH_TYPE": InvalidCredentialsError,
    "APPLICATION_NOT_FOUND": InvalidCredentialsError,  # 401 "Application not found": the app is gone
    "invalid_credentials": InvalidCredentialsError,
    "insufficient_scope": InsufficientScopeError,
    "invalid_scope": InsufficientScopeError,
    "INVALID_SCOPE": InsufficientScopeError,  # b24pysdk/error/__init__.py (bitrix24/b24pysdk): upper case
    "invalid_grant": InvalidGrantError,
    "invalid_client": InvalidGrantError,
    "wrong_client": InvalidGrantError,  # token server, HTTP 200 (b24phpsdk ApiLevelErrorHandlerTest)
    "ERROR_OAUTH": InvalidGrantError,
    "invalid_request": ValidationError,
    "MISSING_API_KEY": InvalidCredentialsError,
    "INVALID_API_KEY": InvalidCredentialsError,
    "TOKEN_MISSING": InvalidCredentialsError,
    "TOKEN_EXPIRED": ExpiredTokenError,
    # access
    "ACCESS_DENIED": AccessDeniedError,
    "PORTAL_DELETED": PortalDeletedError,  # HTTP 410 Gone (docs table: 500); permanent either way
    "user_access_error": AccessDeniedError,
    "PAYMENT_REQUIRED": AccessDeniedError,
    "SCOPE_DENIED": AccessDeniedError,
    "BITRIX_ACCESS_DENIED": AccessDeniedError,
    "ERROR_TEMPLATE_NOT_OWNER": AccessDeniedError,
    "ERROR_DELEGATION_NOT_ALLOWED": AccessDeniedError,
    # limits
    "QUERY_LIMIT_EXCEEDED": QueryLimitError,
    "RATE_LIMITED": QueryLimitError,
    "OPERATION_TIME_LIMIT": OperationTimeLimitError,
    "OVERLOAD_LIMIT": OverloadError,
    # not found
    "ERROR_METHOD_NOT_FOUND": NotFoundError,
    "ERROR_MANIFEST_IS_NOT_AVAILABLE": NotFoundError,
    "ERROR_TEMPLATE_NOT_FOUND": NotFoundError,
    "ERROR_ACTIVITY_NOT_FOUND": NotFoundError,
    "ERROR_TASK_NOT_FOUND": NotFoundError,
    "ERROR_NOT_FOUND": NotFoundError,
    "ENTITY_NOT_FOUND": NotFoundError,
    "NOT_FOUND": NotFoundError,
    # validation
    "INVALID_REQUEST": ValidationError,
    "ERROR_ARGUMENT": ValidationError,
    "ERROR_WRONG_WORKFLOW_ID": ValidationError,
    "ERROR_BATCH_LENGTH_EXCEEDED": ValidationError,
    "ERROR_BATCH_METHOD_NOT_ALLOWED": ValidationError,
    "ERROR_ACTIVITY_VALIDATION_FAILURE": ValidationError,
    "ERROR_ACTIVITY_ADD_FAILURE": ValidationError,
    "ERROR_ACTIVITY_ALREADY_INSTALLED": ValidationError,
    "ERROR_WRONG_HANDLER_URL": ValidationError,
    "ERROR_UNSUPPORTED_PROTOCOL": ValidationError,
    "ERROR_TEMPLATE_VALIDATION_FAILURE": ValidationError,
    "ERROR_SELECT_VALIDATION_FAILURE": ValidationError,
    "ERROR_EMPTY_LOG_MESSAGE": ValidationError,
    "ERROR_INVALID_USER_ID": ValidationError,
    "ERROR_TASK_VALIDATION": ValidationError,
    "ERROR_TASK_COMPLETED": ValidationError,
    "ERROR_TASK_TYPE": ValidationError,
    "ERROR_TASK_EXECUTION": ValidationError,
    "VALIDATION_ERROR": ValidationError,
    "ERROR_HANDLER_ALREADY_EXIST": ValidationError,
    "UNSUPPORTED_OPERATION": UnsupportedOperationError,
    # server
    "INTERNAL_SERVER_ERROR": ServerError,
    "ERROR_UNEXPECTED_ANSWER": ServerError,
    "BITRIX_UNAVAILABLE": ServerError,
    "ERROR_CORE": ServerError,
}

# Answers the portal sends with an EMPTY code (``throw new RestException($message)``): exact text, per method.
# Source: bitrix/modules/bizproc/lib/restservice.php (public mirrors), CBPWorkflowPersister::LoadWorkflow.
_KILL_TERMINATE = ("bizproc.workflow.kill", "bizproc.workflow.terminate")
_TEMPLATE_CHANGE = ("bizproc.workflow.template.update", "bizproc.workflow.template.delete")
# kill/terminate of an ID with no running instance: CBPWorkflowPersister::retrieveWorkflow throws the
# localised BPCGWP_INVALID_WF (lang/en and lang/ru workflowpersister.php; seen live: zenland-dev/n8n-nodes-
# bitrix24 CHANGELOG 0.8.2); "WorkflowNotFound" only for a row whose state is empty (loadWorkflow).
_WORKFLOW_NOT_FOUND = (
    "WorkflowNotFound",
    "the business process is not found.",
    "the business process is not found",
    "бизнес-процесс не найден",
    "бизнес-процесс не найден.",
)
_EMPTY_CODE_ANSWERS: dict[tuple[str, str], type[BitrixError]] = {
    **{(m, text): WorkflowNotFoundError for m in _KILL_TERMINATE for text in _WORKFLOW_NOT_FOUND},
    **{(m, "workflow template not found."): NotFoundError for m in _TEMPLATE_CHANGE},
    **{(m, "no fields to update."): ValidationError for m in _TEMPLATE_CHANGE},
    **{
        (m, f"you can {verb} only templates created by {the}current application"): AccessDeniedError
        for m in _TEMPLATE_CHANGE
        for verb in ("update", "delete")
        for the in ("", "the ")
    },
    **{
        ("bizproc.workflow.start", text): ValidationError
        for text in (
            "wrong document_id!",
            "incorrect document type!",
            "template type and document_id mismatch!",
        )
    },
}


def _empty_code_class(method: str | None, description: str) -> type[BitrixError] | None:
    if method is None:
        return None
    text = description.strip()
    return _EMPTY_CODE_ANSWERS.get((method, text)) or _EMPTY_CODE_ANSWERS.get((method, text.lower()))


def _status_class(status: int | None) -> type[BitrixError]:
    if status is None:
        return BitrixError
    if status >= 500:
        return ServerError
    if status == 401:
        return InvalidCredentialsError
    if status == 403:
        return AccessDeniedError
    if status == 404:
        return NotFoundError
    if status == 410:
        return PortalDeletedError
    if status == 429:
        return QueryLimitError
    if 400 <= status < 500:
        return ValidationError
    return BitrixError


def error_class_for(
    code: str, status: int | None = None, description: str = "", method: str | None = None
) -> type[BitrixError]:
    """The class for an answer: by code, then (empty code) by the method's documented text, then by status."""
    # the Vibecode gateway answers DELETE /workflows/:id of an unknown workflow with ENTITY_NOT_FOUND
    if method in _KILL_TERMINATE and code == "ENTITY_NOT_FOUND":
        return WorkflowNotFoundError
    cls = _CODE_CLASSES.get(code)
    if cls is not None:
        return cls
    if not code:
        cls = _empty_code_class(method, description)
        if cls is not None:
            return cls
    return _status_class(status)


def error_from_code(
    code: str,
    description: str = "",
    *,
    status: int | None = None,
    method: str | None = None,
    retry_after: float | None = None,
    details: dict[str, Any] | None = None,
) -> BitrixError:
    """Build the typed error for a portal answer; an unknown code keeps its code."""
    cls = error_class_for(code, status, description, method)
    return cls(description, code=code, status=status, method=method, retry_after=retry_after, details=details)
