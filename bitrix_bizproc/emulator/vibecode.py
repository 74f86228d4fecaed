"""The Vibecode REST gateway, emulated: its ``/v1`` routes over the SAME portal state and method handlers.

::

    async with EmulatedPortal() as portal:                 # create_app mounts the gateway's routes
        portal.vibecode_url                                 # http://127.0.0.1:<port>/v1
        key = portal.add_vibecode_key(user_id=1)            # personal: X-Api-Key: vibe_api_...
        app_key = portal.add_vibecode_key(kind="app")       # an app key needs a user session too:
        token = portal.vibecode.add_session(app_key)        # Authorization: Bearer <token>

Every route runs the bizproc method it stands for through the portal's :class:`MethodRunner` (scope,
admin and document checks, state changes all shared with ``/rest/``), then answers in the gateway's
envelope: ``{"success": true, "data", "meta"?}``, ``204`` for a ``DELETE``, or
``{"success": false, "error": {"code", "message", "hint"?, "retryAfter"?}}``. Key checks come first
(401 ``MISSING_API_KEY``, ``INVALID_API_KEY``, ``TOKEN_EXPIRED``, ``TOKEN_MISSING``; 403 ``SCOPE_DENIED``),
then the per-key rate limit: at most ``per_minute`` requests (300) in any 60 s of the emulator clock, else
429 ``RATE_LIMITED`` with ``Retry-After``. A batch counts as one request. The gateway's calls do not go
through the portal's own leaky bucket (the gateway is a separate service with its own limit).
"""

from __future__ import annotations

import json
import logging
import math
import secrets
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Literal

import attrs
from aiohttp import web

from .auth import Credential
from .host import GatewayHost
from .vibecode_ops import Answer, GatewayError, run_batch, run_route

__all__ = ["GATEWAY_KEY", "GatewayKey", "VibecodeGateway", "add_vibecode_routes"]

log = logging.getLogger(__name__)

GATEWAY_KEY: web.AppKey[VibecodeGateway] = web.AppKey("vibecode_gateway")
WINDOW = 60.0


@attrs.define
class GatewayKey:
    """One API key: whose it is, what it may reach, and whether it has Bitrix24 tokens behind it."""

    key: str = attrs.field(repr=False)
    user_id: int
    scopes: frozenset[str]
    kind: Literal["personal", "app"]
    connected: bool = True
    admin: bool | None = None


@attrs.frozen
class _Session:
    api_key: str = attrs.field(repr=False)
    user_id: int
    expires_at: float


class VibecodeGateway:
    """The emulated gateway's keys, user sessions, rate limit, fault switch and counters."""

    def __init__(self, portal: GatewayHost, *, per_minute: int = 300, batch: bool = True) -> None:
        self.portal = portal
        self.per_minute = per_minute
        self.batch = batch  # False: no ``POST /v1/batch`` route (a plain-text 404, as for any unknown path)
        self.keys: dict[str, GatewayKey] = {}
        self._sessions: dict[str, _Session] = {}
        self._hits: dict[str, deque[float]] = {}
        self.unavailable = 0  # the next N admitted requests answer 502 BITRIX_UNAVAILABLE
        self.requests = 0
        self.batches = 0
        self.rejections: Counter[str] = Counter()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1``."""
        return f"{self.portal.base_url}/v1"

    def add_key(
        self,
        user_id: int = 1,
        scopes: Iterable[str] = ("bizproc", "user"),
        kind: Literal["personal", "app"] = "personal",
        *,
        connected: bool = True,
        admin: bool | None = None,
    ) -> str:
        """Register a key (``vibe_api_...`` or ``vibe_app_...``) and return it."""
        prefix = "vibe_api_" if kind == "personal" else "vibe_app_"
        key = prefix + secrets.token_hex(16)
        self.keys[key] = GatewayKey(key, user_id, frozenset(scopes), kind, connected, admin)
        return key

    def add_session(self, api_key: str, user_id: int | None = None, lifetime: float = 3600.0) -> str:
        """A user session token for an app key (the user of the key unless ``user_id``)."""
        owner = self.keys[api_key]
        token = secrets.token_urlsafe(24)
        uid = owner.user_id if user_id is None else user_id
        self._sessions[token] = _Session(api_key, uid, self.portal.clock() + lifetime)
        return token

    def expire_sessions(self) -> None:
        """Make every user session token expired."""
        now = self.portal.clock()
        self._sessions = {t: attrs.evolve(s, expires_at=now) for t, s in self._sessions.items()}

    def revoke(self, api_key: str) -> None:
        """Delete a key: it answers ``INVALID_API_KEY`` from now on."""
        self.keys.pop(api_key, None)

    def reset_limits(self) -> None:
        """Forget every key's recent requests."""
        self._hits.clear()

    # -- the checks before a route runs -------------------------------------------------------------
    def authenticate(self, request: web.Request) -> Credential:
        """The portal credential behind the request's key (and session token), or a 401/403."""
        api_key = request.headers.get("X-Api-Key", "").strip()
        if not api_key:
            raise GatewayError(401, "MISSING_API_KEY", "The X-Api-Key header was not provided")
        key = self.keys.get(api_key)
        if key is None:
            raise GatewayError(401, "INVALID_API_KEY", "Invalid or expired API key")
        self._admit(api_key)
        user_id = key.user_id
        if key.kind == "app":
            user_id = self._session_user(request, api_key)
        if not key.connected:
            raise GatewayError(401, "TOKEN_MISSING", "The key has no connected Bitrix24 tokens")
        if "bizproc" not in key.scopes:
            raise GatewayError(403, "SCOPE_DENIED", "The key is missing the bizproc scope")
        if self.unavailable > 0:
            self.unavailable -= 1
            raise GatewayError(502, "BITRIX_UNAVAILABLE", "Bitrix24 is unavailable")
        app_id = None if key.kind == "personal" else f"vibecode.{api_key[-8:]}"
        return Credential(user_id, key.scopes, app_id, f"vibecode:{api_key}", key.admin)

    def _session_user(self, request: web.Request, api_key: str) -> int:
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        session = self._sessions.get(token)
        if session is None or session.api_key != api_key or session.expires_at <= self.portal.clock():
            raise GatewayError(
                401,
                "TOKEN_EXPIRED",
                "The OAuth user session expired",
                hint="re-authorize via /v1/oauth/authorize",
            )
        return session.user_id

    def _admit(self, api_key: str) -> None:
        now = self.portal.clock()
        hits = self._hits.setdefault(api_key, deque())
        while hits and hits[0] <= now - WINDOW:
            hits.popleft()
        if len(hits) >= self.per_minute:
            wait = max(1, math.ceil(hits[0] + WINDOW - now))
            raise GatewayError(
                429, "RATE_LIMITED", "Request limit exceeded", hint=f"retry in {wait} s", retry_after=wait
            )
        hits.append(now)


