"""The Vibecode gateway as a session: the same ``call`` as :class:`Session`, answered by the gateway's routes.

Nothing of the session's machinery is rewritten. :class:`VibecodeAuth` is an authenticator that turns a
bizproc call into its gateway request (route, query, JSON body, ``X-Api-Key``/``Authorization`` headers);
each request knows how to read its own answer, and the session reads it once, straight into the REST
answer or the typed error (``Retry-After`` kept), so the limiter, the retry policy, stats and logging treat
the gateway exactly as a portal.
:class:`VibecodeSession` adds what only the gateway needs: refusing unsupported operations before any
request, and splitting a REST ``batch`` into one gateway batch plus the calls it cannot carry.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar

import aiohttp
import attrs

from ._limiter import Limiter, SharedBucket, resolve_bucket
from ._session import Session, _check_method
from ._stats import Stats
from ._transport import AiohttpTransport, HttpRequest, HttpResponse, Transport
from .protocol.dialect import VIBECODE, Dialect
from .protocol.encoding import normalize
from .protocol.envelope import ApiResponse
from .protocol.errors import BitrixError
from .protocol.limits import LimiterOption
from .protocol.retry import RetryPolicy
from .protocol.vibecode import (
    DEFAULT_BASE_URL,
    GatewayRequest,
    VibecodeCredentials,
    build_request,
    validate_base_url,
)
from .protocol.vibecode_answers import parse_gateway_response, read_envelope
from .protocol.vibecode_batch import (
    BatchPlan,
    CallAnswer,
    Command,
    batch_refused,
    combine,
    plan_batch,
    rest_batch_result,
    to_rest_batch,
)

__all__ = [
    "GatewayHttpRequest",
    "VibecodeAuth",
    "VibecodeSession",
    "vibecode_session",
]

log = logging.getLogger("bitrix_bizproc")

Reader = Callable[[int, bytes, "str | None"], Any]


@attrs.frozen(repr=False)
class GatewayHttpRequest(HttpRequest):
    """An HTTP request to the gateway that knows how to read its own answer back into the REST shape."""

    read: Reader = attrs.field(kw_only=True)


class VibecodeAuth:
    """Authorises gateway requests with the API key (and the user's session token for app keys)."""

    def __init__(self, credentials: VibecodeCredentials, base_url: str) -> None:
        self.credentials = credentials
        self.base_url = validate_base_url(base_url)

    async def request(self, method: str, params: dict[str, Any]) -> tuple[HttpRequest, object]:
        """The gateway request standing for ``method(params)``."""
        if method.lower() == "batch":
            plan = plan_batch(params)
            gateway = plan.gateway_request()
            read: Reader = _batch_reader(plan)
        else:
            gateway = build_request(method, params)
            read = _reader(gateway)
        headers = {"Accept": "application/json", **self.credentials.headers()}
        body = gateway.json_body()
        if body is not None:
            headers["Content-Type"] = "application/json"
        url = gateway.url(self.base_url)
        return GatewayHttpRequest(gateway.http_method, url, body, headers, read=read), None

    async def on_expired(self, used: object) -> bool:
        """A gateway session token cannot be refreshed from here: the user re-authorises."""
        return False

    def secrets(self) -> tuple[str, ...]:
        """The API key and the session token, for redaction."""
        return tuple(s for s in (self.credentials.api_key, self.credentials.session_token) if s)

    def __repr__(self) -> str:
        return f"VibecodeAuth({self.base_url!r}, {self.credentials.kind} key)"


def _reader(gateway: GatewayRequest) -> Reader:
    def read(status: int, body: bytes, retry_after: str | None) -> ApiResponse:
        return parse_gateway_response(gateway, status, body, retry_after=retry_after)

    return read


def _batch_reader(plan: BatchPlan) -> Reader:
    def read(status: int, body: bytes, retry_after: str | None) -> ApiResponse:
        data, _ = read_envelope(status, body, method="batch", retry_after=retry_after)
        return ApiResponse(rest_batch_result(plan, data), method="batch")

    return read


class VibecodeSession(Session):
    """A :class:`Session` whose calls go to the Vibecode gateway; unsupported ones fail before any request.

    Walks and jobs read its :attr:`dialect` (:data:`~bitrix_bizproc.protocol.dialect.VIBECODE`): offsets
    only, instances in MODIFIED DESC order, filtered by ``TEMPLATE_ID`` and ``STARTED_BY`` only.
    """

    dialect: ClassVar[Dialect] = VIBECODE

    def __init__(
        self, credentials: VibecodeCredentials, *, base_url: str, transport: Transport, **options: Any
    ) -> None:
        super().__init__(auth=VibecodeAuth(credentials, base_url), transport=transport, **options)
        self.batch_refused = False  # set once the gateway refused ``POST /batch``: calls go one by one

    async def call(
        self, method: str, params: Mapping[str, Any] | None = None, *, idempotent: bool | None = None
    ) -> ApiResponse:
        """Call ``method`` through the gateway; raises :class:`UnsupportedOperationError` before sending."""
        _check_method(method)
        if method.lower() == "batch" and isinstance(params, Mapping):
            return await self._batch(normalize(params), idempotent)
        return await super().call(method, params, idempotent=idempotent)

    def _read(self, request: HttpRequest, response: HttpResponse, method: str) -> ApiResponse:
        """The gateway's answer read once, straight into the REST shape (or its typed error)."""
        if not isinstance(request, GatewayHttpRequest):
            return super()._read(request, response, method)
        return request.read(response.status, response.body, response.headers.get("Retry-After"))  # type: ignore[no-any-return]

    def _check_request(self, method: str, wire: Mapping[str, Any]) -> None:
        """The same checks the gateway request will pass, before the limiter (a batch: by its plan)."""
        if method.lower() != "batch":
            build_request(method, wire)

    async def _batch(self, params: Mapping[str, Any], idempotent: bool | None) -> ApiResponse:
        plan = plan_batch(params)
        if self.batch_refused:
            plan = attrs.evolve(plan, grouped=(), alone=plan.grouped + plan.alone)
        call = super().call
        jobs = [call(c.method, c.params, idempotent=idempotent) for c in plan.alone]
        if plan.grouped:
            jobs.append(self._grouped(plan.grouped, idempotent))
        if not plan.alone:
            return await jobs[0]  # a whole-request error fails the batch, as on a portal
        outcomes: list[CallAnswer] = []
        for answer in await asyncio.gather(*jobs, return_exceptions=True):
            if not isinstance(answer, ApiResponse | BitrixError):
                raise answer  # a cancellation or a bug, not a call's outcome
            outcomes.append(answer)
        alone = {c.key: outcome for c, outcome in zip(plan.alone, outcomes, strict=False)}
        grouped: Mapping[str, Any] | BitrixError | None = None
        if plan.grouped:
            last = outcomes[-1]
            grouped = last if isinstance(last, BitrixError) else last.result
        return ApiResponse(combine(plan, grouped, alone), method="batch")

    async def _grouped(self, commands: tuple[Command, ...], idempotent: bool | None) -> ApiResponse:
        """One gateway batch; if the gateway refuses ``POST /batch`` (nothing ran), each call on its own."""
        subset = {"halt": 0, "cmd": {c.key: c.text for c in commands}}
        try:
            return await super().call("batch", subset, idempotent=idempotent)
        except BitrixError as exc:
            if not batch_refused(exc):
                raise
            self.batch_refused = True
            log.info("the gateway refused POST /batch (%s): sending calls one by one from now on", exc)
        call = super().call
        answers = await asyncio.gather(
            *(call(c.method, c.params, idempotent=idempotent) for c in commands), return_exceptions=True
        )
        outcomes: dict[str, CallAnswer] = {}
        for command, answer in zip(commands, answers, strict=True):
            if not isinstance(answer, ApiResponse | BitrixError):
                raise answer  # a cancellation or a bug, not a call's outcome
            outcomes[command.key] = answer
        return ApiResponse(to_rest_batch(tuple(outcomes), outcomes), method="batch")

    def __repr__(self) -> str:
        spec = self.limiter.spec
        limiter = f"{spec.rate:g}/s burst {spec.burst}" if spec is not None else "off"
        return f"VibecodeSession(auth={self.auth!r}, limiter={limiter!r})"


def vibecode_session(
    *,
    api_key: str,
    session_token: str | None = None,
    base_url: str = DEFAULT_BASE_URL,
    limiter: LimiterOption | SharedBucket = "vibecode",
    retry: RetryPolicy | None = None,
    timeout: float | None = 30,
    http_session: aiohttp.ClientSession | None = None,
    transport: Transport | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> VibecodeSession:
    """A session on the gateway, paced by the gateway's own limit (the ``"vibecode"`` limiter preset)."""
    credentials = VibecodeCredentials(api_key, session_token)
    stats = Stats()
    return VibecodeSession(
        credentials,
        base_url=base_url,
        transport=transport or AiohttpTransport(http_session, timeout=timeout),
        limiter=Limiter(resolve_bucket(limiter), operating_limit=None, clock=clock, sleep=sleep, stats=stats),
        retry=retry,
        stats=stats,
        clock=clock,
        sleep=sleep,
    )
