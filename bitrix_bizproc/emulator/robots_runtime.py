"""The emulated portal runs app robots and activities: it POSTs to their handlers and waits for the answer.

When a started workflow reaches a registered robot or activity (a ``RestActivity`` step of its template,
``{"activity": "RestActivity", "code": "md5", "properties": {...}, "timeout_duration": 60}``), the portal
POSTs the real-shaped form (``workflow_id``, ``code``, ``document_id[]``, ``document_type[]``,
``event_token``, ``properties[]``, ``use_subscription``, ``timeout_duration``, ``ts``, ``auth[...]``) to the
robot's ``HANDLER``. With ``USE_SUBSCRIPTION`` Y the workflow waits for ``bizproc.event.send`` (the return
values are kept on the event token and on the :class:`RobotRun`), or, once ``timeout_duration`` seconds
pass on the portal's clock, times out and moves on; with N it moves on once the request is delivered.
``install(url)`` sends ``ONAPPINSTALL`` with fresh tokens and a new ``application_token``;
``uninstall()`` sends ``ONAPPUNINSTALL`` and revokes the app's tokens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

import aiohttp
import attrs
from aiohttp import web

from ..protocol.encoding import encode_query
from .host import RobotsHost
from .records import AppActivity, EventToken, Workflow

__all__ = ["RobotRun", "RobotsRuntime"]

log = logging.getLogger(__name__)

_FORM = {"Content-Type": "application/x-www-form-urlencoded"}
_POLL = 0.02  # seconds between checks of the portal clock for timeouts


@attrs.define(eq=False)
class RobotRun:
    """One call of an app's robot by a workflow, and how it ended."""

    code: str
    workflow_id: str
    handler: str
    token: EventToken
    use_subscription: bool
    deadline: float | None  # on the portal's clock; None: waits for ever
    http_status: int | None = None  # the handler's answer to the POST
    error: str | None = None  # why the POST failed (no answer)
    timed_out: bool = False

    @property
    def status(self) -> str:
        """``sending``, ``waiting``, ``completed`` (answered), ``timed_out``, ``delivered`` (no wait)."""
        if self.timed_out:
            return "timed_out"
        if self.token.return_values is not None:
            return "completed"
        if not self.use_subscription and self.http_status is not None:
            return "delivered"
        return "waiting" if self.http_status is not None or self.error else "sending"

    @property
    def return_values(self) -> dict[str, Any] | None:
        """What the app sent with ``bizproc.event.send`` (``None`` until then)."""
        return self.token.return_values


