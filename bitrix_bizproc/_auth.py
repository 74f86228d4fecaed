"""How requests are authorised: webhooks, and OAuth with single-flight token refresh and rotation.

Refresh tokens rotate: each refresh kills the previous one. So however many calls notice an expired token
at once, exactly one refresh request is made; everyone else awaits its outcome. A failed refresh is
reported to the calls that waited for it and forgotten, so the next call may try again; a refresh token
the token server refused (``invalid_grant``) is remembered and never sent again.

An access token the portal refuses as not valid (``invalid_token``: the app was reinstalled, which revokes
the old pair) is never refreshed; instead the store is read again, once for every call it refused, and a
different pair found there (the reinstall saved it) is adopted for the calls to be sent again.

Across processes, a store that also offers ``refresh_lock()`` (:class:`LockingTokenStore`, e.g.
``bitrix_bizproc.redis.RedisTokenStore``) is locked around "reload, decide, refresh, save", so a worker
that finds the pair already rotated by another one uses it instead of refreshing again.

The starting pair (passed to the client) fills an empty store only "if still empty" (``save_if_empty``,
``SET NX`` in Redis), then the stored pair is used: a worker starting late never overwrites a pair another
worker has already rotated. A transient refresh failure (a reset, a 5xx from the token server) is retried
with backoff, a few times. A new pair that cannot be saved is kept in memory (the old refresh token is dead:
dropping it would lose the install) but never used silently: every call first retries the save and fails
with :class:`TokenStoreError` while the store keeps failing.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import os
import tempfile
from collections.abc import Awaitable, Callable, Mapping, Sequence
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
from .protocol.errors import (
    BitrixError,
    ConfigurationError,
    InvalidGrantError,
    ServerError,
    TokenStoreError,
    TransportError,
)

__all__ = [
    "Authenticator",
    "FillingTokenStore",
    "JsonFileTokenStore",
    "LockingTokenStore",
    "MemoryTokenStore",
    "OAuthAuth",
    "TokenCallback",
    "TokenReloader",
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


@runtime_checkable
class FillingTokenStore(TokenStore, Protocol):
    """A token store that can fill itself only while empty, atomically (the starting pair)."""

    async def save_if_empty(self, tokens: OAuthTokens) -> OAuthTokens:
        """Store ``tokens`` unless a pair is stored already; return the pair stored afterwards."""
        ...


async def fill_store(store: TokenStore, tokens: OAuthTokens) -> OAuthTokens:
    """Put the starting pair into an empty store without overwriting a pair someone else saved meanwhile."""
    if isinstance(store, FillingTokenStore):
        return await store.save_if_empty(tokens)
    lock = store.refresh_lock() if isinstance(store, LockingTokenStore) else contextlib.nullcontext()
    async with lock:  # a store of the user's own: "load, then save if empty" under its refresh lock
        stored = await store.load()
        if stored is not None:
            return stored
        await store.save(tokens)
        return await store.load() or tokens


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

    async def save_if_empty(self, tokens: OAuthTokens) -> OAuthTokens:
        """Hold ``tokens`` unless a pair is held already; the pair held afterwards."""
        if self.tokens is None:  # no await between the test and the set: atomic on the event loop
            self.tokens = tokens
        return self.tokens

    def __repr__(self) -> str:
        return f"MemoryTokenStore(has_tokens={self.tokens is not None})"


class JsonFileTokenStore:
    """Tokens in a JSON file, replaced atomically (temp file + rename) and readable by the owner only."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        _check_token_path(self.path)

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

    async def save_if_empty(self, tokens: OAuthTokens) -> OAuthTokens:
        """Create the file with ``tokens`` unless it exists (atomic: a hard link fails if it does)."""
        return await asyncio.to_thread(self._save_if_empty, tokens)

    def _save(self, tokens: OAuthTokens) -> None:
        tmp = self._write_temp(tokens)
        try:
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def _save_if_empty(self, tokens: OAuthTokens) -> OAuthTokens:
        tmp = self._write_temp(tokens)
        try:
            os.link(tmp, self.path)  # fails with FileExistsError when another process filled it first
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links: create-if-absent, not atomic against a race
            if not self.path.exists():
                os.replace(tmp, self.path)
        finally:
            tmp.unlink(missing_ok=True)
        return self._load() or tokens

    def _write_temp(self, tokens: OAuthTokens) -> Path:
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(tokens.to_json(), fh)
                fh.flush()
                os.fsync(fh.fileno())
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return Path(tmp)

    def __repr__(self) -> str:
        return f"JsonFileTokenStore({str(self.path)!r})"


