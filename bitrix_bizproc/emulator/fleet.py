"""Many emulated portals behind one server, each with its own state, limits and tokens.

Portal ``m`` answers under ``/<m>/rest/...`` (its ``client_endpoint``); the token server is shared, as
``oauth.bitrix.info`` is: ``/oauth/token/`` finds the portal that issued the code or refresh token. By
default every portal has the same OAuth app installed (one market app serving many portals)::

    async with EmulatedFleet() as fleet:
        portal = fleet.add_portal("member-1", PortalConfig(plan=STANDARD))
        tokens = fleet.issue_tokens("member-1")       # client_endpoint = fleet.rest_url("member-1")
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any

import attrs
from aiohttp import web

from .app import RestHandler, json_response, read_params
from .auth import OAuthApp
from .clock import system_clock
from .config import PortalConfig
from .context import PortalError
from .portal import EmulatedPortal

__all__ = ["EmulatedFleet"]


def _not_found() -> web.Response:
    return json_response({"error": "NOT_FOUND", "error_description": "Portal not found"}, 404)


class EmulatedFleet:
    """Emulated portals keyed by ``member_id``, served together from one loopback port."""

    def __init__(
        self,
        *,
        app: OAuthApp | None = None,
        clock: Callable[[], float] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.clock: Callable[[], float] = clock if clock is not None else system_clock
        self.app = app or OAuthApp(
            client_id=f"app.{secrets.token_hex(7)}.{secrets.randbelow(10**8):08d}",
            client_secret=secrets.token_urlsafe(36)[:50],
            scopes=PortalConfig().default_scopes,
        )
        self._portals: dict[str, EmulatedPortal] = {}
        self._handlers: dict[str, RestHandler] = {}
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self.web_app = web.Application(client_max_size=1 << 30)
        self.web_app.router.add_route("*", "/oauth/token/", self._token)
        self.web_app.router.add_route("*", "/oauth/token", self._token)
        self.web_app.router.add_route("*", "/{member_id}/rest/{tail:.*}", self._rest)

    # -- portals --------------------------------------------------------------------------------
    def add_portal(
        self, member_id: str | None = None, config: PortalConfig | None = None, *, own_app: bool = False
    ) -> EmulatedPortal:
        """A new portal (its own state, bucket, counters and tokens); ``own_app`` gives it a local app."""
        member_id = member_id or secrets.token_hex(16)
        if member_id in self._portals:
            raise ValueError(f"portal {member_id!r} exists already")
        config = config if config is not None else PortalConfig()
        config = attrs.evolve(config, member_id=member_id, domain=f"{member_id}.bitrix24.local")
        portal = EmulatedPortal(config, clock=self.clock)
        if not own_app:
            portal.auth.app = self.app
        self._portals[member_id] = portal
        self._handlers[member_id] = RestHandler(portal)
        self._set_endpoints(member_id, portal)
        return portal

    def remove_portal(self, member_id: str) -> EmulatedPortal:
        """Take a portal off the server; its URLs then answer 404."""
        self._handlers.pop(member_id)
        return self._portals.pop(member_id)

    def uninstall(self, member_id: str) -> None:
        """The app is removed from the portal: every token it holds stops working."""
        self._portals[member_id].auth.revoke_tokens()

    def portal(self, member_id: str) -> EmulatedPortal:
        """The portal with this ``member_id``."""
        return self._portals[member_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._portals)

    def __len__(self) -> int:
        return len(self._portals)

    def issue_tokens(self, member_id: str, user_id: int = 1) -> dict[str, Any]:
        """A fresh token pair of ``member_id``, as the token server answers (``client_endpoint`` included)."""
        return self._portals[member_id].issue_tokens(user_id)

    def _set_endpoints(self, member_id: str, portal: EmulatedPortal) -> None:
        portal.auth.rest_endpoint = self.rest_url(member_id)
        portal.auth.server_endpoint = f"{self.base_url}/oauth/rest/"

    # -- addresses ------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{self._host}:{self._port}"

    @property
    def token_url(self) -> str:
        """The shared token server."""
        return f"{self.base_url}/oauth/token/"

    def rest_url(self, member_id: str) -> str:
        """Where the OAuth calls of ``member_id`` go."""
        return f"{self.base_url}/{member_id}/rest/"

    # -- serving --------------------------------------------------------------------------------
    async def _rest(self, request: web.Request) -> web.StreamResponse:
        handler = self._handlers.get(request.match_info["member_id"])
        return _not_found() if handler is None else await handler.rest(request)

    async def _token(self, request: web.Request) -> web.StreamResponse:
        try:
            params = await read_params(request, 1 << 16)
        except PortalError as exc:
            return json_response({"error": exc.code, "error_description": exc.description}, exc.status)
        grant_type = params.get("grant_type")
        field = "code" if grant_type == "authorization_code" else "refresh_token"
        for member_id, portal in self._portals.items():
            if portal.auth.holds(grant_type, params.get(field)):
                return self._handlers[member_id].grant(params)
        return json_response({"error": "invalid_grant", "error_description": "Invalid grant"}, 400)

    async def start(self) -> None:
        """Start serving; the real port is known afterwards."""
        if self._runner is not None:
            raise RuntimeError("the fleet is already serving")
        runner = web.AppRunner(self.web_app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        for member_id, portal in self._portals.items():
            self._set_endpoints(member_id, portal)

    async def stop(self) -> None:
        """Stop serving, and every portal's robots runtime (its POSTs to app handlers)."""
        for portal in self._portals.values():
            await portal.robots.aclose()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> EmulatedFleet:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def __repr__(self) -> str:
        return f"EmulatedFleet({self.base_url!r}, portals={len(self._portals)})"
