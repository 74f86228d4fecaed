"""Credentials without I/O: webhook URLs, OAuth token state, the refresh request, and redaction of secrets."""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import attrs

from .errors import (
    AccessDeniedError,
    AuthError,
    ConfigurationError,
    ConfigurationTypeError,
    InvalidGrantError,
    RateLimitError,
    ServerError,
    error_from_code,
)
from .redaction import redact

__all__ = [
    "DEFAULT_TOKEN_URL",
    "OAuthApp",
    "OAuthTokens",
    "WebhookCredentials",
    "build_refresh_request",
    "check_base_url",
    "is_loopback",
    "parse_token_response",
    "redact",
    "redact_url",
]

DEFAULT_TOKEN_URL = "https://oauth.bitrix.info/oauth/token/"

_WEBHOOK_PATH = re.compile(r"^(?P<prefix>.*?/rest)/(?P<user>\d+)/(?P<code>[^/]+)/?$")


def _config_error(message: str) -> ConfigurationError:
    return ConfigurationError(message)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine (``localhost``, 127.0.0.0/8, ``::1``): plain http is allowed there."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(url: str, *, what: str, allow_http: bool = False) -> str:
    """Validate an absolute https URL and return it with a trailing slash.

    Plain http is accepted for loopback hosts, and for any host with ``allow_http=True`` (a self-hosted
    portal on an intranet).
    """
    if not isinstance(url, str):
        raise ConfigurationTypeError(f"{what} must be a string, not {type(url).__name__}")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise _config_error(f"{what} must be an absolute https:// URL, got {_origin_only(url)!r}")
    if parts.scheme == "http" and not allow_http and not is_loopback(parts.hostname):
        raise _config_error(
            f"{what} must use https; for a self-hosted portal over plain http pass allow_http=True "
            "(bizproc --allow-http)"
        )
    if parts.query or parts.fragment:
        raise _config_error(f"{what} must not carry a query or fragment ({_origin_only(url)!r})")
    if parts.username is not None or parts.password is not None:
        raise _config_error(f"{what} must not carry a user name or password (user:password@host)")
    base = url.strip()
    return base if base.endswith("/") else base + "/"


def redact_url(url: str) -> str:
    """``url`` with the webhook code and any token-like query values replaced by ``***``."""
    return redact(url)


def _origin_only(url: str) -> str:
    """``https://host/…``: all a message shows of a refused URL (its path may hold a code)."""
    parts = urlsplit(url.strip())
    host = parts.netloc.rpartition("@")[2]  # never a user:password@ part
    if parts.scheme and host:
        return f"{parts.scheme}://{host}/…"
    return "a text that is not a URL"


@attrs.frozen(repr=False)
class WebhookCredentials:
    """An incoming webhook: ``https://<portal>/rest/<user_id>/<code>/``."""

    base_url: str  # ends with "/"
    user_id: int
    code: str

    @classmethod
    def parse(cls, url: str, *, allow_http: bool = False) -> WebhookCredentials:
        """Parse and validate a webhook URL (https required, except for loopback hosts or ``allow_http``)."""
        base = check_base_url(url, what="webhook URL", allow_http=allow_http)
        match = _WEBHOOK_PATH.match(urlsplit(base).path)
        if match is None:
            raise _config_error(
                "not a webhook URL: expected https://<portal>/rest/<user_id>/<code>/, "
                f"got {_origin_only(url)!r} (path not shown: it may hold the code)"
            )
        return cls(base_url=base, user_id=int(match["user"]), code=match["code"])

    def method_url(self, method: str) -> str:
        """The URL that calls ``method``."""
        return self.base_url + method

    @property
    def redacted_url(self) -> str:
        """The webhook URL with its code masked."""
        return redact_url(self.base_url)

    def __repr__(self) -> str:
        return f"WebhookCredentials({self.redacted_url!r})"


@attrs.frozen(repr=False)
class OAuthApp:
    """The application's credentials and the token server it refreshes against."""

    client_id: str
    client_secret: str
    token_url: str = DEFAULT_TOKEN_URL
    allow_http: bool = False  # a self-hosted portal whose client_endpoint is plain http

    def __repr__(self) -> str:
        return f"OAuthApp(client_id={self.client_id!r}, client_secret='***', token_url={self.token_url!r})"


