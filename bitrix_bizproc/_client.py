"""The client users hold: a session plus the service namespaces, from a webhook, an OAuth app or Vibecode."""

from __future__ import annotations

import asyncio
import os
import ssl as _ssl
import time
import warnings
from collections.abc import Awaitable, Callable, Generator, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import aiohttp

from ._auth import Authenticator, MemoryTokenStore, OAuthAuth, TokenCallback, TokenStore, WebhookAuth
from ._call import Call, Pending
from ._coalescer import Queued
from ._limiter import Limiter, SharedBucket, resolve_bucket
from ._observe import Hook
from ._session import Session
from ._stats import Stats
from ._transport import AiohttpTransport, Transport
from ._vibecode import vibecode_session
from .protocol.auth import DEFAULT_TOKEN_URL, OAuthApp, OAuthTokens, WebhookCredentials, check_base_url
from .protocol.envelope import ApiResponse
from .protocol.errors import (
    AccessDeniedError,
    BitrixError,
    ConfigurationError,
    ConfigurationTypeError,
)
from .protocol.limits import LimiterOption
from .protocol.methods import method_info
from .protocol.retry import RetryPolicy
from .protocol.vibecode import DEFAULT_BASE_URL as VIBECODE_BASE_URL
from .services import (
    ActivitiesService,
    EventsService,
    RobotsService,
    TasksService,
    TemplatesService,
    UsersService,
    WorkflowsService,
)

if TYPE_CHECKING:
    from ._batch import BatchComposer, Coalescer
    from ._paging import Paginator

__all__ = ["BizprocClient", "DirectCall"]

T = TypeVar("T")


class DirectCall(Queued[T], Pending[T]):
    """A call sent when first awaited (once, however often it is awaited).

    The first awaiter sends it from its own task (no task of its own: ten thousand concurrent calls cost
    ten thousand tasks, not twenty); later awaiters wait for that outcome. With ``auto_batch`` the call
    itself waits in the coalescer's queue (no second object per call).
    """

    __slots__ = ("__weakref__", "_client", "_done", "_exc", "_started", "_value", "_waiters")
    _value: T | None
    _exc: BaseException | None

    def __init__(self, client: BizprocClient, call: Call[T]) -> None:
        self.call = call
        self._client = client
        self._started = False  # __del__ tells a half-built call by its absence
        self._done = False  # _value and _exc are set when it is
        self._waiters: list[asyncio.Future[None]] | None = None

    def __del__(self) -> None:
        # Like a coroutine never awaited: without ``await`` nothing is sent, so say so.
        if not getattr(self, "_started", True):
            warnings.warn(
                f"{self.call.method} was never awaited: nothing was sent (write `await client...`)",
                RuntimeWarning,
                stacklevel=2,
                source=self,
            )

    def __await__(self) -> Generator[Any, None, T]:
        # A generator, not a coroutine inside one: an awaited call's first step and its wake-up each
        # run one frame of ours. Whether it sends is decided at its first step, as an ``async def``'s is.
        if self._started:
            return (yield from self._join())
        self._started = True
        client, call = self._client, self.call
        try:
            if call.method not in client._context_ok:
                client._check_context(call.method)
            if (
                client.auto_batch
                and call.batchable
                and (coalescer := client._coalescer or client._get_coalescer()).enqueue(self)
            ):
                try:
                    value = yield from self._future  # parsed by the coalescer, from the command's outcome
                except GeneratorExit:  # collected unfinished: the queue and its loop are gone too
                    raise
                except BaseException:
                    coalescer.gave_up(self)  # not sent, or recorded as sent for a caller who left
                    raise
            else:
                session = client.session
                if type(session).call is Session.call:  # a service checked the params: not again
                    wire = session.call_wire(call.method, call.params, call.idempotent)
                else:
                    wire = session.call(call.method, call.params, idempotent=call.idempotent)
                value = call.read((yield from wire.__await__()))
        except BaseException as exc:  # cancellation included: later awaiters see it too
            self._value, self._exc, self._done = None, exc, True
            if self._waiters is not None:
                self._wake()
            raise
        self._value, self._exc, self._done = value, None, True
        if self._waiters is not None:
            self._wake()
        return value

    def _wake(self) -> None:
        """Wake the later awaiters: the outcome is known."""
        waiters, self._waiters = self._waiters or [], None
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _join(self) -> Generator[Any, None, T]:
        if not self._done:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            if self._waiters is None:
                self._waiters = []
            self._waiters.append(waiter)
            yield from waiter
        return self.result()

    @property
    def done(self) -> bool:
        """Whether the outcome is known."""
        return self._done

    @property
    def error(self) -> BitrixError | None:
        """The typed error, or ``None`` on success or while not done."""
        return self._exc if self._done and isinstance(self._exc, BitrixError) else None

    @property
    def ok(self) -> bool:
        """True once the call has succeeded (a cancellation or another exception is no success)."""
        return self._done and self._exc is None

    def result(self) -> T:
        """The parsed result; raises the error, or :class:`RuntimeError` if the call has not finished."""
        if not self._done:
            raise RuntimeError(f"{self.call.method} has not finished: await it first")
        if self._exc is not None:
            raise self._exc
        return self._value  # type: ignore[return-value]

    def __repr__(self) -> str:
        state = "pending" if not self._done else ("failed" if self._exc is not None else "ok")
        return f"DirectCall({self.call.method}, {state})"


