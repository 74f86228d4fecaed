"""``BitrixApp``: the robots and activities an app declares, and everything the portal sends to it.

``await app.handle(headers, body)`` is the framework-neutral entry point the adapters call
(:mod:`.aiohttp`, :mod:`.asgi`): it parses the request, checks ``auth[application_token]`` against the one
saved at install (constant time), and only then runs anything. Install saves the portal's tokens with the
application token in the token store of that portal (keyed by ``member_id``); uninstall forgets them.
Replies go through one client per portal, kept and reused, whose concurrent calls share ``batch`` requests.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import attrs

from .._auth import MemoryTokenStore, TokenStore
from .._client import BizprocClient
from ..models.activity import Property
from ..models.converter import LocalizedText
from ..protocol.auth import DEFAULT_TOKEN_URL, OAuthTokens
from ..protocol.errors import BitrixError, ConfigurationError
from ..protocol.limits import LimiterOption
from .calls import RobotCall
from .declarations import Declaration, RobotHandler, SyncReport, sync_declarations
from .errors import ForgedRequestError, MalformedRequestError, UnknownRobotError
from .requests import InstallEvent, PortalEvent, RobotRequest, UninstallEvent, parse_request
from .values import properties_from_portal

__all__ = ["AppResponse", "BitrixApp", "EventHandler"]

log = logging.getLogger("bitrix_bizproc.apps")

EventHandler = Callable[[PortalEvent], Awaitable[None]]
Properties = Mapping[str, Property | Mapping[str, Any]]


@attrs.frozen
class AppResponse:
    """What an adapter answers: an HTTP status and a small JSON body (never a secret)."""

    status: int
    body: dict[str, Any]

    def encoded(self) -> bytes:
        """The JSON body as bytes."""
        return json.dumps(self.body, separators=(",", ":")).encode()


def _refusal(exc: BitrixError, status: int) -> AppResponse:
    code = exc.code or type(exc).__name__
    return AppResponse(status, {"error": code, "error_description": exc.description})


def _same(given: str, saved: str | None) -> bool:
    return saved is not None and hmac.compare_digest(given.encode(), saved.encode())


class BitrixApp:
    """A Bitrix24 application's handler side: declared robots, install/uninstall, events and replies.

    ``client_id``/``client_secret`` are the app's OAuth credentials (each portal's client refreshes its
    tokens with them at ``token_url``); ``handler_url`` is where the portal POSTs (registered by
    :meth:`sync`); ``token_store_for(member_id)`` makes each portal's token store (in memory by default);
    replies wait up to ``reply_window`` seconds to share a ``batch`` with other replies to that portal;
    ``sync_on_install`` registers the declared robots when a portal installs the app.
    """

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        handler_url: str,
        token_store_for: Callable[[str], TokenStore] | None = None,
        token_url: str = DEFAULT_TOKEN_URL,
        limiter: LimiterOption = "standard",
        reply_window: float = 0.25,
        sync_on_install: bool = False,
    ) -> None:
        for name, value in (("client_id", client_id), ("client_secret", client_secret)):
            if not isinstance(value, str) or not value:
                raise ConfigurationError(f"{name} must be a non-empty string")
        if not isinstance(handler_url, str) or not handler_url.startswith(("http://", "https://")):
            raise ConfigurationError("handler_url must be the absolute URL the portal POSTs to")
        if not 0 <= reply_window <= 1:
            raise ConfigurationError(f"reply_window must be between 0 and 1 second, got {reply_window!r}")
        self.client_id = client_id
        self._client_secret = client_secret
        self.handler_url = handler_url
        self.token_url = token_url
        self.limiter: LimiterOption = limiter
        self.reply_window = reply_window
        self.sync_on_install = sync_on_install
        self._token_store_for = token_store_for
        self._stores: dict[str, TokenStore] = {}
        self._clients: dict[str, BizprocClient] = {}
        self._declarations: dict[str, Declaration] = {}
        self._event_handlers: dict[str, list[EventHandler]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # ---- declaring -------------------------------------------------------------------------------------

    @property
    def declarations(self) -> list[Declaration]:
        """The declared robots and activities, in declaration order."""
        return list(self._declarations.values())

    def add(self, declaration: Declaration) -> Declaration:
        """Declare a robot or activity (codes are unique across both)."""
        if declaration.code in self._declarations:
            raise ConfigurationError(f"code {declaration.code!r} is declared twice")
        self._declarations[declaration.code] = declaration
        return declaration

    def robot(
        self,
        code: str,
        *,
        name: LocalizedText,
        properties: Properties | None = None,
        return_properties: Properties | None = None,
        use_subscription: bool = True,
        description: LocalizedText | None = None,
        document_type: Sequence[str] | None = None,
        filter: Mapping[str, Any] | None = None,
        auth_user_id: int | None = None,
        kind: str = "robot",
    ) -> Callable[[RobotHandler], RobotHandler]:
        """Decorator: ``@app.robot("md5", name=..., properties=..., return_properties=...)``."""

        def register(handler: RobotHandler) -> RobotHandler:
            self.add(
                Declaration(
                    code=code,
                    name=name,
                    handler=handler,
                    kind=kind,
                    properties=properties or {},
                    return_properties=return_properties or {},
                    use_subscription=use_subscription,
                    description=description,
                    document_type=document_type,
                    filter=filter,
                    auth_user_id=auth_user_id,
                )
            )
            return handler

        return register

    def activity(self, code: str, **options: Any) -> Callable[[RobotHandler], RobotHandler]:
        """Decorator for a workflow-designer activity; the same options as :meth:`robot`."""
        return self.robot(code, kind="activity", **options)

    def on_event(self, event: str) -> Callable[[EventHandler], EventHandler]:
        """Decorator: run ``handler(event)`` for a verified event (``ONAPPINSTALL`` too, after saving)."""

        def register(handler: EventHandler) -> EventHandler:
            self._event_handlers.setdefault(event.upper(), []).append(handler)
            return handler

        return register

    # ---- portals -----------------------------------------------------------------------------------------

    def token_store(self, member_id: str) -> TokenStore:
        """The token store of one portal (made by ``token_store_for``; in memory by default)."""
        store = self._stores.get(member_id)
        if store is None:
            store = self._token_store_for(member_id) if self._token_store_for else MemoryTokenStore()
            self._stores[member_id] = store
        return store

    async def installation(self, member_id: str) -> OAuthTokens | None:
        """The saved tokens (with the application token) of a portal, or ``None`` if not installed."""
        return await self.token_store(member_id).load()

    def client_for(self, member_id: str) -> BizprocClient:
        """The one client of that portal (from its saved tokens), made on first use and kept."""
        client = self._clients.get(member_id)
        if client is None:
            client = BizprocClient.from_oauth(
                client_id=self.client_id,
                client_secret=self._client_secret,
                token_store=self.token_store(member_id),
                token_url=self.token_url,
                limiter=self.limiter,
                auto_batch=True,
            )
            client.auto_batch_window = self.reply_window
            self._clients[member_id] = client
        return client

    async def sync(self, member_id: str, *, remove_stale: bool = False) -> SyncReport:
        """Register the declared robots/activities on that portal (idempotent: :func:`sync_declarations`)."""
        return await sync_declarations(
            self.client_for(member_id), self.declarations, self.handler_url, remove_stale=remove_stale
        )

    async def _forget_client(self, member_id: str) -> None:
        client = self._clients.pop(member_id, None)
        if client is not None:
            await client.aclose()

    # ---- what the portal sends -------------------------------------------------------------------------

    async def handle(self, headers: Mapping[str, str], body: bytes) -> AppResponse:
        """Answer one request to the handler URL; refusals (401/400/404) run nothing."""
        try:
            return await self._handle(headers, body)
        except ForgedRequestError as exc:
            log.warning("refused a request that is not the portal's: %s", exc.description)
            return _refusal(exc, 401)
        except MalformedRequestError as exc:
            log.warning("refused a malformed request: %s", exc.description)
            return _refusal(exc, 400)
        except UnknownRobotError as exc:
            log.warning("refused a call of an unknown robot: %s", exc.description)
            return _refusal(exc, 404)

    async def _handle(self, headers: Mapping[str, str], body: bytes) -> AppResponse:
        parsed = parse_request(headers, body)
        if isinstance(parsed, InstallEvent):
            await self._install(parsed)
        elif isinstance(parsed, RobotRequest):
            await self._verify(parsed.auth.member_id, parsed.auth.application_token)
            self._start(self._robot_call(parsed))
            return AppResponse(200, {"result": "accepted"})
        else:
            await self._verify(parsed.auth.member_id, parsed.auth.application_token)
            if isinstance(parsed, UninstallEvent):
                await self._uninstall(parsed)
        for handler in self._event_handlers.get(parsed.event, ()):
            await handler(parsed)
        return AppResponse(200, {"result": "ok"})

    async def _verify(self, member_id: str, application_token: str) -> OAuthTokens:
        saved = await self.installation(member_id)
        if saved is None or not _same(application_token, saved.application_token):
            raise ForgedRequestError(
                "auth[application_token] does not match the one saved at install", code="FORGED_REQUEST"
            )
        return saved

    async def _install(self, event: InstallEvent) -> None:
        tokens = event.auth.tokens()
        if tokens is None:
            raise MalformedRequestError("the install event carries no token pair", code="MALFORMED_REQUEST")
        saved = await self.installation(event.auth.member_id)
        if saved is not None and not _same(event.auth.application_token, saved.application_token):
            raise ForgedRequestError(
                "this portal is installed with another application token", code="FORGED_REQUEST"
            )
        await self._forget_client(event.auth.member_id)
        await self.token_store(event.auth.member_id).save(tokens)
        log.info("installed on portal %s", event.auth.member_id)
        if self.sync_on_install:
            await self.sync(event.auth.member_id)

    async def _uninstall(self, event: UninstallEvent) -> None:
        member = event.auth.member_id
        await self._forget_client(member)
        store = self.token_store(member)
        delete = getattr(store, "delete", None)
        if not callable(delete):
            raise ConfigurationError(f"{type(store).__name__} cannot delete tokens: add a delete() method")
        await delete()
        log.info("uninstalled from portal %s", member)

    def _robot_call(self, request: RobotRequest) -> RobotCall:
        declaration = self._declarations.get(request.code)
        if declaration is None:
            raise UnknownRobotError(f"no robot or activity {request.code!r} here", code="UNKNOWN_ROBOT")
        properties = properties_from_portal(declaration.properties, request.properties)
        return RobotCall(request, declaration, properties, self._send_reply)

    async def _send_reply(
        self, request: RobotRequest, values: dict[str, Any] | None, log_message: str | None
    ) -> bool:
        client = self.client_for(request.auth.member_id)
        return await client.events.send(request.event_token, values, log_message=log_message)

    def _start(self, call: RobotCall) -> None:
        task = asyncio.get_running_loop().create_task(self._run(call))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, call: RobotCall) -> None:
        try:
            values = await call.declaration.handler(call)
            if values is not None and not call.replied and call.request.use_subscription:
                await call.reply(values)
        except Exception:
            log.exception("robot %r failed on workflow %s", call.code, call.workflow_id)

    async def run_call(self, call: RobotCall) -> None:
        """Run a call's handler now (what :meth:`handle` does in the background), for tests and tools."""
        await self._run(call)

    async def drain(self) -> None:
        """Wait until every handler started so far has finished."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def aclose(self) -> None:
        """Finish running handlers, then close every portal's client."""
        await self.drain()
        for member in list(self._clients):
            await self._forget_client(member)

    def __repr__(self) -> str:
        return (
            f"BitrixApp(client_id={self.client_id!r}, handler_url={self.handler_url!r}, "
            f"declarations={list(self._declarations)!r})"
        )