@attrs.frozen(repr=False)
class OAuthTokens:
    """An access/refresh token pair and where to use it (``client_endpoint``, never ``domain``)."""

    access_token: str
    refresh_token: str
    client_endpoint: str  # https://<portal>/rest/
    expires_at: float | None = None  # unix seconds; None: unknown, refreshed only when the portal says so
    member_id: str | None = None
    scope: str | None = None
    user_id: int | None = None
    application_token: str | None = None  # an app's install secret: checks the portal's calls to it

    def expires_within(self, seconds: float, now: float) -> bool:
        """Whether the access token expires within ``seconds`` of ``now`` (False if the expiry is unknown)."""
        return self.expires_at is not None and self.expires_at - seconds <= now

    def method_url(self, method: str) -> str:
        """The URL that calls ``method`` with this token."""
        return self.client_endpoint + method

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready mapping (it contains the secrets: store it safely)."""
        return attrs.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OAuthTokens:
        """Rebuild tokens saved by :meth:`to_json`."""
        try:
            return cls(
                access_token=str(data["access_token"]),
                refresh_token=str(data["refresh_token"]),
                # Restored as saved; the client holding them checks http against its own allow_http.
                client_endpoint=check_base_url(
                    str(data["client_endpoint"]), what="client_endpoint", allow_http=True
                ),
                expires_at=None if data.get("expires_at") is None else _finite(float(data["expires_at"])),
                member_id=data.get("member_id"),
                scope=data.get("scope"),
                user_id=None if data.get("user_id") is None else _id_number(int(data["user_id"])),
                application_token=_opt_str(data.get("application_token")),
            )
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise _config_error(f"stored tokens are incomplete or malformed ({type(exc).__name__})") from None

    def __repr__(self) -> str:
        return (
            f"OAuthTokens(access_token='***', refresh_token='***', client_endpoint={self.client_endpoint!r}, "
            f"expires_at={self.expires_at!r}, member_id={self.member_id!r})"
        )


def build_refresh_request(app: OAuthApp, refresh_token: str) -> str:
    """The GET URL that trades ``refresh_token`` for a new pair at the token server."""
    query = urlencode(
        {
            "grant_type": "refresh_token",
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "refresh_token": refresh_token,
        }
    )
    return f"{app.token_url}?{query}"


def parse_token_response(
    status: int, body: bytes, *, now: float, previous: OAuthTokens | None = None, allow_http: bool = False
) -> OAuthTokens:
    """Read the token server's answer: new tokens, or :class:`InvalidGrantError` and friends."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ServerError("the token server answered with a body that is not JSON", status=status) from None
    if not isinstance(data, Mapping):
        raise ServerError("the token server answered with an unexpected body", status=status)
    if "error" in data:
        code = str(data.get("error") or "")
        description = str(data.get("error_description") or "")
        if status >= 500:
            raise ServerError(description or code, code=code, status=status)
        error = error_from_code(code or "invalid_grant", description, status=status)
        if not isinstance(error, AuthError | AccessDeniedError | RateLimitError):
            # the token server refused (wrong_client arrives with HTTP 200): whatever the code, no tokens
            error = InvalidGrantError(description, code=code, status=status)
        raise error
    access, refresh = data.get("access_token"), data.get("refresh_token")
    if not access or not refresh:
        raise InvalidGrantError("the token server answered without a token pair", status=status)
    endpoint = data.get("client_endpoint") or (previous.client_endpoint if previous else None)
    if not endpoint:
        raise ServerError("the token server answered without client_endpoint", status=status)
    return OAuthTokens(
        access_token=str(access),
        refresh_token=str(refresh),
        client_endpoint=check_base_url(str(endpoint), what="client_endpoint", allow_http=allow_http),
        expires_at=_expiry(data, now),
        member_id=_opt_str(data.get("member_id")) or (previous.member_id if previous else None),
        scope=_opt_str(data.get("scope")),
        user_id=_opt_int(data.get("user_id")),
        application_token=previous.application_token if previous else None,
    )


_MAX_LIFETIME = 366 * 86400.0  # an expiry further away (or NaN, infinite, negative) is ignored as unknown


def _finite(number: float) -> float:
    if not math.isfinite(number):
        raise ValueError("not a finite number")
    return number


def _id_number(number: int) -> int:
    if abs(number) >= 2**63:
        raise ValueError("out of range")
    return number


def _seconds(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return _finite(float(value))
    except (ValueError, OverflowError):
        return None


def _expiry(data: Mapping[str, Any], now: float) -> float | None:
    expires_in = _seconds(data.get("expires_in"))
    if expires_in is not None and 0 <= expires_in <= _MAX_LIFETIME:
        return now + expires_in  # relative: immune to clock skew with the token server
    expires = _seconds(data.get("expires"))
    return expires if expires is not None and 0 <= expires <= now + _MAX_LIFETIME else None


def _opt_str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _opt_int(value: Any) -> int | None:
    try:
        number = None if value is None or isinstance(value, bool) else int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if number is None or abs(number) < 2**63 else None