class _ClientExecutor:
    """Sends the calls that service namespaces build, directly or through the coalescer."""

    def __init__(self, client: BizprocClient) -> None:
        self.client = client

    def submit(self, call: Call[T]) -> DirectCall[T]:
        """Wrap ``call`` in a :class:`DirectCall`; it is sent when awaited."""
        return DirectCall(self.client, call)


def _check_kwargs(timeout: object, auto_batch: object, http_session: object, retry: object) -> None:
    if isinstance(timeout, bool) or not (timeout is None or isinstance(timeout, int | float)):
        raise ConfigurationTypeError(
            f"timeout must be a number of seconds or None, not {type(timeout).__name__}"
        )
    if timeout is not None and not timeout > 0:
        raise ConfigurationError(f"timeout must be positive, got {timeout!r}")
    if not isinstance(auto_batch, bool):
        raise ConfigurationTypeError(f"auto_batch must be True or False, not {type(auto_batch).__name__}")
    if http_session is not None and not isinstance(http_session, aiohttp.ClientSession):
        raise ConfigurationTypeError(
            f"http_session must be an aiohttp.ClientSession, not {type(http_session).__name__}"
        )
    if retry is not None and not isinstance(retry, RetryPolicy):
        raise ConfigurationTypeError(f"retry must be a RetryPolicy, not {type(retry).__name__}")


SslOption = _ssl.SSLContext | str | os.PathLike[str] | None


def _ssl_context(option: object, http_session: object) -> _ssl.SSLContext | None:
    """``ssl=``: a ready context, or the path of a CA bundle (PEM) to trust instead of the system's CAs."""
    if option is None:
        return None
    if http_session is not None:
        raise ConfigurationError("give ssl= or http_session=, not both (set ssl on your own session)")
    if isinstance(option, _ssl.SSLContext):
        return option
    if isinstance(option, str | os.PathLike):
        path = os.fspath(option)
        try:
            return _ssl.create_default_context(cafile=path)
        except (OSError, _ssl.SSLError) as exc:
            raise ConfigurationError(f"cannot read the CA bundle {path!r}: {exc}") from None
    raise ConfigurationTypeError(
        f"ssl must be an ssl.SSLContext or the path of a CA bundle, not {type(option).__name__}"
    )


def _check_allow_http(allow_http: object) -> bool:
    if not isinstance(allow_http, bool):
        raise ConfigurationTypeError(f"allow_http must be True or False, not {type(allow_http).__name__}")
    return allow_http


