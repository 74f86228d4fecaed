"""HTTP behind one small contract: ``await transport.send(HttpRequest) -> HttpResponse``.

:class:`AiohttpTransport` is the real one; tests may pass any object with ``send`` and ``aclose``.
Failures without an HTTP answer become :class:`TransportError` whose ``details`` say whether the request
may have reached the portal (``sent``) and whether it timed out (``timeout``).

Redirects are never followed silently (aiohttp would re-send a POST as a body-less GET). A 301/302/307/308
to the SAME path on another host is a renamed portal: the same request (method, body) is sent there, the
move is logged at WARNING (hosts only) and every later request to the old host goes to the new one
(:meth:`AiohttpTransport.current_url`). Any other redirect raises :class:`UnexpectedRedirectError`; the
request is not sent again.
"""

from __future__ import annotations

import logging
import ssl as _ssl
from collections.abc import Mapping
from typing import Protocol
from urllib.parse import urljoin, urlsplit

import aiohttp
import attrs

from .protocol.auth import is_loopback, redact_url
from .protocol.errors import ConfigurationTypeError, TransportError, UnexpectedRedirectError

__all__ = ["AiohttpTransport", "HttpRequest", "HttpResponse", "Transport"]

logger = logging.getLogger("bitrix_bizproc")

_JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
_MOVED = frozenset({301, 302, 307, 308})  # 303 asks for a GET elsewhere: a different request
_MAX_MOVES = 5


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def moved_origin(url: str, status: int, location: str | None) -> str | None:
    """The new origin if ``location`` is ``url``'s own REST path and query on another host (a renamed portal).

    The new host must use https (plain http only between loopback hosts, as for any base URL).
    """
    if status not in _MOVED or not location:
        return None
    old, new = urlsplit(url), urlsplit(urljoin(url, location))
    if "/rest/" not in old.path:  # only a portal's REST calls move with it (never the token server)
        return None
    if not new.hostname or (new.path, new.query) != (old.path, old.query) or new.netloc == old.netloc:
        return None
    if new.scheme != "https" and not (new.scheme == "http" and is_loopback(new.hostname)):
        return None
    if new.username is not None or new.password is not None:
        return None
    return _origin(new.geturl())


@attrs.frozen(repr=False)
class HttpRequest:
    """One HTTP request; ``url`` may carry a secret (a webhook code), so the repr masks it."""

    method: str
    url: str
    body: bytes | None = None
    headers: Mapping[str, str] = _JSON_HEADERS

    def __repr__(self) -> str:
        return f"HttpRequest({self.method} {redact_url(self.url)})"


@attrs.frozen
class HttpResponse:
    """One HTTP answer: status, raw body and the headers the session reads."""

    status: int
    body: bytes
    headers: Mapping[str, str] = attrs.field(factory=dict)


class Transport(Protocol):
    """What the session needs from HTTP."""

    async def send(self, request: HttpRequest) -> HttpResponse:
        """Send ``request``; raise :class:`TransportError` when no answer comes back."""
        ...

    async def aclose(self) -> None:
        """Release connections this transport owns."""
        ...


class AiohttpTransport:
    """aiohttp with a pooled connector; a session passed in stays the caller's to close."""

    def __init__(
        self,
        session: aiohttp.ClientSession | None = None,
        *,
        timeout: float | None = 30.0,
        pool_size: int = 100,
        ssl: _ssl.SSLContext | None = None,
    ) -> None:
        if session is not None and not isinstance(session, aiohttp.ClientSession):
            raise ConfigurationTypeError(
                f"http_session must be an aiohttp.ClientSession, not {type(session).__name__}"
            )
        self._session = session
        self._owns_session = session is None
        self._closed = False
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._pool_size = pool_size
        self._ssl: _ssl.SSLContext | bool = True if ssl is None else ssl  # True: the system's CAs
        self._moves: dict[str, str] = {}  # old origin -> new origin, learnt from redirects

    @property
    def moves(self) -> Mapping[str, str]:
        """The portal moves seen so far: old origin (``https://old.bitrix24.ru``) -> new origin."""
        return dict(self._moves)

    def current_url(self, url: str) -> str:
        """``url`` with its origin replaced by where the portal has moved, if it has."""
        if not self._moves:  # the usual case: no portal has moved, nothing to parse
            return url
        origin = _origin(url)
        seen = {origin}
        while origin in self._moves:
            origin = self._moves[origin]
            if origin in seen:
                break
            seen.add(origin)
        return origin + url[len(_origin(url)) :]

    def _client(self) -> aiohttp.ClientSession:
        session = self._session
        if session is None:
            if self._closed:  # a call still retrying after aclose(): do not open a pool nobody closes
                raise RuntimeError("the transport is closed")
            connector = aiohttp.TCPConnector(limit=self._pool_size, ttl_dns_cache=300, ssl=self._ssl)
            session = self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)
        return session

    async def send(self, request: HttpRequest) -> HttpResponse:
        """Send ``request`` and read the whole answer; a renamed portal gets the same request again."""
        url = self.current_url(request.url)
        for _ in range(_MAX_MOVES + 1):
            response = await self._send_once(request, url)
            if not 300 <= response.status < 400:
                return response
            location = response.headers.get("Location")
            new_origin = moved_origin(url, response.status, location)
            if new_origin is None:
                where = _origin(urljoin(url, location)) if location else "(no Location)"
                raise UnexpectedRedirectError(
                    f"the portal answered HTTP {response.status} pointing to {where} (path not shown), "
                    f"which is not its REST path on a new host; {request.method} {redact_url(url)} "
                    "was not sent again",
                    code="UNEXPECTED_REDIRECT",
                    status=response.status,
                )
            old_origin = _origin(url)
            logger.warning(
                "the portal moved: %s -> %s (HTTP %d); sending the request there and using it from now on",
                old_origin,
                new_origin,
                response.status,
            )
            self._moves[old_origin] = new_origin
            self._moves.pop(new_origin, None)  # a move back is a move too, not a loop
            url = new_origin + url[len(old_origin) :]
        raise UnexpectedRedirectError(
            f"the portal moved more than {_MAX_MOVES} times for one request; not followed further",
            code="UNEXPECTED_REDIRECT",
            status=response.status,
        )

    async def _send_once(self, request: HttpRequest, url: str) -> HttpResponse:
        session = self._client()
        try:
            async with session.request(
                request.method,
                url,
                data=request.body,
                headers=request.headers,
                timeout=self._timeout,
                allow_redirects=False,
            ) as resp:
                body = await resp.read()
                return HttpResponse(resp.status, body, resp.headers)
        except (aiohttp.ClientConnectorError, aiohttp.InvalidURL) as exc:
            raise self._error(request, url, f"cannot connect ({type(exc).__name__})", sent=False) from None
        except TimeoutError:
            raise self._error(
                request, url, "timed out waiting for the answer", sent=True, timeout=True
            ) from None
        except aiohttp.ClientError as exc:
            raise self._error(request, url, f"connection lost ({type(exc).__name__})", sent=True) from None

    @staticmethod
    def _error(
        request: HttpRequest, url: str, what: str, *, sent: bool, timeout: bool = False
    ) -> TransportError:
        return TransportError(
            f"{what}: {request.method} {redact_url(url)}",
            code="TIMEOUT" if timeout else "CONNECTION_ERROR",
            details={"sent": sent, "timeout": timeout},
        )

    async def aclose(self) -> None:
        """Close the aiohttp session if this transport created it."""
        self._closed = self._owns_session
        if self._owns_session and self._session is not None:
            await self._session.close()
        self._session = None if self._owns_session else self._session
