"""HTTP behind one small contract: ``await transport.send(HttpRequest) -> HttpResponse``.

:class:`AiohttpTransport` is the real one; tests may pass any object with ``send`` and ``aclose``.
Failures without an HTTP answer become :class:`TransportError` whose ``details`` say whether the request
may have reached the portal (``sent``) and whether it timed out (``timeout``).
"""

from __future__ import annotations

import ssl as _ssl
from collections.abc import Mapping
from typing import Protocol

import aiohttp
import attrs

from .protocol.auth import redact_url
from .protocol.errors import ConfigurationTypeError, TransportError

__all__ = ["AiohttpTransport", "HttpRequest", "HttpResponse", "Transport"]

_JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


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

    def _client(self) -> aiohttp.ClientSession:
        session = self._session
        if session is None:
            if self._closed:  # a call still retrying after aclose(): do not open a pool nobody closes
                raise RuntimeError("the transport is closed")
            connector = aiohttp.TCPConnector(limit=self._pool_size, ttl_dns_cache=300, ssl=self._ssl)
            session = self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)
        return session

    async def send(self, request: HttpRequest) -> HttpResponse:
        """Send ``request`` and read the whole answer."""
        session = self._client()
        try:
            async with session.request(
                request.method, request.url, data=request.body, headers=request.headers, timeout=self._timeout
            ) as resp:
                body = await resp.read()
                return HttpResponse(resp.status, body, resp.headers)
        except (aiohttp.ClientConnectorError, aiohttp.InvalidURL) as exc:
            raise self._error(request, f"cannot connect ({type(exc).__name__})", sent=False) from None
        except TimeoutError:
            raise self._error(request, "timed out waiting for the answer", sent=True, timeout=True) from None
        except aiohttp.ClientError as exc:
            raise self._error(request, f"connection lost ({type(exc).__name__})", sent=True) from None

    @staticmethod
    def _error(request: HttpRequest, what: str, *, sent: bool, timeout: bool = False) -> TransportError:
        return TransportError(
            f"{what}: {request.method} {redact_url(request.url)}",
            code="TIMEOUT" if timeout else "CONNECTION_ERROR",
            details={"sent": sent, "timeout": timeout},
        )

    async def aclose(self) -> None:
        """Close the aiohttp session if this transport created it."""
        self._closed = self._owns_session
        if self._owns_session and self._session is not None:
            await self._session.close()
        self._session = None if self._owns_session else self._session