def _check_token_path(path: Path) -> None:
    """Refuse a token file path that can never be written: a directory, or under a file."""
    if path.is_dir():
        raise ConfigurationError(f"token file {path} is a directory")
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ConfigurationError(f"token file {path}: {ancestor} is not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):  # the file is replaced by a rename in its directory
        raise ConfigurationError(f"token file {path}: the directory {ancestor} is not writable")


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


@runtime_checkable
class TokenReloader(Protocol):
    """An authenticator that can take a newer pair from its token store after the portal refused one."""

    async def on_refused(self, used: object) -> bool:
        """The portal refused ``used`` as not valid: whether a different pair is in use now (send again)."""
        ...


class _Sent:
    """The pair a request carried, and how many store reloads had finished when it was built."""

    __slots__ = ("reloads", "tokens")

    def __init__(self, tokens: OAuthTokens, reloads: int) -> None:
        self.tokens = tokens
        self.reloads = reloads


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # built once, not per call


def _c_encoder() -> Callable[[Any, int], Sequence[str]] | None:
    """``_ENCODER``'s C encoder, built once (``encode`` builds it for every body: half a small body's cost).

    Without the check for circular values: parameters are normalized first, which refuses a circular one
    (``RecursionError``); given one directly, the encoder also ends in ``RecursionError``, not ``ValueError``.
    ``None`` where the C encoder is missing or is built otherwise (another Python).
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return None
    e = _ENCODER  # what its iterencode gives the C encoder (ensure_ascii=False), but no markers
    try:
        encoder = make(
            None,
            e.default,
            json.encoder.encode_basestring,
            e.indent,
            e.key_separator,
            e.item_separator,
            e.sort_keys,
            e.skipkeys,
            e.allow_nan,
        )
    except TypeError:
        return None
    built: Callable[[Any, int], Sequence[str]] = encoder
    return built


_C_ENCODER = _c_encoder()


def _encode(params: Mapping[str, Any]) -> bytes:
    """The JSON body of ``params`` (what ``_ENCODER.encode`` gives, in UTF-8)."""
    if _C_ENCODER is not None and type(params) is dict:
        return "".join(_C_ENCODER(params, 0)).encode()
    return _ENCODER.encode(params).encode()


class WebhookAuth:
    """Authorises by the webhook URL itself."""

    # A request built now is the request sent later (no token to refresh): no rebuild after a wait.
    fixed_requests = True

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
        refresh_attempts: int = 3,
        refresh_backoff: float = 0.2,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
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
        self._refresh_attempts = max(1, refresh_attempts)
        self._refresh_backoff = refresh_backoff
        self._sleep = sleep
        self._unsaved: OAuthTokens | None = None  # a refreshed pair the store has not taken yet
        self._save_lock = asyncio.Lock()
        self._reloading: asyncio.Future[OAuthTokens] | None = None
        self._reloads = 0  # store reloads finished after a refused access token

    async def tokens(self) -> OAuthTokens:
        """The current tokens, refreshed first if they expire within the leeway."""
        tokens = self._tokens
        if tokens is None:
            tokens = await self._load()
        if self._unsaved is not None:
            await self._save_pending()
        if tokens.expires_within(self._leeway, self._clock()):
            tokens = await self.refresh(tokens)
        return tokens

    async def _save_pending(self) -> None:
        """Save the refreshed pair the store refused before; :class:`TokenStoreError` while it still does."""
        async with self._save_lock:
            pending = self._unsaved
            if pending is None:
                return
            await self._save(pending)
            if self._unsaved is pending:
                self._unsaved = None
                logger.info("the refreshed OAuth tokens are saved now")

    async def _save(self, tokens: OAuthTokens) -> None:
        try:
            await self.store.save(tokens)
        except Exception as exc:
            self._unsaved = tokens
            self._stats.refresh_failures += 1
            reason = exc.description if isinstance(exc, BitrixError) else type(exc).__name__
            logger.error("could not save the refreshed OAuth tokens (%s); calls fail until it works", reason)
            raise TokenStoreError(
                f"the refreshed token pair could not be saved to {type(self.store).__name__} ({reason}); "
                "it is kept in memory and saved again before the next call",
                code="TOKEN_STORE_FAILED",
            ) from exc

    async def _load(self) -> OAuthTokens:
        if not self._loaded:
            async with self._load_lock:  # one read for all first calls; a late read never undoes a refresh
                if not self._loaded:
                    stored = self._allowed(await self.store.load())
                    if stored is None and self._initial is not None:
                        # Only if still empty: another worker may have saved (and rotated) a pair meanwhile.
                        stored = await fill_store(self.store, self._initial)
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
        return HttpRequest("POST", tokens.method_url(method), _encode(body)), _Sent(tokens, self._reloads)

    async def on_expired(self, used: object) -> bool:
        """Refresh (once, shared) unless someone already replaced the token that expired."""
        if isinstance(used, _Sent):
            await self.refresh(used.tokens)
            return True
        return False

    async def on_refused(self, used: object) -> bool:
        """Adopt a different pair from the store after the portal refused ``used`` (one read for everyone).

        False (raise as is) if the store holds the refused pair, none, or a pair rotated away; also if the
        store was read again after ``used`` was sent, so a wave of refused calls reads it once.
        """
        if not isinstance(used, _Sent):
            return False
        refused = used.tokens
        current = self._tokens
        if current is not None and current.access_token != refused.access_token:
            return True  # adopted or refreshed already
        if self._reloading is None:
            if self._reloads > used.reloads:
                return False  # the store was read after this call was sent: nothing newer there
            self._reloading = asyncio.get_running_loop().create_future()
            task = asyncio.create_task(self._do_reload(refused, self._reloading))
            task.add_done_callback(_consume)
        try:
            tokens = await asyncio.shield(self._reloading)
        except Exception as exc:  # the portal's refusal stays the error; the store's failure is logged
            reason = exc.description if isinstance(exc, BitrixError) else type(exc).__name__
            logger.warning("could not read the token store after a refused access token (%s)", reason)
            return False
        return tokens.access_token != refused.access_token

    async def _do_reload(self, refused: OAuthTokens, outcome: asyncio.Future[OAuthTokens]) -> None:
        try:
            await _settle(outcome, self._reload_once(refused), "the token store reload was cancelled")
        finally:
            self._reloads += 1
            self._reloading = None

    async def _reload_once(self, refused: OAuthTokens) -> OAuthTokens:
        store = self.store
        lock = store.refresh_lock() if isinstance(store, LockingTokenStore) else contextlib.nullcontext()
        async with lock:  # a worker refreshing right now saves first
            stored = self._allowed(await store.load())
        current = self._tokens
        if current is not None and current.access_token != refused.access_token:
            return current  # refreshed meanwhile
        if (
            stored is None
            or stored.access_token == refused.access_token
            or stored.refresh_token in self._dead_refresh_tokens
        ):
            logger.warning("the portal refused the OAuth access token; the token store holds no newer pair")
            return refused
        self._tokens = stored
        logger.info("the portal refused the OAuth access token; using the newer pair from the token store")
        return stored

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
            await _settle(outcome, self._refresh_once(stale), "the token refresh was cancelled")
        finally:
            self._refreshing = None
        if outcome.exception() is not None:
            self._stats.refresh_failures += 1

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
        tokens = await self._request_tokens(stale)
        self._tokens = tokens  # in memory first: the old pair is dead whatever happens next
        if tokens.refresh_token != stale.refresh_token:  # rotated away: never adopt it from the store again
            self._dead_refresh_tokens.add(stale.refresh_token)
        self._stats.refreshes += 1
        await self._save(tokens)
        if self._on_tokens is not None:
            result = self._on_tokens(tokens)
            if inspect.isawaitable(result):
                await result
        return tokens

    async def _request_tokens(self, stale: OAuthTokens) -> OAuthTokens:
        """Ask the token server for a new pair; a reset or a 5xx is retried with backoff (bounded).

        If a lost answer hid a refresh that did run, the resend meets ``invalid_grant`` (the old refresh
        token is dead): that is reported as such, never looped on.
        """
        url = build_refresh_request(self.app, stale.refresh_token)
        for attempt in range(self._refresh_attempts):
            logger.info("refreshing the OAuth access token")
            try:
                response = await self._transport.send(HttpRequest("GET", url, headers=_GET_HEADERS))
                return parse_token_response(
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
            except (TransportError, ServerError) as exc:
                if attempt + 1 >= self._refresh_attempts:
                    raise
                delay = self._refresh_backoff * 2**attempt
                logger.info("token refresh failed (%s); retrying in %.2f s", type(exc).__name__, delay)
                await self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

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


async def _settle(outcome: asyncio.Future[OAuthTokens], work: Awaitable[OAuthTokens], cancelled: str) -> None:
    """Give ``outcome`` the result or the error of ``work`` (a cancelled one as a typed error)."""
    try:
        outcome.set_result(await work)
    except asyncio.CancelledError:
        outcome.set_exception(TransportError(cancelled, code="CANCELLED"))
        raise
    except Exception as exc:
        outcome.set_exception(exc)
    finally:
        if outcome.done() and not outcome.cancelled():
            outcome.exception()  # mark it retrieved: every waiter may have gone


def _consume(task: asyncio.Task[None]) -> None:
    if not task.cancelled():
        task.exception()
