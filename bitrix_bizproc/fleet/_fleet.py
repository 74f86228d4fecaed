"""The fleet: a pool of portal clients keyed by ``member_id``, made on first use, closed when idle."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from types import TracebackType
from typing import Any

import aiohttp
import attrs

from .._client import BizprocClient, SslOption, _check_allow_http, _ssl_context
from .._limiter import SharedBucket
from .._observe import Hook
from .._stats import Stats
from ..protocol.auth import DEFAULT_TOKEN_URL, OAuthTokens
from ..protocol.errors import ConfigurationError, NotFoundError
from ..protocol.limits import BucketSpec, LimiterOption, bucket_spec
from ..protocol.retry import RetryPolicy
from .stores import PortalTokenStore, check_member_id

__all__ = ["Fleet", "PortalNotFoundError", "SharedBucketFactory"]

logger = logging.getLogger("bitrix_bizproc")

SharedBucketFactory = Callable[[str, BucketSpec], SharedBucket]


class PortalNotFoundError(NotFoundError):
    """The token store knows no portal by that ``member_id`` or domain (never installed, or uninstalled)."""


@attrs.define(eq=False)
class _Entry:
    client: BizprocClient
    last_used: float
    leases: int = 0
    retired: bool = False  # replaced by a reinstall while leased: closed when its last lease ends


def add_stats(into: Stats, other: Stats) -> None:
    """Add every counter of ``other`` to ``into``."""
    for field in attrs.fields(Stats):
        mine, theirs = getattr(into, field.name), getattr(other, field.name)
        if isinstance(mine, Counter):
            mine.update(theirs)
        else:
            setattr(into, field.name, mine + theirs)


class Fleet:
    """Clients of many portals of one OAuth app: ``async with fleet.lease(member_id) as client: ...``.

    Each portal gets its own client on first use, built from ``store`` (its tokens, which it refreshes on
    its own, single-flight) and its own limiter at its plan (``plans[member_id]``, else ``plan``: a preset
    name, ``"off"`` for self-hosted portals without limits, or a :class:`BucketSpec`). With
    ``shared_bucket`` every limited portal's bucket lives outside the process (e.g. a ``RedisBucket``), so
    several processes keep each portal under its limit together. All clients share one aiohttp connection
    pool of ``pool_size`` connections (waiting for one counts toward a request's ``timeout``). A client
    unused for ``idle_timeout`` seconds (and not leased) is closed; the next use makes a new one.
    With ``auto_batch`` each client groups concurrent calls that arrive within ``auto_batch_window``
    seconds into shared ``batch`` requests (what an app's replies to robot calls want).
    Per-portal stats outlive their clients.

    Every client it builds gets ``hooks`` (observers of each request, answer, retry and wait, as on
    :class:`BizprocClient`) and ``allow_http`` (plain ``http://`` endpoints and ``token_url`` for hosts other
    than loopback: self-hosted portals on an intranet). ``ssl`` (an ``ssl.SSLContext`` or the path of a
    CA bundle) goes on the shared connection pool, so every portal is reached with it (portals behind a
    custom CA); with your own ``http_session``, set it there instead.
    """

    def __init__(
        self,
        store: PortalTokenStore,
        *,
        client_id: str,
        client_secret: str,
        token_url: str = DEFAULT_TOKEN_URL,
        plan: LimiterOption = "standard",
        plans: Mapping[str, LimiterOption] | None = None,
        shared_bucket: SharedBucketFactory | None = None,
        idle_timeout: float | None = 300.0,
        http_session: aiohttp.ClientSession | None = None,
        pool_size: int = 1000,
        timeout: float | None = 30,
        retry: RetryPolicy | None = None,
        operating_limit: float | None = 480.0,
        auto_batch: bool = False,
        auto_batch_window: float = 0.005,
        idle_clock: Callable[[], float] = time.monotonic,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        hooks: Iterable[Hook] = (),
        allow_http: bool = False,
        ssl: SslOption = None,
    ) -> None:
        self.allow_http = _check_allow_http(allow_http)
        self._ssl = _ssl_context(ssl, http_session)
        self._hooks = tuple(hooks)
        if idle_timeout is not None and not idle_timeout > 0:
            raise ConfigurationError(f"idle_timeout must be positive or None, got {idle_timeout!r}")
        bucket_spec(plan)  # a bad default plan fails here, not at the first portal
        if not 0 <= auto_batch_window <= 1:
            raise ConfigurationError(f"auto_batch_window must be 0 to 1 second, got {auto_batch_window!r}")
        self.store = store
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_url = token_url
        self.plan = plan
        self._plans: dict[str, LimiterOption] = {}
        for member_id, option in (plans or {}).items():
            self.set_plan(member_id, option)
        self._shared_bucket = shared_bucket
        self.idle_timeout = idle_timeout
        self._http = http_session
        self._owns_http = http_session is None
        self._pool_size = pool_size
        self._timeout = timeout
        self._retry = retry
        self._operating_limit = operating_limit
        self.auto_batch = auto_batch
        self.auto_batch_window = auto_batch_window
        self._idle_clock = idle_clock
        self._clock = clock
        self._sleep = sleep
        self._entries: dict[str, _Entry] = {}
        self._making: dict[str, asyncio.Future[_Entry]] = {}
        self._retired: dict[str, Stats] = {}
        self._retiring: dict[str, list[_Entry]] = {}  # replaced while leased, still serving their leases
        self._sweeper: asyncio.Task[None] | None = None
        self._closed = False

    # -- plans ----------------------------------------------------------------------------------
    def set_plan(self, member_id: str, plan: LimiterOption) -> None:
        """Set the portal's plan (``"standard"``, ``"enterprise"``, ``"off"``, a BucketSpec)."""
        bucket_spec(plan)
        self._plans[check_member_id(member_id)] = plan

    def plan_of(self, member_id: str) -> LimiterOption:
        """The plan the portal's client is paced at."""
        return self._plans.get(member_id, self.plan)

    # -- clients --------------------------------------------------------------------------------
    async def client(self, member_id: str | None = None, *, domain: str | None = None) -> BizprocClient:
        """The portal's client (made from the store on first use); prefer :meth:`lease` for long work."""
        return (await self._entry(await self.resolve(member_id, domain=domain))).client

    @contextlib.asynccontextmanager
    async def lease(
        self, member_id: str | None = None, *, domain: str | None = None
    ) -> AsyncIterator[BizprocClient]:
        """``async with fleet.lease(m) as client:`` the client is not closed as idle while leased."""
        member = await self.resolve(member_id, domain=domain)
        entry = await self._entry(member)
        entry.leases += 1
        try:
            yield entry.client
        finally:
            entry.leases -= 1
            entry.last_used = self._idle_clock()
            if entry.retired and entry.leases == 0:
                await self._close_retiring(member, entry)

    async def resolve(self, member_id: str | None = None, *, domain: str | None = None) -> str:
        """The ``member_id`` named directly or by ``domain``."""
        if (member_id is None) == (domain is None):
            raise ConfigurationError("name the portal by member_id or by domain (one of them)")
        if member_id is not None:
            return check_member_id(member_id)
        assert domain is not None
        found = await self.store.member_for_domain(domain)
        if found is None:
            raise PortalNotFoundError(f"no portal at {domain!r} in the token store", code="PORTAL_NOT_FOUND")
        return found

    async def _entry(self, member_id: str) -> _Entry:
        if self._closed:
            raise RuntimeError("the fleet is closed")
        entry = self._entries.get(member_id)
        if entry is None:
            making = self._making.get(member_id)
            if making is None:  # one client per portal however many callers ask at once
                making = self._making[member_id] = asyncio.get_running_loop().create_future()
                try:
                    entry = await self._make(member_id)
                except BaseException as exc:
                    making.set_exception(exc)
                    making.exception()  # retrieved: nobody else may be waiting
                    raise
                finally:
                    del self._making[member_id]
                making.set_result(entry)
            else:
                entry = await asyncio.shield(making)
        entry.last_used = self._idle_clock()
        self._start_sweeper()
        return entry

    async def _make(self, member_id: str) -> _Entry:
        if await self.store.load(member_id) is None:
            raise PortalNotFoundError(
                f"portal {member_id!r} has no tokens in the store (not installed, or uninstalled)",
                code="PORTAL_NOT_FOUND",
            )
        plan = self.plan_of(member_id)
        spec = bucket_spec(plan)
        limiter: LimiterOption | SharedBucket = plan
        if spec is not None and self._shared_bucket is not None:
            limiter = self._shared_bucket(member_id, spec)
        client = BizprocClient.from_oauth(
            client_id=self.client_id,
            client_secret=self.client_secret,
            token_store=self.store.for_portal(member_id),
            token_url=self.token_url,
            limiter=limiter,
            retry=self._retry,
            timeout=self._timeout,
            http_session=self._http_session(),
            operating_limit=self._operating_limit,
            auto_batch=self.auto_batch,
            clock=self._clock,
            sleep=self._sleep,
            allow_http=self.allow_http,
            hooks=self._hooks,
        )
        client.auto_batch_window = self.auto_batch_window
        entry = _Entry(client, self._idle_clock())
        self._entries[member_id] = entry
        return entry

    def _http_session(self) -> aiohttp.ClientSession:
        if self._http is None:
            connector = aiohttp.TCPConnector(
                limit=self._pool_size, ttl_dns_cache=300, ssl=self._ssl if self._ssl is not None else True
            )
            self._http = aiohttp.ClientSession(
                connector=connector, timeout=aiohttp.ClientTimeout(total=self._timeout)
            )
        return self._http

    # -- install, uninstall, idle ---------------------------------------------------------------
    async def save(self, member_id: str, tokens: OAuthTokens, *, domain: str | None = None) -> None:
        """Store a portal's new tokens (an install or reinstall); a live client of it is replaced.

        New leases get a new client; a leased one keeps serving its jobs (it takes the new pair from the
        store when the old one is refused) and is closed when its last lease ends.
        """
        await self.store.save(check_member_id(member_id), tokens, domain=domain)
        entry = self._entries.get(member_id)
        if entry is not None and entry.leases > 0:
            del self._entries[member_id]
            entry.retired = True
            self._retiring.setdefault(member_id, []).append(entry)
            return
        await self._close(member_id)

    async def remove(self, member_id: str) -> None:
        """The app was removed from the portal: forget its tokens and close its client."""
        await self.store.remove(check_member_id(member_id))
        await self._close(member_id)

    async def close_idle(self) -> int:
        """Close every client unused for ``idle_timeout`` and not leased; how many were closed."""
        if self.idle_timeout is None:
            return 0
        cutoff = self._idle_clock() - self.idle_timeout
        idle = [m for m, e in self._entries.items() if e.leases == 0 and e.last_used <= cutoff]
        for member_id in idle:
            await self._close(member_id)
        return len(idle)

    async def _close_retiring(self, member_id: str, entry: _Entry) -> None:
        retiring = self._retiring.get(member_id, [])
        if entry in retiring:
            retiring.remove(entry)
            if not retiring:
                del self._retiring[member_id]
            await self._close_entry(member_id, entry)

    async def _close(self, member_id: str) -> None:
        entry = self._entries.pop(member_id, None)
        if entry is not None:
            await self._close_entry(member_id, entry)

    async def _close_entry(self, member_id: str, entry: _Entry) -> None:
        add_stats(self._retired.setdefault(member_id, Stats()), entry.client.stats)
        try:
            await entry.client.aclose()
        except Exception:  # one portal's close must not stop the others'
            logger.exception("closing the client of portal %s failed", member_id)

    def _start_sweeper(self) -> None:
        if self.idle_timeout is None or (self._sweeper is not None and not self._sweeper.done()):
            return
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep(self.idle_timeout))

    async def _sweep(self, idle_timeout: float) -> None:
        while self._entries:
            await asyncio.sleep(idle_timeout / 2)
            await self.close_idle()

    # -- stats ----------------------------------------------------------------------------------
    @property
    def open_clients(self) -> list[str]:
        """The portals whose client is open now."""
        return sorted(self._entries)

    def stats(self, member_id: str) -> Stats:
        """The portal's counters so far (closed clients of it included)."""
        total = Stats()
        retired = self._retired.get(member_id)
        if retired is not None:
            add_stats(total, retired)
        live = [self._entries[member_id]] if member_id in self._entries else []
        for entry in [*live, *self._retiring.get(member_id, [])]:
            add_stats(total, entry.client.stats)
        return total

    def stats_by_portal(self) -> dict[str, dict[str, Any]]:
        """Every portal's counters as JSON-ready snapshots."""
        members = sorted(set(self._retired) | set(self._entries) | set(self._retiring))
        return {m: self.stats(m).snapshot() for m in members}

    # -- closing --------------------------------------------------------------------------------
    async def aclose(self) -> None:
        """Close every client, then the connection pool (if the fleet made it)."""
        self._closed = True
        sweeper, self._sweeper = self._sweeper, None
        if sweeper is not None:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
        for member_id in list(self._entries):
            await self._close(member_id)
        for member_id, entries in list(self._retiring.items()):
            for entry in entries:
                await self._close_entry(member_id, entry)
        self._retiring.clear()
        if self._owns_http and self._http is not None:
            await self._http.close()
        self._http = None if self._owns_http else self._http

    async def __aenter__(self) -> Fleet:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"Fleet({self.store!r}, client_id={self.client_id!r}, open={len(self._entries)})"