def _json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return web.Response(text=text, status=status, content_type="application/json", headers=headers)


def _answer(answer: Answer) -> web.Response:
    if answer.status == 204:
        return web.Response(status=204)
    body: dict[str, Any] = {"success": True, "data": answer.data}
    if answer.meta is not None:
        body["meta"] = answer.meta
    return _json(body, answer.status)


def _error(exc: GatewayError) -> web.Response:
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
    return _json({"success": False, "error": exc.envelope()}, exc.status, headers)


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.body_exists:
        return {}
    try:
        body = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        raise GatewayError(400, "VALIDATION_ERROR", "The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise GatewayError(400, "VALIDATION_ERROR", "The request body must be a JSON object")
    return body


Route = Callable[[VibecodeGateway, Credential, web.Request], Awaitable[web.Response]]


def _serve(gateway: VibecodeGateway, route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        if route is _batch and not gateway.batch:
            gateway.rejections["NO_BATCH_ROUTE"] += 1
            raise web.HTTPNotFound()  # aiohttp's own answer to a path it does not route
        gateway.requests += 1
        try:
            credential = gateway.authenticate(request)
            return await route(gateway, credential, request)
        except GatewayError as exc:
            gateway.rejections[exc.code] += 1
            return _error(exc)
        except Exception:  # never a traceback page
            log.exception("gateway route failed on %s", request.path)
            gateway.rejections["INTERNAL_ERROR"] += 1
            return _error(GatewayError(500, "INTERNAL_ERROR", "Internal error"))

    return handle


async def _list_workflows(gw: VibecodeGateway, cred: Credential, request: web.Request) -> web.Response:
    return _answer(run_route(gw.portal.runner, cred, "workflows.list", dict(request.query)))


async def _start(gw: VibecodeGateway, cred: Credential, request: web.Request) -> web.Response:
    return _answer(run_route(gw.portal.runner, cred, "workflows.start", await _body(request)))


async def _event(gw: VibecodeGateway, cred: Credential, request: web.Request) -> web.Response:
    return _answer(run_route(gw.portal.runner, cred, "workflows.event", await _body(request)))


async def _delete(gw: VibecodeGateway, cred: Credential, request: web.Request) -> web.Response:
    args: dict[str, Any] = dict(request.query)
    args["entityId"] = request.match_info["id"]
    return _answer(run_route(gw.portal.runner, cred, "workflows.delete", args))


async def _templates(gw: VibecodeGateway, cred: Credential, request: web.Request) -> web.Response:
    return _answer(run_route(gw.portal.runner, cred, "bizproc-templates.list", _query_args(request)))


async def _batch(gw: VibecodeGateway, cred: Credential, request: web.Request) -> web.Response:
    gw.batches += 1
    return _answer(run_batch(gw.portal.runner, cred, await _body(request)))


def _query_args(request: web.Request) -> dict[str, Any]:
    """Query arguments with ``order[field]=dir`` gathered into an ``order`` mapping."""
    args: dict[str, Any] = {}
    order: dict[str, str] = {}
    for name, value in request.query.items():
        if name.startswith("order[") and name.endswith("]"):
            order[name[6:-1]] = value
        else:
            args[name] = value
    if order:
        args["order"] = order
    return args


def add_vibecode_routes(
    app: web.Application, portal: GatewayHost, *, per_minute: int = 300
) -> VibecodeGateway:
    """Mount the gateway's ``/v1`` routes on ``app`` (before it starts) and return the gateway."""
    if GATEWAY_KEY in app:
        raise RuntimeError("the Vibecode gateway's routes are already mounted on this application")
    gateway = VibecodeGateway(portal, per_minute=per_minute)
    app[GATEWAY_KEY] = gateway
    router = app.router
    router.add_get("/v1/workflows", _serve(gateway, _list_workflows))
    router.add_post("/v1/workflows/start", _serve(gateway, _start))
    router.add_post("/v1/workflows/event", _serve(gateway, _event))
    router.add_delete("/v1/workflows/{id}", _serve(gateway, _delete))
    router.add_get("/v1/entities/bizproc-templates", _serve(gateway, _templates))
    router.add_post("/v1/batch", _serve(gateway, _batch))
    return gateway