class RobotsRuntime:
    """Calls the handlers of app robots for one emulated portal (``portal.robots``)."""

    def __init__(self, portal: RobotsHost) -> None:
        self._portal = portal
        self.application_token: str | None = None
        self.install_url: str | None = None
        self.runs: list[RobotRun] = []
        self.deliveries: list[tuple[str, int | None]] = []  # (event or robot code, HTTP status)
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._watcher: asyncio.Task[None] | None = None
        portal.state.on_app_activity = self._reached
        portal.app.on_cleanup.append(self._cleanup)

    # ---- install -------------------------------------------------------------------------------------------

    def _auth(self, user_id: int, scopes: Iterable[str] | None = None) -> dict[str, Any]:
        """``auth[...]`` as the portal sends it to an app: fresh tokens, the portal, the app's secret."""
        portal = self._portal
        if self.application_token is None:
            self.application_token = secrets.token_hex(16)
        auth = portal.auth.issue_tokens(user_id, scopes)
        auth["domain"] = portal.config.domain  # the portal's name (the token server reports its own)
        auth["application_token"] = self.application_token
        return auth

    async def install(
        self, handler_url: str, *, user_id: int = 1, scopes: Iterable[str] | None = None, language: str = "en"
    ) -> int:
        """Send ``ONAPPINSTALL`` to ``handler_url`` (a new ``application_token``); the HTTP status."""
        self.application_token = secrets.token_hex(16)
        self.install_url = handler_url
        payload = {
            "event": "ONAPPINSTALL",
            "data": {"VERSION": "1", "LANGUAGE_ID": language},  # as a live portal sends it
            "ts": int(self._portal.clock()),
            "auth": self._auth(user_id, scopes),
        }
        return await self._post_event("ONAPPINSTALL", handler_url, payload)

    async def uninstall(self, *, clean: bool = False) -> int:
        """Send ``ONAPPUNINSTALL`` to the install URL; the app's REST access ends with it."""
        if self.install_url is None or self.application_token is None:
            raise RuntimeError("no app is installed: call install() first")
        portal = self._portal
        payload = {
            "event": "ONAPPUNINSTALL",
            "data": {"CLEAN": "1" if clean else "0"},
            "ts": int(portal.clock()),
            "auth": {
                "domain": portal.config.domain,
                "member_id": portal.config.member_id,
                "application_token": self.application_token,
            },
        }
        status = await self._post_event("ONAPPUNINSTALL", self.install_url, payload)
        self.application_token = self.install_url = None
        portal.auth.revoke_tokens()  # as on a live portal, the app's tokens stop working
        return status

    async def _post_event(self, name: str, url: str, payload: Mapping[str, Any]) -> int:
        status = await self._post(url, payload)
        self.deliveries.append((name, status))
        if status is None:
            raise RuntimeError(f"{name} could not be delivered to the handler")
        return status

    # ---- robots --------------------------------------------------------------------------------------------

    def _reached(
        self, workflow: Workflow, token: EventToken, activity: AppActivity, spec: Mapping[str, Any]
    ) -> None:
        handler = activity.fields.get("HANDLER")
        if not isinstance(handler, str) or not handler:
            return
        portal = self._portal
        timeout = float(spec.get("timeout_duration") or 0)
        run = RobotRun(
            code=activity.code,
            workflow_id=workflow.id,
            handler=handler,
            token=token,
            use_subscription=token.use_subscription,
            deadline=portal.clock() + timeout if timeout > 0 and token.use_subscription else None,
        )
        self.runs.append(run)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a workflow started from plain code, with no loop to POST from
            run.error = "no running event loop"
            return
        payload = self._robot_payload(workflow, token, activity, spec, int(timeout))
        task = loop.create_task(self._deliver(run, payload))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if run.deadline is not None and (self._watcher is None or self._watcher.done()):
            self._watcher = loop.create_task(self._watch())

    def _robot_payload(
        self,
        workflow: Workflow,
        token: EventToken,
        activity: AppActivity,
        spec: Mapping[str, Any],
        timeout: int,
    ) -> dict[str, Any]:
        template = self._portal.state.templates.get(workflow.template_id)
        doc_type = template.document_type if template else workflow.document_id.split("_", 1)[0]
        declared = activity.fields.get("PROPERTIES") or {}
        properties = {
            key: prop.get("Default", prop.get("DEFAULT"))
            for key, prop in declared.items()
            if isinstance(prop, Mapping) and ("Default" in prop or "DEFAULT" in prop)
        }
        properties.update(spec.get("properties") or {})
        user = activity.fields.get("AUTH_USER_ID") or workflow.started_by
        return {
            "workflow_id": workflow.id,
            "code": activity.code,
            "document_id": [workflow.module_id, workflow.entity, workflow.document_id],
            "document_type": [workflow.module_id, workflow.entity, doc_type],
            "event_token": token.token,
            "properties": properties,
            "use_subscription": "Y" if token.use_subscription else "N",
            "timeout_duration": timeout,
            "ts": int(self._portal.clock()),
            "auth": self._auth(int(user)),
        }

    async def _deliver(self, run: RobotRun, payload: Mapping[str, Any]) -> None:
        try:
            run.http_status = await self._post(run.handler, payload)
        except Exception as exc:  # never let a handler's failure take the portal down
            run.error = type(exc).__name__
        if run.http_status is None and run.error is None:
            run.error = "no answer"
        if not run.use_subscription and run.http_status is not None:
            self._portal.state.finish_app_activity(run.token)

    async def _post(self, url: str, payload: Mapping[str, Any]) -> int | None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        try:
            body = encode_query(payload).encode()
            async with self._session.post(url, data=body, headers=_FORM) as response:
                await response.read()
                return response.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("could not reach the app handler: %s", type(exc).__name__)  # the URL may hold secrets
            return None

    # ---- waiting and timeouts ------------------------------------------------------------------------------

    def expire_overdue(self) -> list[RobotRun]:
        """Time out every waiting run past its deadline on the portal's clock; the workflows move on."""
        now = self._portal.clock()
        expired = []
        for run in self.runs:
            waiting = not run.token.used and not run.timed_out
            if waiting and run.deadline is not None and now >= run.deadline:
                run.timed_out = True
                self._portal.state.finish_app_activity(run.token)
                expired.append(run)
        return expired

    async def _watch(self) -> None:
        while any(r.deadline is not None and not r.token.used for r in self.runs):
            self.expire_overdue()
            await asyncio.sleep(_POLL)

    async def wait(self, workflow_id: str, *, within: float = 10.0) -> Workflow:
        """The workflow's record once it is no longer running (``within`` real seconds, else TimeoutError)."""
        async with asyncio.timeout(within):
            while True:
                self.expire_overdue()
                record = self._portal.state.instance(workflow_id)
                if record is None or record.state != "Running":
                    if record is None:
                        raise LookupError(f"no workflow {workflow_id!r}")
                    return record
                await asyncio.sleep(_POLL)

    def runs_of(self, workflow_id: str) -> list[RobotRun]:
        """The robot runs of one workflow, in the order they started."""
        return [r for r in self.runs if r.workflow_id == workflow_id]

    async def drain(self) -> None:
        """Wait until every POST started so far has been answered (or failed)."""
        # Only unfinished ones: on Python 3.12+ gather of finished tasks does not yield, and the set is
        # emptied by done-callbacks (the emulator keeps to the protocol core, so not _tasks.wait_for_all).
        while pending := [task for task in self._tasks if not task.done()]:
            await asyncio.gather(*pending, return_exceptions=True)

    async def aclose(self) -> None:
        """Stop the timeout watcher, cancel POSTs in flight, and close the HTTP session."""
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def _cleanup(self, _: web.Application) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"RobotsRuntime(runs={len(self.runs)}, installed={self.install_url is not None})"
