"""How requests are authorised: webhooks, and OAuth with single-flight token refresh and rotation.

Refresh tokens rotate: each refresh kills the previous one. So however many calls notice an expired token
at once, exactly one refresh request is made; everyone else awaits its outcome. A failed refresh is
reported to the calls that waited for it and forgotten, so the next call may try again; a refresh token
the token server refused (``invalid_grant``) is remembered and never sent again.

Across processes, a store that also offers ``refresh_lock()`` (:class:`LockingTokenStore`, e.g.
``bitrix_bizproc.redis.RedisTokenStore``) is locked around "reload, decide, refresh, save", so a worker
that finds the pair already rotated by another one uses it instead of refreshing again.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import os
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ._stats import Stats
from ._transport import HttpRequest, Transport
from .protocol.auth import (
    OAuthApp,
    OAuthTokens,
    WebhookCredentials,
    build_refresh_request,
    check_base_url,
    parse_token_response,
    redact_url,
)
from .protocol.errors import ConfigurationError, InvalidGrantError, TransportError

__all__ = [
    "Authenticator",
    "JsonFileTokenStore",
    "LockingTokenStore",
    "MemoryTokenStore",
    "OAuthAuth",
    "TokenCallback",
    "TokenStore",
    "WebhookAuth",
]

logger = logging.getLogger("bitrix_bizproc")

TokenCallback = Callable[[OAuthTokens], Awaitable[None] | None]
_GET_HEADERS = {"Accept": "application/json"}


class TokenStore(Protocol):
    """Where OAuth tokens live between runs (and between workers sharing an install)."""

    async def load(self) -> OAuthTokens | None:
        """The stored tokens, or ``None`` if there are none yet."""
        ...

    async def save(self, tokens: OAuthTokens) -> None:
        """Persist a new token pair (the previous refresh token is dead by now)."""
        ...


@runtime_checkable
class LockingTokenStore(TokenStore, Protocol):
    """A token store shared between processes, with a lock held around each refresh."""

    def refresh_lock(self) -> AbstractAsyncContextManager[None]:
        """Hold the install-wide refresh lock for the duration of the ``async with`` block."""
        ...


class MemoryTokenStore:
    """Keeps tokens in memory only (the default)."""

    def __init__(self, tokens: OAuthTokens | None = None) -> None:
        self.tokens = tokens

    async def load(self) -> OAuthTokens | None:
        """The tokens held."""
        return self.tokens

    async def save(self, tokens: OAuthTokens) -> None:
        """Hold ``tokens``."""
        self.tokens = tokens

    async def delete(self) -> None:
        """Forget the tokens (the app was uninstalled)."""
        self.tokens = None

    def __repr__(self) -> str:
        return f"MemoryTokenStore(has_tokens={self.tokens is not None})"


class JsonFileTokenStore:
    """Tokens in a JSON file, replaced atomically (temp file + rename) and readable by the owner only."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    async def load(self) -> OAuthTokens | None:
        """Read the file; a missing file means no tokens yet."""
        return await asyncio.to_thread(self._load)

    async def save(self, tokens: OAuthTokens) -> None:
        """Write the file atomically with mode 0600."""
        await asyncio.to_thread(self._save, tokens)

    async def delete(self) -> None:
        """Remove the file (the app was uninstalled); a missing file is fine."""
        await asyncio.to_thread(self.path.unlink, True)

    def _load(self) -> OAuthTokens | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            data = json.loads(text)
        except ValueError:
            raise ConfigurationError(f"token file {self.path} is not valid JSON") from None
        if not isinstance(data, Mapping):
            raise ConfigurationError(f"token file {self.path} does not hold a JSON object")
        return OAuthTokens.from_json(data)

    def _save(self, tokens: OAuthTokens) -> None:
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(tokens.to_json(), fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def __repr__(self) -> str:
        return f"JsonFileTokenStore({str(self.path)!r})"


class Authenticator(Protocol):
    """Turns a method and its JSON parameters into an authorised request."""

    async def request(self, method: str, params: dict[str, Any]) -> tuple[HttpRequest, object]:
        """The request, plus an opaque token identity to hand back to :meth:`on_expired`."""
        ...

    async def on_expired(self, used: object) -> bool:
        """The portal said ``expired_token`` for ``used``: refresh; False if this auth cannot."""
        ...

    def secrets(self) -> tuple[str, ...]:
        """Every secret this auth knows, for redaction."""
        ...


def _encode(params: Mapping[str, Any]) -> bytes:
    return json.dumps(params, ensure_ascii=False, separators=(",", ":")).encode()


class WebhookAuth:
    """Authorises by the webhook URL itself."""

    def __init__(self, credentials: WebhookCredentials) -> None:
        self.credentials = credentials

    async def request(self, method: str, params: dict[str, Any]) -> tuple[HttpRequest, object]:
        """POST the JSON parameters to ``<webhook>/<method>``."""
        return HttpRequest("POST", self.credentials.method_url(method), _encode(params)), None

    async def on_expired(self, used: object) -> bool:
        """Webhooks do not expire."""
        return False

    def secrets(self) -> tuple[str, ...]:
        """The webhook code."""
        return (self.credentials.code,)

    def __repr__(self) -> str:
        return f"WebhookAuth({self.credentials.redacted_url!r})"


class OAuthAuth:
    """An OAuth app's access token, refreshed once for everyone when it expires (or shortly before)."""

    def __init__(
        self,
        app: OAuthApp,
        store: TokenStore,
        *,
        transport: Transport,
        clock: Callable[[], float],
        on_tokens: TokenCallback | None = None,
        leeway: float = 60.0,
        stats: Stats | None = None,
        initial: OAuthTokens | None = None,
    ) -> None:
        self.app = app
        self.store = store
        self._transport = transport
        self._clock = clock
        self._on_tokens = on_tokens
        self._leeway = leeway
        self._stats = stats if stats is not None else Stats()
        self._initial = initial
        self._tokens: OAuthTokens | None = None
        self._loaded = False
        self._load_lock = asyncio.Lock()
        self._refreshing: asyncio.Future[OAuthTokens] | None = None
        self._dead_refresh_tokens: set[str] = set()

    async def tokens(self) -> OAuthTokens:
        """The current tokens, refreshed first if they expire within the leeway."""
        tokens = self._tokens
        if tokens is None:
            tokens = await self._load()
        if tokens.expires_within(self._leeway, self._clock()):
            tokens = await self.refresh(tokens)
        return tokens

    async def _load(self) -> OAuthTokens:
        if not self._loaded:
            async with self._load_lock:  # one read for all first calls; a late read never undoes a refresh
                if not self._loaded:
                    stored = self._allowed(await self.store.load())
                    if stored is None and self._initial is not None:
                        stored = self._initial
                        await self.store.save(stored)
                    self._tokens = stored
                    self._loaded = True
        if self._tokens is None:
            raise InvalidGrantError("no OAuth tokens: the token store is empty", code="NO_TOKENS")
        return self._tokens

    async def request(self, method: str, params: dict[str, Any]) -> tuple[HttpRequest, object]:
        """POST to ``client_endpoint/<method>`` with the access token as ``auth`` in the body."""
        tokens = await self.tokens()
        body = dict(params)
        body["auth"] = tokens.access_token
        return HttpRequest("POST", tokens.method_url(method), _encode(body)), tokens

    async def on_expired(self, used: object) -> bool:
        """Refresh (once, shared) unless someone already replaced the token that expired."""
        if isinstance(used, OAuthTokens):
            await self.refresh(used)
            return True
        return False

    async def refresh(self, stale: OAuthTokens) -> OAuthTokens:
        """Replace ``stale``: one request however many callers ask; everyone gets the same outcome."""
        current = self._tokens
        if current is not None and current.access_token != stale.access_token:
            return current  # someone refreshed already
        if self._refreshing is None:
            self._refreshing = asyncio.get_running_loop().create_future()
            task = asyncio.create_task(self._do_refresh(stale, self._refreshing))
            task.add_done_callback(_consume)
        return await asyncio.shield(self._refreshing)

    async def _do_refresh(self, stale: OAuthTokens, outcome: asyncio.Future[OAuthTokens]) -> None:
        try:
            outcome.set_result(await self._refresh_once(stale))
        except asyncio.CancelledError:
            outcome.set_exception(TransportError("the token refresh was cancelled", code="CANCELLED"))
            raise
        except Exception as exc:
            self._stats.refresh_failures += 1
            outcome.set_exception(exc)
        finally:
            self._refreshing = None
            if outcome.done() and not outcome.cancelled():
                outcome.exception()  # mark it retrieved: every waiter may have gone

    async def _refresh_once(self, stale: OAuthTokens) -> OAuthTokens:
        store = self.store
        lock = store.refresh_lock() if isinstance(store, LockingTokenStore) else contextlib.nullcontext()
        async with lock:
            return await self._refresh_locked(stale)

    def _allowed(self, stored: OAuthTokens | None) -> OAuthTokens | None:
        """Tokens from the store, refused if their endpoint is plain http and the app did not allow it."""
        if stored is not None:
            check_base_url(stored.client_endpoint, what="client_endpoint", allow_http=self.app.allow_http)
        return stored

    async def _refresh_locked(self, stale: OAuthTokens) -> OAuthTokens:
        stored = self._allowed(await self.store.load())
        rotated = stored is not None and stored.refresh_token != stale.refresh_token
        if stored is not None and rotated and stored.refresh_token not in self._dead_refresh_tokens:
            self._tokens = stored  # another worker already rotated the pair
            if not stored.expires_within(self._leeway, self._clock()):
                return stored
            stale = stored
        if stale.refresh_token in self._dead_refresh_tokens:
            raise InvalidGrantError(
                "the refresh token was refused before; re-authorise the application", code="invalid_grant"
            )
        logger.info("refreshing the OAuth access token")
        url = build_refresh_request(self.app, stale.refresh_token)
        response = await self._transport.send(HttpRequest("GET", url, headers=_GET_HEADERS))
        try:
            tokens = parse_token_response(
                response.status,
                response.body,
                now=self._clock(),
                previous=stale,
                allow_http=self.app.allow_http,
            )
        except InvalidGrantError:
            self._dead_refresh_tokens.add(stale.refresh_token)
            logger.warning("the token server refused the refresh token (invalid_grant)")
            raise
        self._tokens = tokens  # in memory first: the old pair is dead whatever happens next
        if tokens.refresh_token != stale.refresh_token:  # rotated away: never adopt it from the store again
            self._dead_refresh_tokens.add(stale.refresh_token)
        self._stats.refreshes += 1
        await self.store.save(tokens)
        if self._on_tokens is not None:
            result = self._on_tokens(tokens)
            if inspect.isawaitable(result):
                await result
        return tokens

    def secrets(self) -> tuple[str, ...]:
        """The client secret and every token this auth holds."""
        found = [self.app.client_secret]
        for tokens in (self._tokens, self._initial):
            if tokens is not None:
                found += [tokens.access_token, tokens.refresh_token]
        return tuple(found)

    def __repr__(self) -> str:
        tokens = self._tokens or self._initial
        endpoint = repr(redact_url(tokens.client_endpoint)) if tokens else "<in the token store>"
        return f"OAuthAuth(client_id={self.app.client_id!r}, client_endpoint={endpoint})"


def _consume(task: asyncio.Task[None]) -> None:
    if not task.cancelled():
        task.exception()
