"""The official Python SDK (b24pysdk) against the emulated portal: `python tests/compat/b24pysdk_interop.py`.

Not part of the suite (b24pysdk is no dependency: ``pip install b24pysdk`` first). The SDK only speaks
``https://``; for this run its two URL builders are pointed at the emulator's plain HTTP. It prints one line
per call, the tally, and how the SDK classifies two refusals the emulator copies from live portals
(``insufficient_scope`` is HTTP 401, an unknown ``client_id`` is HTTP 200 ``wrong_client``).
"""

from __future__ import annotations

import asyncio
import base64
import importlib
import json
import threading
import zlib
from collections.abc import Callable
from typing import Any

from b24pysdk import Client
from b24pysdk.credentials import BitrixApp, BitrixToken, BitrixWebhook
from b24pysdk.errors import BitrixAPIInsufficientScope
from b24pysdk.errors.oauth import BitrixOauthWrongClient

from bitrix_bizproc.emulator import EmulatedPortal
from bitrix_bizproc.emulator.seed import seed

DEAL = ("crm", "CCrmDocumentDeal", "DEAL")
PROPERTIES = {"inputField": {"Name": {"en": "Input"}, "Type": "string", "Required": "Y", "Multiple": "N"}}
RETURNS = {"outputField": {"Name": {"en": "Result"}, "Type": "string", "Multiple": "N", "Default": None}}
BPT = base64.b64encode(zlib.compress(json.dumps({"PARAMETERS": {}}).encode())).decode()


def _serve() -> EmulatedPortal:
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    portal = EmulatedPortal()
    asyncio.run_coroutine_threadsafe(portal.start(), loop).result()
    caller = importlib.import_module("b24pysdk.api.callers.call_method")
    caller._MethodCaller._base_url = property(lambda self: f"http://{self._domain}/rest")
    requester = importlib.import_module("b24pysdk.api.requesters.bitrix_oauth_requester")
    requester.BitrixOAuthRequester._OAUTH_TOKEN_URL = portal.token_url
    return portal


def _hook(portal: EmulatedPortal, url: str) -> Client:
    host = portal.base_url.split("://")[1]
    return Client(BitrixWebhook(domain=host, webhook_token=url.rstrip("/").split("/rest/")[1]))


def main() -> None:
    portal = _serve()
    seed(portal.state, users=5, templates=4, instances=12, tasks_ratio=1.0, seed=1)
    host = portal.base_url.split("://")[1]
    hook = _hook(portal, portal.webhook_url)
    tokens = portal.issue_tokens()
    oauth_app = BitrixApp(client_id=portal.oauth_app.client_id, client_secret=portal.oauth_app.client_secret)
    token = BitrixToken(
        domain=host,
        auth_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        bitrix_app=oauth_app,
    )
    app = Client(token)
    tpl = next(t for t in portal.state.templates if t.auto_execute != 64)
    task = next(t for t in portal.state.tasks if t.activity == "ApproveActivity")
    kill, stop = [w.id for w in portal.state.instances if w.id != task.workflow_id][:2]
    robot = {"handler": "https://example.com/h", "description": "d", "properties": PROPERTIES}
    robot |= {"return_properties": RETURNS, "document_type": DEAL, "use_subscription": True}
    calls: list[tuple[str, Callable[[], Any], Callable[[Any], bool]]] = [
        ("robot.add", lambda: app.bizproc.robot.add(code="sdk_robot", name="R", **robot), lambda r: r),
        (
            "robot.update",
            lambda: app.bizproc.robot.update(code="sdk_robot", fields={"NAME": "U"}),
            lambda r: r,
        ),
        ("robot.list", lambda: app.bizproc.robot.list(), lambda r: r == ["sdk_robot"]),
        ("robot.delete", lambda: app.bizproc.robot.delete(code="sdk_robot"), lambda r: r is True),
        ("activity.add", lambda: app.bizproc.activity.add(code="sdk_act", name="A", **robot), lambda r: r),
        (
            "activity.update",
            lambda: app.bizproc.activity.update(code="sdk_act", fields={"NAME": "U"}),
            lambda r: r,
        ),
        ("activity.list", lambda: app.bizproc.activity.list(), lambda r: r == ["sdk_act"]),
        ("activity.delete", lambda: app.bizproc.activity.delete(code="sdk_act"), lambda r: r is True),
        ("task.list", lambda: hook.bizproc.task.list(select=["ID", "NAME"]), lambda r: bool(r)),
        ("workflow.instances", lambda: hook.bizproc.workflow.instances(select=["ID"]), lambda r: len(r) > 9),
        (
            "workflow.template.list",
            lambda: hook.bizproc.workflow.template.list(select=["ID"]),
            lambda r: bool(r),
        ),
        (
            "workflow.template.add",
            lambda: app.bizproc.workflow.template.add(
                document_type=DEAL, name="T", template_data=("t.bpt", BPT)
            ),
            lambda r: isinstance(r, int),
        ),
        (
            "workflow.start",
            lambda: hook.bizproc.workflow.start(
                template_id=tpl.id, document_id=[tpl.module_id, tpl.entity, f"{tpl.document_type}_7"]
            ),
            lambda r: isinstance(r, str),
        ),
        (
            "workflow.terminate",
            lambda: hook.bizproc.workflow.terminate(bitrix_id=stop, status="x"),
            lambda r: r,
        ),
        ("workflow.kill", lambda: hook.bizproc.workflow.kill(bitrix_id=kill), lambda r: r is True),
        (
            "task.complete",
            lambda: _hook(portal, portal.add_webhook(task.user_id)).bizproc.task.complete(
                task_id=task.id, status=1
            ),
            lambda r: r is True,
        ),
        ("user.get", lambda: hook.user.get(filter={"ACTIVE": True}), lambda r: bool(r)),
        ("batch", lambda: hook.call_batch({"a": hook.user.get()}), lambda r: r is not None),
    ]
    passed = 0
    for name, call, good in calls:
        try:
            ok = bool(good(call().response.result))
        except Exception as exc:  # a report, not a test
            ok = False
            print(f"  {type(exc).__name__}: {exc}")
        passed += ok
        print(f"{name:24} {'pass' if ok else 'FAIL'}")
    try:
        token.refresh_oauth_token()
        print(f"{'token refresh':24} pass")
        passed += 1
    except Exception as exc:
        print(f"{'token refresh':24} FAIL {type(exc).__name__}: {exc}")
    print(f"{passed}/{len(calls) + 1} calls answered as the SDK expects")
    narrow = _hook(portal, portal.add_webhook(1, scopes=["user"]))
    try:
        print(narrow.bizproc.workflow.instances().response.result)
    except BitrixAPIInsufficientScope as exc:
        print(f"insufficient_scope: {type(exc).__name__}, HTTP {exc.status_code} (the SDK expects 401)")
    wrong = BitrixApp(client_id="WRONG_CLIENT_ID_12345", client_secret=portal.oauth_app.client_secret)
    try:
        wrong.refresh_oauth_token(tokens["refresh_token"])
    except BitrixOauthWrongClient as exc:
        print(f"wrong client_id: {type(exc).__name__}, HTTP {exc.status_code} (the SDK expects 200)")


if __name__ == "__main__":
    main()
