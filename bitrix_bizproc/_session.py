"""The async session: one REST call through the limiter, auth, transport, retries and stats."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, ClassVar

import attrs

from ._auth import Authenticator, TokenReloader
from ._limiter import Limiter
from ._observe import AnswerEvent, Hooks, RequestEvent, RetryEvent, ThrottleEvent, host_of
from ._stats import Stats
from ._transport import HttpRequest, HttpResponse, Transport
from .protocol.auth import redact
from .protocol.dialect import PORTAL, Dialect
from .protocol.encoding import check_input_vars, normalize
from .protocol.envelope import ApiResponse, TimeInfo, by_command_key, parse_response
from .protocol.errors import (
    BitrixError,
    ClientValidationError,
    ExpiredTokenError,
    InvalidCredentialsError,
    OperationTimeLimitError,
    QueryLimitError,
    ValidationError,
)
from .protocol.methods import method_info
from .protocol.retry import RetryPolicy, RetryReason, is_ambiguous

__all__ = ["Session"]

logger = logging.getLogger("bitrix_bizproc")

MAX_REFRESHES = 3  # expired_token answers one call may refresh after (tokens that expire very fast)
# The portal's "this access token is not valid" answers (docs: _includes/system-errors.md; protocol-facts.md
# section 6): a reinstall revokes the old pair, so the token store may hold a newer one.
REFUSED_TOKEN_CODES = frozenset({"invalid_token", "NO_AUTH_FOUND"})

_METHOD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*")
_NAMES_SEEN: set[str] = set()  # method names that passed the check (a few dozen in practice)
_NAMES_REMEMBERED = 1024


def _check_method(method: object) -> str:
    if type(method) is str and method in _NAMES_SEEN:
        return method
    if not isinstance(method, str):
        raise ClientValidationError(f"method must be a string, not {type(method).__name__}")
    if not _METHOD_NAME.fullmatch(method):
        raise ClientValidationError(f"{method!r} is not a REST method name")
    if len(_NAMES_SEEN) < _NAMES_REMEMBERED:
        _NAMES_SEEN.add(method)
    return method


def _processing(time: TimeInfo) -> float | None:
    """The answer's ``time.processing``, unless its block is odd: longer than its own ``duration``."""
    ran, total = time.figure("processing"), time.figure("duration")
    return None if ran is None or (total is not None and ran > total) else ran


def _retry_after(response: HttpResponse) -> float | None:
    raw = response.headers.get("Retry-After")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None  # an HTTP date: rare enough to fall back on the backoff


def _error_time(response: HttpResponse) -> TimeInfo | None:
    """The ``time`` block of an error answer, if the portal sent one (429s may carry the reset)."""
    try:
        data = json.loads(response.body)
    except (ValueError, UnicodeDecodeError):
        return None
    return TimeInfo.from_wire(data.get("time")) if isinstance(data, Mapping) else None


def batch_methods(params: Mapping[str, Any]) -> dict[str, str]:
    """Map each command key of a ``batch`` call to the method it runs."""
    cmd = params.get("cmd")
    if isinstance(cmd, list | tuple):
        cmd = {str(i): v for i, v in enumerate(cmd)}
    if not isinstance(cmd, Mapping):
        return {}
    return {str(k): v.partition("?")[0].strip() for k, v in cmd.items() if isinstance(v, str)}


