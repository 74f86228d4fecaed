"""The aiohttp application of the emulated portal: REST calls, batch, the token server, faults, Vibecode."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import web

from ..protocol.encoding import parse_query
from .auth import Credential, TokenError
from .batch import run_batch, upper_keys
from .context import PortalError
from .faults import Fault, FaultKind, html_error_page, maintenance_page
from .host import PortalHost
from .limits import BatchBilling
from .runner import time_block
from .vibecode import add_vibecode_routes

__all__ = ["PORTAL_KEY", "RestHandler", "build_app", "json_response", "read_params"]

log = logging.getLogger(__name__)

PORTAL_KEY: web.AppKey[PortalHost] = web.AppKey("portal")
_JSON = "application/json"


def _dumps(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def json_response(body: Any, status: int = 200) -> web.Response:
    """A JSON answer."""
    return web.Response(body=_dumps(body), status=status, content_type=_JSON, charset="utf-8")


def _error(exc: PortalError | TokenError) -> web.Response:
    if exc.description is None:  # the token server's wrong_client carries no description
        return json_response({"error": exc.code}, exc.status)
    return json_response({"error": exc.code, "error_description": exc.description}, exc.status)


def _bad_request(description: str) -> PortalError:
    return PortalError("INVALID_REQUEST", description, 400)


async def read_params(request: web.Request, max_bytes: int) -> dict[str, Any]:
    """Query-string and body parameters merged (the body wins), or a 400/413 PortalError."""
    params: dict[str, Any] = parse_query(request.query_string) if request.query_string else {}
    if not request.body_exists:
        return params
    if request.content_length is not None and request.content_length > max_bytes:
        raise PortalError("INVALID_REQUEST", f"Request body is larger than {max_bytes} bytes", 413)
    raw = await request.content.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise PortalError("INVALID_REQUEST", f"Request body is larger than {max_bytes} bytes", 413)
    if not raw.strip():
        return params
    if request.content_type == "application/x-www-form-urlencoded":
        try:
            params.update(parse_query(raw.decode()))
        except UnicodeDecodeError:
            raise _bad_request("Request body is not valid UTF-8") from None
        return params
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise _bad_request("Request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise _bad_request("Request body must be a JSON object")
    params.update(body)
    return params


class RestHandler:
    """Serves ``/rest/...`` and ``/oauth/token/`` for one portal."""

    def __init__(self, portal: PortalHost) -> None:
        self.portal = portal

    async def rest(self, request: web.Request) -> web.StreamResponse:
        portal = self.portal
        portal.counters.requests += 1
        try:
            return await self._rest(request)
        except PortalError as exc:
            portal.counters.rejections[exc.code] += 1
            return _error(exc)
        except Exception:  # never a traceback page
            log.exception("emulated portal failed on a %s request", request.method)  # the path holds secrets
            portal.counters.internal_errors += 1
            portal.counters.rejections["INTERNAL_SERVER_ERROR"] += 1
            return _error(PortalError("INTERNAL_SERVER_ERROR", "Internal server error", 500))

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        portal = self.portal
        arrived = portal.clock()  # the block's ``start``: when the request came in
        parts = request.match_info["tail"].split("/")
        method = parts[-1].lower().removesuffix(".json")
        if len(parts) not in (1, 3):
            raise PortalError("ERROR_METHOD_NOT_FOUND", "Method not found!", 404)
        fault = portal.faults.take(method)
        if fault is not None and not fault.after:
            fault_response = await self._fault(request, fault)
            if fault_response is not None:
                return fault_response
        params = upper_keys(await read_params(request, portal.config.max_body_bytes), drop_auth=False)
        credential = self._authenticate(request, parts, params)
        if portal.config.overload:
            raise PortalError("OVERLOAD_LIMIT", "REST API is blocked due to overload.", 503)
        plan = portal.config.plan
        if plan.rate is not None and not portal.bucket.admit(portal.clock(), plan.rate, plan.burst):
            raise PortalError("QUERY_LIMIT_EXCEEDED", "Too many requests", 503)
        if not method:
            raise PortalError("ERROR_METHOD_NOT_FOUND", "Method not found!", 404)
        if method == "batch":
            body, commands = self._batch(credential, params, arrived)
        else:
            outcome = portal.runner.run(credential, method, params, arrived=arrived)
            if outcome.error is not None:
                raise outcome.error
            assert outcome.result is not None
            body = {"result": outcome.result.result}
            if outcome.result.next is not None:
                body["next"] = outcome.result.next
            if outcome.result.total is not None:
                body["total"] = outcome.result.total
            body["time"] = outcome.time
            commands = 1
        delay = portal.faults.latency(commands)
        if delay > 0:
            await asyncio.sleep(delay)
        if fault is not None and fault.after:  # the call ran; its answer is lost on the way
            portal.counters.lost_answers += 1
            return await self._lose_answer(request, fault, _dumps(body))
        return json_response(body)

    async def _lose_answer(self, request: web.Request, fault: Fault, body: bytes) -> web.StreamResponse:
        if fault.kind is FaultKind.TRUNCATED:
            self.portal.counters.faults[fault.kind.value] += 1
            return web.Response(body=body[: len(body) // 2], content_type=_JSON, charset="utf-8")
        if fault.kind is FaultKind.HTML:
            self.portal.counters.faults[fault.kind.value] += 1
            return web.Response(text=maintenance_page(), content_type="text/html")
        if fault.kind is FaultKind.RESET:
            self.portal.counters.faults[fault.kind.value] += 1
            response = web.StreamResponse(headers={"Content-Type": _JSON, "Content-Length": str(len(body))})
            await response.prepare(request)
            await response.write(body[: len(body) // 2])
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError
        answer = await self._fault(request, fault)
        return answer if answer is not None else web.Response(body=body, content_type=_JSON, charset="utf-8")

    def _authenticate(self, request: web.Request, parts: list[str], params: dict[str, Any]) -> Credential:
        auth = self.portal.auth
        token = params.pop("AUTH", None)
        token = params.pop("ACCESS_TOKEN", None) or token
        if len(parts) == 3:
            return auth.webhook(parts[0], parts[1])
        if not token:
            header = request.headers.get("Authorization", "")
            if header[:7].lower() == "bearer ":
                token = header[7:].strip()
        return auth.access(token if isinstance(token, str) else None)

    def _batch(
        self, credential: Credential, params: dict[str, Any], arrived: float
    ) -> tuple[dict[str, Any], int]:
        portal = self.portal
        runner = portal.runner
        per_method = portal.config.batch_billing is BatchBilling.PER_METHOD
        if not per_method:
            runner.check_budget(credential, "batch")
        portal.counters.batches += 1
        start = portal.clock()
        outcome = run_batch(runner, credential, params, bill=per_method)
        finish = portal.clock()  # measured, as the commands' blocks are: the simulated costs are charged only
        begun = min(arrived, start)
        operating = runner.charge(credential, "batch", 0.0 if per_method else outcome.charged, started=begun)
        time = time_block(begun, finish, max(0.0, finish - start), runner.tz, operating)
        return {"result": outcome.body, "time": time}, outcome.commands

    async def _fault(self, request: web.Request, fault: Fault) -> web.StreamResponse | None:
        portal = self.portal
        portal.counters.faults[fault.kind.value] += 1
        if fault.kind is FaultKind.SLOW:
            await asyncio.sleep(fault.delay)
            return None
        if fault.kind is FaultKind.QUERY_LIMIT:
            raise PortalError("QUERY_LIMIT_EXCEEDED", "Too many requests", 503)
        if fault.kind is FaultKind.DROP:
            portal.counters.rejections["DROPPED"] += 1
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError
        status = 500 if fault.kind is FaultKind.HTTP_500 else 502
        portal.counters.rejections[f"HTTP_{status}"] += 1
        return web.Response(status=status, text=html_error_page(status), content_type="text/html")

    async def token(self, request: web.Request) -> web.StreamResponse:
        portal = self.portal
        try:
            params = await read_params(request, portal.config.max_body_bytes)
        except PortalError as exc:
            return _error(exc)
        return self.grant(params)

    def grant(self, params: dict[str, Any]) -> web.Response:
        """The token server's answer to ``params`` (already read from the request)."""
        portal = self.portal
        try:
            answer = portal.auth.grant(params)
        except TokenError as exc:
            return _error(exc)
        if params.get("grant_type") == "refresh_token":
            portal.counters.token_refreshes += 1
        else:
            portal.counters.token_grants += 1
        return json_response(answer)


def build_app(portal: PortalHost) -> web.Application:
    """The aiohttp application serving ``portal``: ``/rest/``, ``/oauth/token/`` and the gateway's ``/v1``."""
    handler = RestHandler(portal)
    app = web.Application(client_max_size=1 << 30)
    app[PORTAL_KEY] = portal
    app.router.add_route("*", "/rest/{tail:.*}", handler.rest)
    app.router.add_route("*", "/oauth/token/", handler.token)
    app.router.add_route("*", "/oauth/token", handler.token)
    add_vibecode_routes(app, portal)  # the Vibecode gateway's /v1 routes, over the same state
    return app
