"""``BitrixApp``: the robots and activities an app declares, and everything the portal sends to it.

``await app.handle(headers, body)`` is the framework-neutral entry point the adapters call
(:mod:`.aiohttp`, :mod:`.asgi`): it parses the request, checks ``auth[application_token]`` against the one
saved at install (constant time), and only then runs anything. The portals live in a
:class:`~bitrix_bizproc.fleet.Fleet`, the app's own or one given to it: install saves the portal's tokens
with the application token in the fleet's store (keyed by ``member_id``), uninstall removes them and closes
the portal's client, and replies go through the fleet's one client per portal, whose concurrent calls share
``batch`` requests.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import attrs

from .._auth import TokenStore
from .._client import BizprocClient, _check_allow_http
from .._tasks import wait_for_all
from ..fleet import Fleet, MemoryPortalStore, PortalTokenStore
from ..fleet.stores import domain_of
from ..models.activity import Property
from ..models.converter import LocalizedText
from ..protocol.auth import DEFAULT_TOKEN_URL, OAuthTokens
from ..protocol.errors import BitrixError, ConfigurationError, ConfigurationTypeError
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
    :meth:`sync`); ``sync_on_install`` registers the declared robots when a portal installs the app.

    The portals' tokens and clients: give ``fleet`` (a :class:`Fleet` of the same ``client_id``, made with
    ``auto_batch=True``) to share its store, clients, connection pool and per-portal plans and stats with
    the rest of the process; it stays open when the app closes. Without one the app keeps a private fleet
    over ``store`` (a :class:`PortalTokenStore`, in memory by default), paced at ``limiter``, whose
    clients' replies wait up to ``reply_window`` seconds to share a ``batch``; the app closes it.
    ``allow_http`` accepts installs of self-hosted portals whose ``client_endpoint`` is plain http (off by
    default: an http endpoint is refused as malformed); a given fleet must allow http too.
    """

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        handler_url: str,
        fleet: Fleet | None = None,
        store: PortalTokenStore | None = None,
        token_url: str = DEFAULT_TOKEN_URL,
        limiter: LimiterOption = "standard",
        reply_window: float = 0.25,
        sync_on_install: bool = False,
        allow_http: bool = False,
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
        self.allow_http = _check_allow_http(allow_http)
        if fleet is not None:
            if store is not None and store is not fleet.store:
                raise ConfigurationError("give the fleet or a store, not both: the fleet has its store")
            if fleet.client_id != client_id:
                raise ConfigurationError("the fleet serves another app: its client_id is not this app's")
            if allow_http and not fleet.allow_http:
                raise ConfigurationError("allow_http=True needs a fleet made with allow_http=True too")
            if not fleet.auto_batch:
                raise ConfigurationError(
                    "the fleet's clients do not coalesce replies: make it with Fleet(..., auto_batch=True)"
                )
        if store is not None and not callable(getattr(store, "for_portal", None)):
            raise ConfigurationTypeError(
                f"store must be a PortalTokenStore of many portals (MemoryPortalStore, FilePortalStore, "
                f"RedisPortalStore), not {type(store).__name__}"
            )
        if fleet is not None:
            store = fleet.store
        self.store: PortalTokenStore = store if store is not None else MemoryPortalStore()
        self._given_fleet = fleet
        self._own_fleet: Fleet | None = None
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

    @property
    def fleet(self) -> Fleet:
        """The fleet holding the portals' tokens and clients: the one given, else the app's own."""
        if self._given_fleet is not None:
            return self._given_fleet
        if self._own_fleet is None:
            self._own_fleet = Fleet(
                self.store,
                client_id=self.client_id,
                client_secret=self._client_secret,
                token_url=self.token_url,
                plan=self.limiter,
                idle_timeout=None,
                auto_batch=True,
                auto_batch_window=self.reply_window,
                allow_http=self.allow_http,
            )
        return self._own_fleet

    def token_store(self, member_id: str) -> TokenStore:
        """The single-portal token store of one portal (its slice of :attr:`store`)."""
        return self.store.for_portal(member_id)

    async def installation(self, member_id: str) -> OAuthTokens | None:
        """The saved tokens (with the application token) of a portal, or ``None`` if not installed."""
        return await self.store.load(member_id)

    async def client_for(self, member_id: str) -> BizprocClient:
        """The fleet's one client of that portal (from its saved tokens), made on first use."""
        return await self.fleet.client(member_id)

    async def sync(self, member_id: str, *, remove_stale: bool = False) -> SyncReport:
        """Register the declared robots/activities on that portal (idempotent: :func:`sync_declarations`)."""
        async with self.fleet.lease(member_id) as client:
            return await sync_declarations(
                client, self.declarations, self.handler_url, remove_stale=remove_stale
            )

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
        tokens = event.auth.tokens(allow_http=self.allow_http)
        if tokens is None:
            raise MalformedRequestError("the install event carries no token pair", code="MALFORMED_REQUEST")
        saved = await self.installation(event.auth.member_id)
        if saved is not None and not _same(event.auth.application_token, saved.application_token):
            raise ForgedRequestError(
                "this portal is installed with another application token", code="FORGED_REQUEST"
            )
        try:
            domain = domain_of(tokens, event.auth.domain)
        except ConfigurationError:
            raise MalformedRequestError(
                "auth[domain] is not a portal domain", code="MALFORMED_REQUEST"
            ) from None
        await self.fleet.save(event.auth.member_id, tokens, domain=domain)
        log.info("installed on portal %s", event.auth.member_id)
        if self.sync_on_install:
            await self.sync(event.auth.member_id)

    async def _uninstall(self, event: UninstallEvent) -> None:
        await self.fleet.remove(event.auth.member_id)
        log.info("uninstalled from portal %s", event.auth.member_id)

    def _robot_call(self, request: RobotRequest) -> RobotCall:
        declaration = self._declarations.get(request.code)
        if declaration is None:
            raise UnknownRobotError(f"no robot or activity {request.code!r} here", code="UNKNOWN_ROBOT")
        properties = properties_from_portal(declaration.properties, request.properties)
        return RobotCall(request, declaration, properties, self._send_reply)

    async def _send_reply(
        self, request: RobotRequest, values: dict[str, Any] | None, log_message: str | None
    ) -> bool:
        async with self.fleet.lease(request.auth.member_id) as client:
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
        await wait_for_all(self._tasks)

    async def aclose(self) -> None:
        """Finish running handlers, then close the app's own fleet (a given fleet stays open)."""
        await self.drain()
        own, self._own_fleet = self._own_fleet, None
        if own is not None:
            await own.aclose()

    def __repr__(self) -> str:
        return (
            f"BitrixApp(client_id={self.client_id!r}, handler_url={self.handler_url!r}, "
            f"declarations={list(self._declarations)!r})"
        )