class Session:
    """Sends REST calls: paced by the limiter, authorised, retried by the policy, counted in ``stats``."""

    dialect: ClassVar[Dialect] = PORTAL  # what the far side can do (the gateway's session says otherwise)

    def __init__(
        self,
        *,
        auth: Authenticator,
        transport: Transport,
        limiter: Limiter,
        retry: RetryPolicy | None = None,
        stats: Stats | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        hooks: Hooks | None = None,
    ) -> None:
        self.auth = auth
        self.transport = transport
        self.limiter = limiter
        self.retry = retry if retry is not None else RetryPolicy()
        self.stats = stats if stats is not None else Stats()
        self._clock = clock
        self._sleep = sleep
        self._rng = rng
        self._closed = False
        self.hooks = hooks if hooks is not None else Hooks()
        self._request_ids = itertools.count(1)

    async def call(
        self, method: str, params: Mapping[str, Any] | None = None, *, idempotent: bool | None = None
    ) -> ApiResponse:
        """Call ``method`` with ``params``; ``idempotent=None`` takes it from the method registry."""
        if self._closed:
            raise RuntimeError("the session is closed")
        _check_method(method)
        if params is not None and type(params) is not dict and not isinstance(params, Mapping):
            raise ClientValidationError(
                f"params must be a mapping, not {type(params).__name__}",
                method=method,
            )
        if idempotent is None:
            idempotent = not method_info(method).creates
        wire: dict[str, Any] = normalize(params) if params else {}
        self._check_request(method, wire)
        try:
            check_input_vars(wire, what=method)
        except ValidationError as exc:
            exc.method = method
            raise
        return await self._call(method, wire, idempotent)

    async def call_wire(self, method: str, wire: Mapping[str, Any], idempotent: bool) -> ApiResponse:
        """Call ``method`` with parameters a service has already normalized and checked (its ``Call``)."""
        if self._closed:
            raise RuntimeError("the session is closed")
        _check_method(method)
        self._check_request(method, wire)
        return await self._call(method, wire if type(wire) is dict else dict(wire), idempotent)

    def _read(self, request: HttpRequest, response: HttpResponse, method: str) -> ApiResponse:
        """The answer to ``request`` as an :class:`ApiResponse`, or raise its typed error."""
        return parse_response(
            response.status, response.body, method=method, retry_after=_retry_after(response)
        )

    def _check_request(self, method: str, wire: Mapping[str, Any]) -> None:
        """Refuse, before the limiter, a call the far side cannot take (every call fits a portal)."""

    async def _call(self, method: str, wire: dict[str, Any], idempotent: bool) -> ApiResponse:
        """Send the call until it is answered, refused for good, or out of tries (one frame: no layers)."""
        self.stats.calls += 1
        lost = False  # set once a try was sent and its answer lost
        try:
            attempt = 0
            refreshed = 0
            reloaded = False  # one store reload per call after a refused token: never a loop
            debug = logger.isEnabledFor(logging.DEBUG)
            observed = bool(self.hooks)
            inner = batch_methods(wire) if method == "batch" else None
            while True:
                blocked = await self._wait_blocked(inner.values()) if inner else None  # a batch's methods
                request, used = await self.auth.request(method, wire)  # built before a place is taken
                waited = 0.0
                if not self.limiter.try_acquire(method, hold=True):
                    request, used, waited = await self._let_go(method, wire, request, used)
                sent = self.limiter.sent()  # counted from now: the portal's bucket counts it when it arrives
                if observed:  # the host it goes to: a renamed portal's new one once the transport knows it
                    host, request_id = host_of(self._current_url(request.url)), next(self._request_ids)
                    for held_method, held in (blocked or {}).items():  # an operating budget held the batch
                        self.hooks.emit(ThrottleEvent(held_method, host, held))
                    if waited > 0:
                        self.hooks.emit(ThrottleEvent(method, host, waited))
                    self.hooks.emit(RequestEvent(method, host, attempt + 1, request_id))
                    sent_at = time.monotonic()
                if debug:
                    url = redact(request.url, self.auth.secrets())
                    logger.debug("-> %s %s (try %d)", request.method, url, attempt + 1)
                self.stats.requests += 1
                response: HttpResponse | None = None
                try:
                    try:
                        try:
                            response = await self.transport.send(request)
                        except BaseException:
                            self.limiter.answered(lost=True)
                            raise
                        try:
                            result = self._read(request, response, method)
                        except BaseException:
                            self.limiter.answered()
                            raise
                        ran = _processing(result.time) if result.time is not None else None
                        self.limiter.answered(processing=ran, sent=sent)  # it ran that long after counted
                    except BitrixError as exc:
                        if observed:
                            error = exc.code or type(exc).__name__
                            self._answered(method, host, attempt, request_id, response, sent_at, error)
                        raise
                    if observed:
                        self._answered(method, host, attempt, request_id, response, sent_at)
                except ExpiredTokenError:
                    if refreshed >= MAX_REFRESHES or not await self.auth.on_expired(used):
                        raise
                    refreshed += 1
                    logger.info("%s: access token expired, refreshed; sending the call again", method)
                    continue
                except BitrixError as exc:
                    if not reloaded and await self._reloaded(exc, used):
                        reloaded = True  # a definite refusal: the portal ran nothing, any call may go again
                        logger.info(
                            "%s: access token refused, a newer one is stored; sending the call again", method
                        )
                        continue
                    exc.method = exc.method or method
                    lost = lost or is_ambiguous(exc)
                    wait_hint = self._on_failure(method, exc, response)
                    decision = self.retry.decide(
                        exc, attempt, idempotent=idempotent, wait_hint=wait_hint, rng=self._rng
                    )
                    if decision is None:
                        raise
                    self._log_retry(method, exc, decision.reason, decision.delay, attempt)
                    if observed:
                        error = exc.code or type(exc).__name__
                        reason = decision.reason.value
                        self.hooks.emit(RetryEvent(method, host, attempt + 1, reason, decision.delay, error))
                    if decision.delay > 0:
                        await self._sleep(decision.delay)
                    attempt += 1
                    continue
                if debug:
                    logger.debug("<- %s HTTP %d", method, response.status)
                self.limiter.on_accepted(method, result.time)
                if inner is not None and isinstance(result.result, Mapping):
                    self.limiter.budget.observe_batch(inner, result.result.get("result_time"), self._clock())
                    self._observe_batch_blocks(inner, result.result.get("result_error"))
                return attrs.evolve(result, after_unknown=True) if lost else result
        except BitrixError as exc:
            if lost and not is_ambiguous(exc):  # the call may have run on that earlier try
                exc.details["after_unknown"] = True
            exc.scrub(self.auth.secrets())  # the portal may echo a code or token into the error
            self.stats.count_error(exc)
            raise

    async def _let_go(
        self, method: str, wire: dict[str, Any], request: HttpRequest, used: object
    ) -> tuple[HttpRequest, object, float]:
        """Wait for the request's place in the bucket, held until :meth:`Limiter.sent`.

        The request was built before the wait, so the place is not held while it is encoded; it is built
        again after the wait, so it carries the access token current when it leaves (a refresh may happen
        during the wait), unless the auth's requests never change (``fixed_requests``: a webhook). Returns
        the request, its token identity and the seconds waited.
        """
        started = self._clock()
        await self.limiter.acquire(method, hold=True)
        waited = self._clock() - started
        if getattr(self.auth, "fixed_requests", False):
            return request, used, waited
        try:
            request, used = await self.auth.request(method, wire)
        except BaseException:
            self.limiter.release()
            raise
        return request, used, waited

    async def _reloaded(self, exc: BitrixError, used: object) -> bool:
        """The portal refused the access token: whether the auth took a different one from its store."""
        if not isinstance(exc, InvalidCredentialsError) or exc.code not in REFUSED_TOKEN_CODES:
            return False
        return isinstance(self.auth, TokenReloader) and await self.auth.on_refused(used)

    def _answered(
        self,
        method: str,
        host: str,
        attempt: int,
        request_id: int,
        response: HttpResponse | None,
        sent_at: float,
        error: str | None = None,
    ) -> None:
        """Emit the :class:`AnswerEvent` of one try (status 0: no HTTP answer came back)."""
        status = response.status if response is not None else 0
        seconds = time.monotonic() - sent_at
        self.hooks.emit(AnswerEvent(method, host, attempt + 1, request_id, status, seconds, error))

    def _current_url(self, url: str) -> str:
        current = getattr(self.transport, "current_url", None)
        return current(url) if callable(current) else url

    async def _wait_blocked(self, methods: Iterable[str]) -> dict[str, float]:
        """A batch first waits out the operating block of each method it holds (other methods go on).

        Returns the seconds waited per blocked method.
        """
        waited: dict[str, float] = {}
        for method in set(methods):
            while (wait := self.limiter.budget.delay(method, self._clock())) > 0:
                logger.info("%s is blocked by its operating time limit: waiting %.1f s", method, wait)
                await self._sleep(wait)
                waited[method] = waited.get(method, 0.0) + wait
        return waited

    def _observe_batch_blocks(self, methods: Mapping[str, str], errors: object) -> None:
        """``OPERATION_TIME_LIMIT`` on a command inside a batch blocks that command's method (only)."""
        for key, error in by_command_key(errors).items():
            method = methods.get(key)
            if method and isinstance(error, Mapping) and error.get("error") == "OPERATION_TIME_LIMIT":
                self.limiter.on_operation_blocked(method)

    def _on_failure(self, method: str, exc: BitrixError, response: HttpResponse | None) -> float | None:
        """Tell the limiter about a limit answer; return a wait the retry must honour, if any."""
        if isinstance(exc, QueryLimitError):
            self.limiter.on_rejected()
            return None
        if isinstance(exc, OperationTimeLimitError):
            info = _error_time(response) if response is not None else None
            # The limiter holds this method until its reset (other methods go on); the retry waits as long.
            return self.limiter.on_operation_blocked(method, time=info, retry_after=exc.retry_after)
        return None

    def _log_retry(
        self, method: str, exc: BitrixError, reason: RetryReason, delay: float, attempt: int
    ) -> None:
        self.stats.retries[reason.value] += 1
        logger.info(
            "%s: %s; retry %d/%d in %.2f s",
            method,
            redact(str(exc), self.auth.secrets()),
            attempt + 1,
            self.retry.max_attempts - 1,
            delay,
        )

    async def aclose(self) -> None:
        """Stop the limiter and close the transport (an HTTP session passed in by the user stays open)."""
        if self._closed:
            return
        self._closed = True
        try:
            await self.limiter.aclose()
        finally:  # a failing (or cancelled) limiter close must not leak the connection pool
            await self.transport.aclose()

    def __repr__(self) -> str:
        spec = self.limiter.spec
        limiter = f"{spec.rate:g}/s burst {spec.burst}" if spec is not None else "off"
        return f"Session(auth={self.auth!r}, limiter={limiter!r})"
