"""Credentials of the emulated portal: incoming webhooks, an OAuth app, tokens and the token server."""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from .config import PortalConfig
from .context import PortalError

__all__ = ["AuthRegistry", "Credential", "OAuthApp", "TokenError", "Webhook"]

_ALNUM = string.ascii_letters + string.digits


@attrs.frozen
class Webhook:
    """An incoming webhook: ``/rest/<user_id>/<code>/``."""

    user_id: int
    code: str = attrs.field(repr=False)
    scopes: frozenset[str]
    admin: bool | None = None  # None: as the user is


@attrs.frozen
class OAuthApp:
    """The installed OAuth application."""

    client_id: str
    client_secret: str = attrs.field(repr=False)
    scopes: frozenset[str]


@attrs.frozen
class Credential:
    """Who a request authenticated as; ``key`` names the app or webhook for operating-time accounting."""

    user_id: int
    scopes: frozenset[str]
    app_id: str | None
    key: str = attrs.field(repr=False)
    admin: bool | None = None


@attrs.define
class _Grant:
    user_id: int
    scopes: frozenset[str]
    expires_at: float


class TokenError(Exception):
    """A token-server refusal: ``{"error": code, "error_description": description}``, HTTP 400 unless told."""

    def __init__(self, code: str, description: str | None, status: int = 400) -> None:
        super().__init__(code)
        self.code = code
        self.description = description
        self.status = status


class AuthRegistry:
    """Webhooks, the OAuth app, and the live authorization codes, access and refresh tokens."""

    def __init__(self, config: PortalConfig, clock: Callable[[], float]) -> None:
        self.config = config
        self._clock = clock
        self._webhooks: dict[tuple[int, str], Webhook] = {}
        self._access: dict[str, _Grant] = {}
        self._refresh: dict[str, _Grant] = {}
        self._codes: dict[str, _Grant] = {}
        self.app = OAuthApp(
            client_id=f"local.{secrets.token_hex(7)}.{secrets.randbelow(10**8):08d}",
            client_secret="".join(secrets.choice(_ALNUM) for _ in range(50)),  # real ones are alphanumeric
            scopes=config.default_scopes,
        )
        self.rest_endpoint = "http://127.0.0.1/rest/"  # set once the portal knows its port
        self.server_endpoint = "http://127.0.0.1/oauth/rest/"

    # -- webhooks -------------------------------------------------------------------------------
    def add_webhook(
        self, user_id: int, scopes: Iterable[str] | None = None, *, admin: bool | None = None
    ) -> Webhook:
        """Create an incoming webhook for ``user_id``."""
        hook = Webhook(
            user_id=user_id,
            code=secrets.token_hex(8),
            scopes=frozenset(scopes) if scopes is not None else self.config.default_scopes,
            admin=admin,
        )
        self._webhooks[(user_id, hook.code)] = hook
        return hook

    def remove_webhook(self, hook: Webhook) -> None:
        """Delete a webhook; its URL then answers INVALID_CREDENTIALS."""
        self._webhooks.pop((hook.user_id, hook.code), None)

    def webhook(self, user_id: str, code: str) -> Credential:
        """The credential of a webhook path, or 401 INVALID_CREDENTIALS."""
        hook = self._webhooks.get((int(user_id), code)) if user_id.isdigit() else None
        if hook is None:
            raise PortalError("INVALID_CREDENTIALS", "Invalid request credentials", 401)
        return Credential(hook.user_id, hook.scopes, None, f"webhook:{hook.user_id}:{hook.code}", hook.admin)

    # -- access tokens --------------------------------------------------------------------------
    def access(self, token: str | None) -> Credential:
        """The credential of an access token, or 401 NO_AUTH_FOUND / invalid_token / expired_token."""
        if not token:
            raise PortalError("NO_AUTH_FOUND", "Wrong authorization data", 401)
        grant = self._access.get(token)
        if grant is None:
            raise PortalError("invalid_token", "Unable to authenticate user", 401)
        if self._clock() >= grant.expires_at:
            raise PortalError("expired_token", "The access token provided has expired.", 401)
        return Credential(grant.user_id, grant.scopes, self.app.client_id, f"app:{self.app.client_id}")

    def authorize(self, user_id: int = 1, scopes: Iterable[str] | None = None) -> str:
        """An authorization code (as the portal's /oauth/authorize/ redirect carries), valid 30 s."""
        code = secrets.token_hex(16)
        self._codes[code] = _Grant(user_id, self._scopes(scopes), self._clock() + self.config.code_lifetime)
        return code

    def issue_tokens(self, user_id: int = 1, scopes: Iterable[str] | None = None) -> dict[str, Any]:
        """A fresh access/refresh pair, as the token server's JSON answer."""
        return self._issue(user_id, self._scopes(scopes))

    def holds(self, grant_type: object, token: object) -> bool:
        """Whether this portal issued the live authorization code or refresh token ``token``."""
        store = self._codes if grant_type == "authorization_code" else self._refresh
        return isinstance(token, str) and token in store

    def revoke_tokens(self) -> None:
        """Forget every access and refresh token (the app was uninstalled from the portal)."""
        self._access.clear()
        self._refresh.clear()
        self._codes.clear()

    def expire_access_tokens(self) -> None:
        """Make every live access token expired (refresh tokens stay valid)."""
        now = self._clock()
        for grant in self._access.values():
            grant.expires_at = min(grant.expires_at, now)

    def _scopes(self, scopes: Iterable[str] | None) -> frozenset[str]:
        return frozenset(scopes) if scopes is not None else self.app.scopes

    def _issue(self, user_id: int, scopes: frozenset[str]) -> dict[str, Any]:
        now = self._clock()
        access, refresh = secrets.token_hex(32), secrets.token_hex(32)
        lifetime = self.config.token_lifetime
        self._access[access] = _Grant(user_id, scopes, now + lifetime)
        self._refresh[refresh] = _Grant(user_id, scopes, now + self.config.refresh_lifetime)
        return {
            "access_token": access,
            "expires": int(now + lifetime),
            "expires_in": int(lifetime),
            "scope": ",".join(sorted(scopes)),
            "domain": self.config.oauth_domain,
            "server_endpoint": self.server_endpoint,
            "status": "L",
            "client_endpoint": self.rest_endpoint,
            "member_id": self.config.member_id,
            "user_id": user_id,
            "refresh_token": refresh,
        }

    # -- the token server -----------------------------------------------------------------------
    def grant(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Answer a token-server request (``grant_type`` authorization_code or refresh_token)."""
        grant_type = params.get("grant_type")
        if grant_type not in ("authorization_code", "refresh_token"):
            raise TokenError("invalid_request", "grant_type must be authorization_code or refresh_token")
        if params.get("client_id") != self.app.client_id:
            # the live token server: HTTP 200 {"error": "wrong_client"} (b24pysdk errors/oauth.py)
            raise TokenError("wrong_client", None, 200)  # the recorded body has no error_description
        if not secrets.compare_digest(str(params.get("client_secret", "")), self.app.client_secret):
            raise TokenError("invalid_client", "Invalid client credentials")
        store, field = (
            (self._codes, "code") if grant_type == "authorization_code" else (self._refresh, "refresh_token")
        )
        token = params.get(field)
        grant = store.pop(token, None) if isinstance(token, str) else None
        if grant is None or self._clock() >= grant.expires_at:
            raise TokenError("invalid_grant", "Invalid grant")
        return self._issue(grant.user_id, grant.scopes)
