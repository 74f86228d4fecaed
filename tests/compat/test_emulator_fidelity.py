"""The emulated portal answers the corpus' requests as the real portal did: status, keys, types, codes, texts.

For each corpus entry whose method the emulator serves, the equivalent request goes to the emulated portal and
its answer is compared with the real body: the HTTP status, the error code and description, or the envelope's
keys (``result``/``total``/``next``/``time``), the result's JSON type and, for list rows, the same keys with
the same JSON types for the same ``select``. Empty real values (``""``, ``{}``, ``null``) match any type.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from bitrix_bizproc.emulator import EmulatedPortal
from bitrix_bizproc.emulator.handlers.templates import encode_template_data
from bitrix_bizproc.emulator.seed import seed

from ._corpus import ENTRIES

BY_ID = {e["id"]: e for e in ENTRIES}
Call = Callable[[str, dict[str, Any]], Awaitable[tuple[int, Any]]]
DEAL = ["crm", "CCrmDocumentDeal", "DEAL"]
BPT = encode_template_data({"PARAMETERS": {}})
ROBOT = {
    "CODE": "md5_action",
    "HANDLER": "https://example.com/handler.php",
    "NAME": {"en": "Robot"},
    "PROPERTIES": {"text": {"Name": {"en": "Text"}, "Type": "string"}},
}


class Portal:
    """The emulated portal seen through its three kinds of caller: admin webhook, employee webhook, app."""

    def __init__(self, portal: EmulatedPortal, http: aiohttp.ClientSession) -> None:
        self.portal, self.http = portal, http
        self.summary = seed(portal.state, users=6, templates=6, instances=30, tasks_ratio=1.0, seed=3)
        employee = next(u for u in portal.state.users if not u.is_admin and u.active)
        self.employee_hook = portal.add_webhook(employee.id)
        self.token = portal.issue_tokens()["access_token"]

    async def _post(self, url: str, params: dict[str, Any]) -> tuple[int, Any]:
        async with self.http.post(url, json=params) as response:
            return response.status, await response.json()

    async def admin(self, method: str, params: dict[str, Any]) -> tuple[int, Any]:
        return await self._post(self.portal.webhook_url + method, params)

    async def employee(self, method: str, params: dict[str, Any]) -> tuple[int, Any]:
        return await self._post(self.employee_hook + method, params)

    async def app(self, method: str, params: dict[str, Any]) -> tuple[int, Any]:
        return await self._post(self.portal.rest_url + method, {**params, "auth": self.token})

    def workflow_id(self) -> str:
        return next(iter(self.portal.state.instances)).id

    def template(self) -> Any:
        return next(t for t in self.portal.state.templates if t.auto_execute != 64)

    def task(self, activity: str) -> Any:
        return next(t for t in self.portal.state.tasks if t.activity == activity)


async def _foreign_template(p: Portal) -> tuple[int, Any]:
    made = p.portal.state.add_template("UI made", DEAL)
    return await p.app("bizproc.workflow.template.update", {"ID": made.id, "FIELDS": {"NAME": "x"}})


async def _own_template(p: Portal) -> int:
    status, body = await p.app(
        "bizproc.workflow.template.add",
        {"DOCUMENT_TYPE": DEAL, "NAME": "Mine", "TEMPLATE_DATA": BPT},
    )
    assert status == 200, body
    return int(body["result"])


async def _robot(p: Portal, method: str, extra: dict[str, Any] | None = None) -> tuple[int, Any]:
    """Register the app's robot (or activity, by the method's prefix), then call ``method`` on it."""
    await p.app(method.rsplit(".", 1)[0] + ".add", ROBOT)
    return await p.app(method, {"CODE": ROBOT["CODE"], **(extra or {})})


async def _start(p: Portal) -> tuple[int, Any]:
    tpl = p.template()
    document = [tpl.module_id, tpl.entity, f"{tpl.document_type}_1"]
    return await p.admin("bizproc.workflow.start", {"TEMPLATE_ID": tpl.id, "DOCUMENT_ID": document})


def _delegate(task_ids: list[int], from_user: int) -> dict[str, Any]:
    return {"TASK_IDS": task_ids, "FROM_USER_ID": from_user, "TO_USER_ID": 1}


async def _twice(p: Portal, method: str) -> tuple[int, Any]:
    await p.app(method, ROBOT)
    return await p.app(method, ROBOT)


async def _complete_twice(p: Portal) -> tuple[int, Any]:
    await _complete(p)
    return await _complete(p)


async def _complete(p: Portal) -> tuple[int, Any]:
    task = p.task("ApproveActivity")
    hook = p.portal.add_webhook(task.user_id)
    return await p._post(hook + "bizproc.task.complete", {"TASK_ID": task.id, "STATUS": 1})


def _select(entry_id: str) -> list[str]:
    return list(BY_ID[entry_id]["body"]["result"][0])


Scenario = Callable[[Portal], Awaitable[tuple[int, Any]]]
SCENARIOS: dict[str, Scenario] = {
    # successes
    "docs-095": lambda p: p.admin("bizproc.workflow.instances", {"select": _select("docs-095")}),
    "docs-145": lambda p: p.admin("bizproc.workflow.instances", {"select": ["ID", "STARTED"]}),
    "docs-118": lambda p: p.admin("bizproc.workflow.template.list", {"select": _select("docs-118")}),
    "docs-092": lambda p: p.admin("bizproc.task.list", {"select": _select("docs-092")}),
    "docs-148": lambda p: p.admin("bizproc.task.list", {"select": _select("docs-148")}),
    "docs-129": lambda p: p.admin("user.get", {}),
    "docs-147": lambda p: p.admin("user.get", {"filter": {"ACTIVE": False}}),
    "docs-022": lambda p: p.app("bizproc.activity.list", {}),
    "docs-063": lambda p: p.app("bizproc.robot.list", {}),
    "docs-100": _start,
    "docs-097": lambda p: p.admin("bizproc.workflow.kill", {"ID": p.workflow_id()}),
    "docs-104": lambda p: p.admin("bizproc.workflow.terminate", {"ID": p.workflow_id(), "STATUS": "stop"}),
    "docs-107": lambda p: p.app(
        "bizproc.workflow.template.add", {"DOCUMENT_TYPE": DEAL, "NAME": "Mine", "TEMPLATE_DATA": BPT}
    ),
    "docs-042": lambda p: p.app("bizproc.robot.add", ROBOT),
    "docs-001": lambda p: p.app("bizproc.activity.add", ROBOT),
    "docs-057": lambda p: _robot(p, "bizproc.robot.delete"),
    "docs-066": lambda p: _robot(p, "bizproc.robot.update", {"FIELDS": {"NAME": {"en": "Renamed"}}}),
    "docs-078": _complete,
    # errors
    "docs-096": lambda p: p.employee("bizproc.workflow.instances", {}),
    "docs-041": lambda p: p.employee("bizproc.event.send", {"EVENT_TOKEN": "x|y|z"}),
    "docs-099": lambda p: p.admin("bizproc.workflow.kill", {"ID": ""}),
    "docs-106": lambda p: p.admin("bizproc.workflow.terminate", {"ID": ""}),
    "docs-101": lambda p: p.admin("bizproc.workflow.start", {"DOCUMENT_ID": DEAL}),
    "docs-102": lambda p: p.admin("bizproc.workflow.start", {"TEMPLATE_ID": 999, "DOCUMENT_ID": DEAL}),
    "server-008": lambda p: p.admin("bizproc.workflow.template.add", {"NAME": "x"}),
    "server-009": lambda p: p.employee("bizproc.workflow.template.list", {}),
    "docs-108": lambda p: p.app("bizproc.workflow.template.add", {"NAME": "x", "DOCUMENT_TYPE": "deal"}),
    "docs-111": lambda p: p.app("bizproc.workflow.template.add", {"DOCUMENT_TYPE": DEAL, "NAME": " "}),
    "docs-002": lambda p: p.app("bizproc.activity.add", {**ROBOT, "CODE": ""}),
    "docs-043": lambda p: p.app("bizproc.robot.add", {**ROBOT, "CODE": ""}),
    "docs-007": lambda p: p.app("bizproc.activity.add", {**ROBOT, "HANDLER": "ftp://example.com/h"}),
    "docs-058": lambda p: p.app("bizproc.robot.delete", {"CODE": "nope"}),
    "docs-079": lambda p: p.admin("bizproc.task.complete", {"TASK_ID": 1, "STATUS": "maybe"}),
    "docs-080": lambda p: p.admin("bizproc.task.complete", {"STATUS": 1}),
    "docs-094": lambda p: p.admin("bizproc.task.list", {"select": "ID"}),
    "docs-006": lambda p: p.app("bizproc.activity.add", {**ROBOT, "CODE": "bad code!"}),
    "docs-008": lambda p: p.app("bizproc.activity.add", {**ROBOT, "HANDLER": "not a url"}),
    "docs-009": lambda p: p.app("bizproc.activity.add", {**ROBOT, "NAME": ""}),
    "docs-010": lambda p: p.app("bizproc.activity.add", {**ROBOT, "PROPERTIES": "x"}),
    "docs-011": lambda p: p.app("bizproc.activity.add", {**ROBOT, "FILTER": "x"}),
    "docs-012": lambda p: p.app("bizproc.activity.add", {**ROBOT, "DOCUMENT_TYPE": ["x"]}),
    "docs-013": lambda p: _twice(p, "bizproc.activity.add"),
    "server-012": lambda p: _twice(p, "bizproc.robot.add"),
    "docs-039": lambda p: _robot(p, "bizproc.activity.update", {"FIELDS": {"NAME": ""}}),
    "docs-077": lambda p: _robot(p, "bizproc.robot.update", {"FIELDS": {"NAME": ""}}),
    "server-010": lambda p: p.admin("bizproc.task.complete", {"TASK_ID": 99999, "STATUS": 1}),
    "server-011": _complete_twice,
    "docs-086": lambda p: p.admin("bizproc.task.delegate", _delegate([1], 0)),
    "docs-087": lambda p: p.admin("bizproc.task.delegate", _delegate([], 1)),
    "docs-112": lambda p: p.app(
        "bizproc.workflow.template.add",
        {"DOCUMENT_TYPE": DEAL, "NAME": "x", "AUTO_EXECUTE": 9, "TEMPLATE_DATA": BPT},
    ),
    "docs-113": lambda p: p.app(
        "bizproc.workflow.template.add", {"DOCUMENT_TYPE": DEAL, "NAME": "x", "TEMPLATE_DATA": "%%"}
    ),
    "server-001": _foreign_template,
    "server-003": lambda p: p.app("bizproc.workflow.template.delete", {"ID": 9999}),
    "server-004": lambda p: p.app("bizproc.workflow.template.update", {"ID": 1}),
    "server-006": lambda p: p.admin(
        "bizproc.workflow.start", {"TEMPLATE_ID": p.template().id, "DOCUMENT_ID": "x"}
    ),
    "b24pysdk-006": lambda p: p._post(
        p.portal.add_webhook(1, scopes=["user"]) + "bizproc.workflow.instances", {}
    ),
    "b24pysdk-005": lambda p: p._post(
        p.portal.rest_url + "bizproc.workflow.instances",
        {"auth": p.portal.issue_tokens(scopes=["user"])["access_token"]},
    ),
    "b24pysdk-007": lambda p: p._post(f"{p.portal.base_url}/rest/1/wrongcode/user.get", {}),
    "b24pysdk-021": lambda p: p._post(p.portal.rest_url + "user.get", {}),
    "b24pysdk-004": lambda p: _expired(p),
    "docs-154": lambda p: p._post(
        p.portal.add_webhook(1, scopes=["user"]) + "batch",
        {"halt": 0, "cmd": {"get_user": "bizproc.task.list", "get_department": "bizproc.workflow.instances"}},
    ),
    "docs-155": lambda p: p._post(
        p.portal.add_webhook(1, scopes=["user"]) + "batch",
        {"halt": 1, "cmd": {"get_user": "bizproc.task.list", "get_department": "bizproc.workflow.instances"}},
    ),
}


async def _expired(p: Portal) -> tuple[int, Any]:
    token = p.portal.issue_tokens()["access_token"]
    p.portal.auth.expire_access_tokens()
    return await p._post(p.portal.rest_url + "user.get", {"auth": token})


def _empty(value: Any) -> bool:
    return value in ("", None, {}, [])


def _json_type(value: Any) -> str:
    return (
        "number" if isinstance(value, int | float) and not isinstance(value, bool) else type(value).__name__
    )


def _compare_rows(real: list[Any], emulated: list[Any], *, exact: bool) -> None:
    assert emulated, "the emulator returned no rows to compare"
    real_keys = set(real[0])
    emu_keys = set(emulated[0])
    if exact:
        assert emu_keys == real_keys, f"missing {real_keys - emu_keys}, extra {emu_keys - real_keys}"
    else:
        assert real_keys <= emu_keys, f"missing {real_keys - emu_keys}"
    for key in real_keys:
        real_value, emu_value = real[0][key], emulated[0][key]
        if not _empty(real_value) and not _empty(emu_value):
            assert _json_type(emu_value) == _json_type(real_value), f"{key}: {emu_value!r} vs {real_value!r}"


def _compare_batch(real: dict[str, Any], emulated: dict[str, Any]) -> None:
    for section in ("result", "result_error", "result_total", "result_next", "result_time"):
        assert _json_type(emulated[section]) == _json_type(real[section]), section  # PHP: [] when empty
    assert emulated["result_error"] == real["result_error"]


def compare(entry: dict[str, Any], status: int, body: Any) -> None:
    """Assert the emulated answer has the real one's status and shape (or code and description)."""
    real = entry["body"]
    allowed = {entry["http_status"], *entry.get("also_seen_status", [])}
    assert status in allowed, f"HTTP {status}, real {sorted(allowed)}: {body}"
    if "error" in real:
        assert (body.get("error"), body.get("error_description")) == (
            real["error"],
            real.get("error_description"),
        )
        return
    assert "error" not in body, body
    for key in ("total", "next", "time"):
        if key in real:
            assert key in body, f"{key} missing"
    if entry["method"] == "batch":
        _compare_batch(real["result"], body["result"])
        return
    if "time" in real:
        assert set(real["time"]) <= set(body["time"]), set(real["time"]) - set(body["time"])
    assert _json_type(body["result"]) == _json_type(real["result"]), (body["result"], real["result"])
    if isinstance(real["result"], list) and real["result"] and isinstance(real["result"][0], dict):
        _compare_rows(real["result"], body["result"], exact=entry["source"].startswith("api-reference"))


@pytest.mark.parametrize("entry_id", sorted(SCENARIOS))
async def test_emulator_answers_as_the_real_portal(portal: EmulatedPortal, entry_id: str) -> None:
    async with aiohttp.ClientSession() as http:
        p = Portal(portal, http)
        status, body = await SCENARIOS[entry_id](p)
    compare(BY_ID[entry_id], status, body)


def test_the_comparison_covers_most_methods_the_emulator_serves() -> None:
    methods = {BY_ID[i]["method"] for i in SCENARIOS}
    assert len(SCENARIOS) >= 40 and len(methods) >= 15, (len(SCENARIOS), methods)
