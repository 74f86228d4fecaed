"""An asyncio client for the Bitrix24 bizproc REST API."""

from ._auth import JsonFileTokenStore, MemoryTokenStore, TokenStore
from ._client import BizprocClient
from ._session import Session
from ._stats import Stats
from ._transport import HttpRequest, HttpResponse, Transport
from .protocol.auth import OAuthTokens
from .protocol.envelope import ApiResponse, TimeInfo
from .protocol.errors import (
    AccessDeniedError,
    AuthError,
    BitrixError,
    ConfigurationError,
    ConfigurationTypeError,
    ExpiredTokenError,
    InsufficientScopeError,
    InvalidCredentialsError,
    InvalidGrantError,
    MalformedResponseError,
    NotExecutedError,
    NotFoundError,
    OperationTimeLimitError,
    OutcomeUnknownError,
    OverloadError,
    QueryLimitError,
    RateLimitError,
    ServerError,
    TransportError,
    UnsupportedOperationError,
    ValidationError,
)
from .protocol.limits import BucketSpec
from .protocol.retry import RetryPolicy

__all__ = [
    "AccessDeniedError",
    "ApiResponse",
    "AuthError",
    "BitrixError",
    "BizprocClient",
    "BucketSpec",
    "ConfigurationError",
    "ConfigurationTypeError",
    "ExpiredTokenError",
    "HttpRequest",
    "HttpResponse",
    "InsufficientScopeError",
    "InvalidCredentialsError",
    "InvalidGrantError",
    "JsonFileTokenStore",
    "MalformedResponseError",
    "MemoryTokenStore",
    "NotExecutedError",
    "NotFoundError",
    "OAuthTokens",
    "OperationTimeLimitError",
    "OutcomeUnknownError",
    "OverloadError",
    "QueryLimitError",
    "RateLimitError",
    "RetryPolicy",
    "ServerError",
    "Session",
    "Stats",
    "TimeInfo",
    "TokenStore",
    "Transport",
    "TransportError",
    "UnsupportedOperationError",
    "ValidationError",
]
