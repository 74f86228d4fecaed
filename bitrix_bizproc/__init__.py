"""An asyncio client for the Bitrix24 bizproc REST API."""

from importlib.metadata import PackageNotFoundError as _NotInstalled
from importlib.metadata import version as _version

from ._auth import JsonFileTokenStore, MemoryTokenStore, TokenStore
from ._batch import BatchCommand, BatchComposer
from ._call import Pending
from ._client import BizprocClient, DirectCall
from ._observe import AnswerEvent, Event, Hook, RequestEvent, RetryEvent, ThrottleEvent
from ._paging import Paginator
from ._session import Session
from ._stats import Stats
from ._transport import HttpRequest, HttpResponse, Transport
from .models.page import Page
from .protocol.auth import OAuthTokens
from .protocol.envelope import ApiResponse, TimeInfo
from .protocol.errors import (
    AccessDeniedError,
    AuthError,
    BitrixError,
    ClientValidationError,
    ConfigurationError,
    ConfigurationTypeError,
    ExpiredTokenError,
    InsufficientScopeError,
    InvalidCredentialsError,
    InvalidGrantError,
    JournalError,
    MalformedResponseError,
    NotExecutedError,
    NotFoundError,
    OperationTimeLimitError,
    OutcomeUnknownError,
    OverloadError,
    PortalDeletedError,
    QueryLimitError,
    RateLimitError,
    ServerError,
    TokenStoreError,
    TransportError,
    UnexpectedRedirectError,
    UnsupportedOperationError,
    ValidationError,
    WorkflowNotFoundError,
)
from .protocol.limits import BucketSpec
from .protocol.retry import RetryPolicy

try:
    __version__ = _version("bitrix_bizproc")
except _NotInstalled:  # run from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "AccessDeniedError",
    "AnswerEvent",
    "ApiResponse",
    "AuthError",
    "BatchCommand",
    "BatchComposer",
    "BitrixError",
    "BizprocClient",
    "BucketSpec",
    "ClientValidationError",
    "ConfigurationError",
    "ConfigurationTypeError",
    "DirectCall",
    "Event",
    "ExpiredTokenError",
    "Hook",
    "HttpRequest",
    "HttpResponse",
    "InsufficientScopeError",
    "InvalidCredentialsError",
    "InvalidGrantError",
    "JournalError",
    "JsonFileTokenStore",
    "MalformedResponseError",
    "MemoryTokenStore",
    "NotExecutedError",
    "NotFoundError",
    "OAuthTokens",
    "OperationTimeLimitError",
    "OutcomeUnknownError",
    "OverloadError",
    "Page",
    "Paginator",
    "Pending",
    "PortalDeletedError",
    "QueryLimitError",
    "RateLimitError",
    "RequestEvent",
    "RetryEvent",
    "RetryPolicy",
    "ServerError",
    "Session",
    "Stats",
    "ThrottleEvent",
    "TimeInfo",
    "TokenStore",
    "TokenStoreError",
    "Transport",
    "TransportError",
    "UnexpectedRedirectError",
    "UnsupportedOperationError",
    "ValidationError",
    "WorkflowNotFoundError",
]