def _paced_session(
    auth: Authenticator,
    transport: Transport,
    limiter: LimiterOption | SharedBucket,
    operating_limit: float | None,
    retry: RetryPolicy | None,
    stats: Stats,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]],
) -> Session:
    """A session over ``transport`` with ``auth``, paced by the limiter option and the operating budget."""
    paced = Limiter(
        resolve_bucket(limiter), operating_limit=operating_limit, clock=clock, sleep=sleep, stats=stats
    )
    return Session(
        auth=auth, transport=transport, limiter=paced, retry=retry, stats=stats, clock=clock, sleep=sleep
    )


def _hook_list(hooks: object) -> list[Hook]:
    if callable(hooks):
        return [hooks]  # one hook given bare
    if isinstance(hooks, str | bytes) or not isinstance(hooks, Iterable):
        raise ConfigurationTypeError(f"hooks must be a list of callables, not {type(hooks).__name__}")
    return list(hooks)


class BizprocClient:
    """The Bitrix24 bizproc client: ``await client.call(...)`` plus one namespace per API area.

    Make one with :meth:`from_webhook`, :meth:`from_oauth` or :meth:`from_vibecode` and close it with
    ``async with`` (or :meth:`aclose`). Namespaces (every method returns an awaitable; await it)::

        workflows: WorkflowsService     start, terminate, kill, instances (bizproc.workflow.*)
        templates: TemplatesService     list, add, update, delete (bizproc.workflow.template.*)
        tasks: TasksService             list, complete, delegate (bizproc.task.*)
        activities: ActivitiesService   add, update, delete, list, log (bizproc.activity.*; OAuth only)
        robots: RobotsService           add, update, delete, list (bizproc.robot.*; OAuth only)
        events: EventsService           send (bizproc.event.send)
        users: UsersService             get, list (user.get)

    Also: :meth:`batch` (a batch composer), :meth:`paginate` (any list method), :attr:`stats`,
    :meth:`on`/:meth:`off` (request, answer, retry and throttle hooks).
    """

    workflows: WorkflowsService
    templates: TemplatesService
    tasks: TasksService
    activities: ActivitiesService
    robots: RobotsService
    events: EventsService
    users: UsersService

    def __init__(self, session: Session, *, auto_batch: bool = False, hooks: Iterable[Hook] = ()) -> None:
        if not isinstance(session, Session):
            raise ConfigurationTypeError(f"session must be a Session, not {type(session).__name__}")
        if not isinstance(auto_batch, bool):
            raise ConfigurationTypeError(f"auto_batch must be True or False, not {type(auto_batch).__name__}")
        self.session = session
        self.auto_batch = auto_batch
        self.auto_batch_window = 0.005  # seconds concurrent calls wait to share a batch (set before use)
        for hook in _hook_list(hooks):
            session.hooks.add(hook)
        self._executor = _ClientExecutor(self)
        self._coalescer: Coalescer | None = None
        self._context_ok: set[str] = set()  # methods _check_context has let through
        self.workflows = WorkflowsService(self._executor, self.paginate)
        self.templates = TemplatesService(self._executor, self.paginate)
        self.tasks = TasksService(self._executor, self.paginate)
        self.activities = ActivitiesService(self._executor)
        self.robots = RobotsService(self._executor)
        self.events = EventsService(self._executor)
        self.users = UsersService(self._executor, self.paginate)

    @property
    def stats(self) -> Stats:
        """Counters of requests, retries, throttling, refreshes and errors."""
        return self.session.stats

    def on(self, hook: Hook) -> Hook:
        """Call ``hook`` with every request, answer, retry and throttle event; returns it (a decorator).

        Events carry the method, the portal's host, attempt, status, error code and seconds, never a
        secret. Hooks run on the event loop and must not block; an ``async def`` hook runs as a task.
        """
        return self.session.hooks.add(hook)

    def off(self, hook: Hook) -> None:
        """Stop calling ``hook``."""
        self.session.hooks.remove(hook)

    @property
    def base_url(self) -> str | None:
        """Where REST calls go now: the webhook URL or ``client_endpoint``, on the portal's current host.

        ``None`` for OAuth before the tokens are loaded. Holds the webhook code: keep it out of logs.
        """
        auth = self.session.auth
        credentials = getattr(auth, "credentials", None)
        if credentials is not None:
            base: str | None = credentials.base_url
        else:
            tokens = getattr(auth, "_tokens", None) or getattr(auth, "_initial", None)
            base = tokens.client_endpoint if tokens is not None else None
        current = getattr(self.session.transport, "current_url", None)
        return current(base) if base is not None and callable(current) else base

    @classmethod
    def from_webhook(
        cls,
        url: str,
        *,
        limiter: LimiterOption | SharedBucket = "standard",
        retry: RetryPolicy | None = None,
        timeout: float | None = 30,
        http_session: aiohttp.ClientSession | None = None,
        auto_batch: bool = False,
        operating_limit: float | None = 480.0,
        transport: Transport | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        allow_http: bool = False,
        ssl: SslOption = None,
        hooks: Iterable[Hook] = (),
    ) -> BizprocClient:
        """A client for an incoming webhook URL (``https://<portal>/rest/<user_id>/<code>/``).

        Options (all keyword-only):

        - ``limiter``: the request bucket to stay under: ``"standard"`` (2 req/s, burst 50),
          ``"enterprise"`` (5/s, 250), ``"unlimited"`` or ``"off"`` (no pacing: a self-hosted portal
          without limits), a :class:`BucketSpec`, or a shared bucket (``bitrix_bizproc.redis``).
        - ``retry``: a :class:`RetryPolicy` (default: 5 attempts, jittered backoff; only safe retries).
        - ``timeout``: seconds for one whole request (``None``: no limit).
        - ``http_session``: your own ``aiohttp.ClientSession`` (stays open when the client closes).
        - ``auto_batch``: send concurrent batchable calls together in ``batch`` requests.
        - ``operating_limit``: the per-method time budget in seconds per 10 minutes (``None``: not tracked).
        - ``transport``: any object with ``send``/``aclose`` instead of aiohttp (tests).
        - ``clock``, ``sleep``: the time source and the sleep the limiter and retries use (tests).
        - ``allow_http``: accept a plain ``http://`` URL for a host other than loopback (self-hosted
          portals on an intranet). Off by default: the webhook code would cross the network in clear.
        - ``ssl``: an ``ssl.SSLContext``, or the path of a CA bundle (PEM) for a portal whose certificate
          a private CA signed.
        - ``hooks``: callables receiving :mod:`request, answer, retry and throttle events
          <bitrix_bizproc._observe>` (see also :meth:`on`).
        """
        _check_kwargs(timeout, auto_batch, http_session, retry)
        credentials = WebhookCredentials.parse(url, allow_http=_check_allow_http(allow_http))
        context = _ssl_context(ssl, http_session)
        stats = Stats()
        transport = transport or AiohttpTransport(http_session, timeout=timeout, ssl=context)
        session = _paced_session(
            WebhookAuth(credentials), transport, limiter, operating_limit, retry, stats, clock, sleep
        )
        return cls(session, auto_batch=auto_batch, hooks=hooks)

    @classmethod
    def from_oauth(
        cls,
        *,
        client_id: str,
        client_secret: str,
        access_token: str | None = None,
        refresh_token: str | None = None,
        client_endpoint: str | None = None,
        expires_at: float | None = None,
        token_store: TokenStore | None = None,
        on_tokens: TokenCallback | None = None,
        token_url: str = DEFAULT_TOKEN_URL,
        limiter: LimiterOption | SharedBucket = "standard",
        retry: RetryPolicy | None = None,
        timeout: float | None = 30,
        http_session: aiohttp.ClientSession | None = None,
        auto_batch: bool = False,
        operating_limit: float | None = 480.0,
        refresh_leeway: float = 60.0,
        transport: Transport | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        allow_http: bool = False,
        ssl: SslOption = None,
        hooks: Iterable[Hook] = (),
    ) -> BizprocClient:
        """A client for an OAuth application.

        Tokens stored in ``token_store`` win over the ``access_token``/``refresh_token`` arguments (they
        may be newer); the arguments seed an empty store. Every rotated pair is saved to the store, then
        passed to ``on_tokens`` (sync or async). Calls go to ``client_endpoint``.

        Options (all keyword-only):

        - ``client_id``, ``client_secret``: the application's credentials (from the app's settings).
        - ``access_token``, ``refresh_token``, ``client_endpoint``: the pair from the install (or a
          refresh) and ``https://<portal>/rest/``; give all three, or a ``token_store`` holding them.
        - ``expires_at``: when the access token expires (unix seconds); unknown: refreshed on
          ``expired_token``.
        - ``token_store``: where rotated pairs are kept (:class:`MemoryTokenStore`,
          :class:`JsonFileTokenStore`, a Redis store); share one between workers so that they never refresh
          the same pair twice.
        - ``on_tokens``: called with every new pair after it is stored.
        - ``token_url``: the OAuth server (another region, or the emulator).
        - ``refresh_leeway``: refresh this many seconds before ``expires_at``.
        - ``allow_http``: accept a plain ``http://`` ``client_endpoint`` (and ``token_url``) for a host
          other than loopback: a self-hosted portal on an intranet.
        - ``limiter``, ``retry``, ``timeout``, ``http_session``, ``auto_batch``, ``operating_limit``,
          ``transport``, ``clock``, ``sleep``, ``ssl``, ``hooks``: as in :meth:`from_webhook`.
        """
        _check_kwargs(timeout, auto_batch, http_session, retry)
        allow_http = _check_allow_http(allow_http)
        for name, value in (("client_id", client_id), ("client_secret", client_secret)):
            if not isinstance(value, str) or not value:
                raise ConfigurationError(f"{name} must be a non-empty string")
        given = (access_token, refresh_token, client_endpoint)
        initial: OAuthTokens | None = None
        if any(v is not None for v in given):
            if not all(isinstance(v, str) and v for v in given):
                raise ConfigurationError(
                    "access_token, refresh_token and client_endpoint go together: give all three"
                )
            assert access_token and refresh_token and client_endpoint
            initial = OAuthTokens(
                access_token=access_token,
                refresh_token=refresh_token,
                client_endpoint=check_base_url(
                    client_endpoint, what="client_endpoint", allow_http=allow_http
                ),
                expires_at=expires_at,
            )
        elif token_store is None:
            raise ConfigurationError(
                "give access_token, refresh_token and client_endpoint, or a token_store holding them"
            )
        if on_tokens is not None and not callable(on_tokens):
            raise ConfigurationTypeError("on_tokens must be callable")
        check_base_url(token_url, what="token_url", allow_http=allow_http)
        context = _ssl_context(ssl, http_session)
        stats = Stats()
        transport = transport or AiohttpTransport(http_session, timeout=timeout, ssl=context)
        auth = OAuthAuth(
            OAuthApp(client_id, client_secret, token_url, allow_http=allow_http),
            token_store if token_store is not None else MemoryTokenStore(),
            transport=transport,
            clock=clock,
            on_tokens=on_tokens,
            leeway=refresh_leeway,
            stats=stats,
            initial=initial,
            sleep=sleep,
        )
        session = _paced_session(auth, transport, limiter, operating_limit, retry, stats, clock, sleep)
        return cls(session, auto_batch=auto_batch, hooks=hooks)

    @classmethod
    def from_vibecode(
        cls,
        api_key: str,
        *,
        session_token: str | None = None,
        base_url: str = VIBECODE_BASE_URL,
        limiter: LimiterOption | SharedBucket = "vibecode",
        retry: RetryPolicy | None = None,
        timeout: float | None = 30,
        http_session: aiohttp.ClientSession | None = None,
        auto_batch: bool = False,
        transport: Transport | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        ssl: SslOption = None,
        hooks: Iterable[Hook] = (),
    ) -> BizprocClient:
        """A client through the Vibecode REST gateway: a personal key, or an app key plus ``session_token``.

        The same namespaces work wherever the gateway has the operation (instances, start, terminate,
        kill, event send, template list, batch); any other raises :class:`UnsupportedOperationError`
        before a request is made. ``terminate`` is the gateway's soft stop (the current step finishes
        first), ``kill`` its ``force=true`` immediate abort. Paced by the gateway's 300 requests/min.

        Options (all keyword-only):

        - ``api_key``: ``vibe_api_...`` (personal) or ``vibe_app_...`` (an app: give ``session_token`` too).
        - ``session_token``: the user's session token, sent as ``Authorization: Bearer``.
        - ``base_url``: the gateway's ``/v1`` address (another one: the emulator's).
        - ``limiter``: default ``"vibecode"`` (300 requests/min); other values as in :meth:`from_webhook`.
        - ``retry``, ``timeout``, ``http_session``, ``auto_batch``, ``transport``, ``clock``, ``sleep``,
          ``ssl``, ``hooks``: as in :meth:`from_webhook`.
        """
        _check_kwargs(timeout, auto_batch, http_session, retry)
        context = _ssl_context(ssl, http_session)
        if transport is None and context is not None:
            transport = AiohttpTransport(http_session, timeout=timeout, ssl=context)
        session = vibecode_session(
            api_key=api_key,
            session_token=session_token,
            base_url=base_url,
            limiter=limiter,
            retry=retry,
            timeout=timeout,
            http_session=http_session,
            transport=transport,
            clock=clock,
            sleep=sleep,
        )
        return cls(session, auto_batch=auto_batch, hooks=hooks)

    async def call(
        self, method: str, params: Mapping[str, Any] | None = None, *, idempotent: bool | None = None
    ) -> ApiResponse:
        """Call any REST method; returns its ``result`` with ``total``, ``next`` and ``time``."""
        if isinstance(method, str):
            self._check_context(method)
        return await self.session.call(method, params, idempotent=idempotent)

    def _check_context(self, method: str) -> None:
        """Refuse, before sending, a method that needs an application context when the client is a webhook."""
        if method in self._context_ok:  # checked before (a client's calls use a few methods, many times)
            return
        if isinstance(self.session.auth, WebhookAuth) and method_info(method).app_context:
            raise AccessDeniedError(
                f"{method} works only in an application context (the portal answers a webhook with "
                "ACCESS_DENIED 'Application context required'): use BizprocClient.from_oauth with the app's "
                "tokens",
                code="ACCESS_DENIED",
                method=method,
            )
        if len(self._context_ok) < 256:
            self._context_ok.add(method)

    def batch(self, *, halt: bool = False) -> BatchComposer:
        """A composer: ``async with client.batch() as b:`` queues calls and sends them as batches."""
        from ._batch import BatchComposer

        return BatchComposer(self, halt=halt)

    def paginate(
        self, method: str, params: Mapping[str, Any] | None = None, **options: Any
    ) -> Paginator[Any]:
        """A lazy walk over every row of a list method."""
        from ._paging import Paginator

        options.setdefault("dialect", self.session.dialect)
        return Paginator(self, method, params, **options)

    def _get_coalescer(self) -> Coalescer:
        if self._coalescer is None:
            from ._batch import Coalescer

            self._coalescer = Coalescer(self.session, window=self.auto_batch_window)
        return self._coalescer

    async def aclose(self) -> None:
        """Flush the coalescer, then close the session (a user's ``http_session`` stays open)."""
        coalescer, self._coalescer = self._coalescer, None
        try:
            if coalescer is not None:
                await coalescer.aclose()
        finally:
            await self.session.aclose()

    async def __aenter__(self) -> BizprocClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"BizprocClient({self.session!r}, auto_batch={self.auto_batch})"
