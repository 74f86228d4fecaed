"""``EmulatedPortal``: the emulated Bitrix24 portal served on a free loopback port."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, Literal

from aiohttp import web

from .app import build_app
from .auth import AuthRegistry, OAuthApp
from .clock import system_clock
from .config import PortalConfig
from .counters import Counters
from .faults import Faults
from .handlers import dispatch
from .limits import LeakyBucket, OperatingBudget
from .robots_runtime import RobotsRuntime
from .runner import Dispatcher, MethodRunner
from .state import PortalState
from .vibecode import GATEWAY_KEY, VibecodeGateway

__all__ = ["EmulatedPortal", "create_app"]


def _admin_lookup(state: Any) -> Callable[[int], bool]:
    """Whether a user is an admin, from the state's users (user 1 is an admin when unknown)."""

    def admin_of(user_id: int) -> bool:
        lookup = getattr(getattr(state, "users", None), "get", None)
        user = lookup(user_id) if callable(lookup) else None
        if user is None:
            return user_id == 1
        return bool(getattr(user, "is_admin", False))

    return admin_of


def _reachable(host: str) -> str:
    """The URL host a client can connect to for a bind address (a wildcard bind means every interface)."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


class EmulatedPortal:
    """A Bitrix24 portal over real HTTP: ``async with EmulatedPortal() as portal: portal.webhook_url``."""

    def __init__(
        self,
        config: PortalConfig | None = None,
        *,
        clock: Callable[[], float] | None = None,
        state: PortalState | None = None,
        dispatcher: Dispatcher | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._config = config if config is not None else PortalConfig()
        self.clock: Callable[[], float] = clock if clock is not None else system_clock
        self.state: PortalState = state if state is not None else PortalState(self.clock)
        dispatcher = dispatcher if dispatcher is not None else dispatch
        self.counters = Counters()
        self.faults = Faults()
        self.bucket = LeakyBucket()
        self.budget = OperatingBudget()
        self.auth = AuthRegistry(self._config, self.clock)
        self.runner = MethodRunner(
            config=self._config,
            state=self.state,
            clock=self.clock,
            dispatcher=dispatcher,
            counters=self.counters,
            budget=self.budget,
            admin_of=_admin_lookup(self.state),
        )
        self._admin_hook = self.auth.add_webhook(1)
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self.app = build_app(self)
        self.robots = RobotsRuntime(self)  # POSTs to app robots' handlers; install/uninstall events

    @property
    def config(self) -> PortalConfig:
        """The live settings; change fields in place or assign a new config."""
        return self._config

    @config.setter
    def config(self, config: PortalConfig) -> None:
        self._config = config
        self.runner.config = config
        self.auth.config = config

    # -- serving --------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start serving; the real port is known afterwards."""
        if self._runner is not None:
            raise RuntimeError("the portal is already serving")
        runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        self.auth.rest_endpoint = f"{self.base_url}/rest/"
        self.auth.server_endpoint = f"{self.base_url}/oauth/rest/"

    async def stop(self) -> None:
        """Stop serving and close open connections."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> EmulatedPortal:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # -- addresses and credentials --------------------------------------------------------------
    @property
    def port(self) -> int:
        """The TCP port served (0 before ``start``)."""
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``; a wildcard bind (``0.0.0.0``, ``::``) is reached on loopback."""
        return f"http://{_reachable(self._host)}:{self._port}"

    @property
    def webhook_url(self) -> str:
        """The admin's (user 1) incoming webhook, ``http://127.0.0.1:<port>/rest/1/<code>/``."""
        return self._hook_url(self._admin_hook.user_id, self._admin_hook.code)

    @property
    def rest_url(self) -> str:
        """Where OAuth calls go (the token server's ``client_endpoint``)."""
        return f"{self.base_url}/rest/"

    @property
    def token_url(self) -> str:
        """The token server, ``http://127.0.0.1:<port>/oauth/token/``."""
        return f"{self.base_url}/oauth/token/"

    @property
    def oauth_app(self) -> OAuthApp:
        """The installed OAuth app (``client_id``, ``client_secret``)."""
        return self.auth.app

    def _hook_url(self, user_id: int, code: str) -> str:
        return f"{self.base_url}/rest/{user_id}/{code}/"

    def add_webhook(
        self, user_id: int, scopes: Iterable[str] | None = None, *, admin: bool | None = None
    ) -> str:
        """A new incoming webhook's URL; ``admin`` None means as the user is in the state."""
        hook = self.auth.add_webhook(user_id, scopes, admin=admin)
        return self._hook_url(hook.user_id, hook.code)

    def issue_tokens(self, user_id: int = 1, scopes: Iterable[str] | None = None) -> dict[str, Any]:
        """A fresh access/refresh token pair, as the token server would answer."""
        return self.auth.issue_tokens(user_id, scopes)

    def authorize(self, user_id: int = 1, scopes: Iterable[str] | None = None) -> str:
        """An authorization code for the ``authorization_code`` grant (lives 30 s on the emulator clock)."""
        return self.auth.authorize(user_id, scopes)

    @property
    def vibecode(self) -> VibecodeGateway:
        """The emulated Vibecode REST gateway under ``/v1``: its keys, user sessions and rate limit."""
        return self.app[GATEWAY_KEY]

    @property
    def vibecode_url(self) -> str:
        """The gateway's base URL, ``http://127.0.0.1:<port>/v1``."""
        return self.vibecode.base_url

    def add_vibecode_key(
        self,
        user_id: int = 1,
        scopes: Iterable[str] = ("bizproc", "user"),
        kind: Literal["personal", "app"] = "personal",
        **options: Any,
    ) -> str:
        """A new gateway API key (``vibe_api_...``, or ``vibe_app_...`` for ``kind="app"``) of ``user_id``."""
        return self.vibecode.add_key(user_id, scopes, kind, **options)

    def reset_limits(self) -> None:
        """Empty the leaky bucket and forget all operating time."""
        self.bucket.reset()
        self.budget.reset()

    def __repr__(self) -> str:
        return f"EmulatedPortal({self.base_url!r}, plan={self.config.plan.name!r})"


def create_app(portal: EmulatedPortal | None = None) -> web.Application:
    """The aiohttp application serving ``portal`` (a new default one when omitted)."""
    return build_app(portal if portal is not None else EmulatedPortal())
