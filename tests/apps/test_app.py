"""BitrixApp.handle: install/uninstall wired to the token store; forged, malformed, unknown calls refused.

Requests are the recorded real shapes of tests/apps/fixtures.py; refusals must run no handler.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bitrix_bizproc import ValidationError
from bitrix_bizproc.apps import BitrixApp, Property, RobotCall
from bitrix_bizproc.fleet import FilePortalStore

from .conftest import Harness
from .fixtures import (
    ACTIVITY_CALL,
    ACTIVITY_MEMBER,
    DEAL_UPDATE_EVENT,
    FORM,
    INSTALL_APP_TOKEN,
    INSTALL_EVENT,
    INSTALL_MEMBER,
    UNINSTALL_EVENT,
    body,
)

RECORDED_INSTALL_FOR_ACTIVITY = dict(
    INSTALL_EVENT,
    **{"auth[member_id]": ACTIVITY_MEMBER, "auth[application_token]": "f9ac5db5ad4adbdee13eb034207d8fbd"},
)


def recorded_app(tmp_path: Path | None = None) -> tuple[BitrixApp, list[RobotCall]]:
    """An app declaring the recorded activity ``test_activity`` (comment: string, amount: int)."""
    app = BitrixApp(
        client_id="local.app",
        client_secret="secret",
        handler_url="https://app.example.com/b24",
        store=FilePortalStore(tmp_path) if tmp_path else None,
    )
    calls: list[RobotCall] = []

    @app.activity(
        "test_activity",
        name="Test",
        properties={"comment": Property(name="C", type="string"), "amount": Property(name="A", type="int")},
        return_properties={"result_sum": Property(name="Sum", type="int")},
    )
    async def handler(call: RobotCall) -> None:
        calls.append(call)

    return app, calls


async def install(app: BitrixApp) -> None:
    answer = await app.handle(FORM, body(list(RECORDED_INSTALL_FOR_ACTIVITY.items())))
    assert answer.status == 200


async def test_install_saves_tokens_with_the_application_token(tmp_path: Path) -> None:
    app, _ = recorded_app(tmp_path)
    assert (await app.handle(FORM, body(INSTALL_EVENT))).status == 200
    saved = json.loads((tmp_path / f"{INSTALL_MEMBER}.json").read_text())
    assert saved["application_token"] == INSTALL_APP_TOKEN
    assert saved["client_endpoint"] == "https://ntechs.bitrix24.ru/rest/"
    assert saved["member_id"] == INSTALL_MEMBER


async def test_recorded_call_after_install_runs_the_handler() -> None:
    app, calls = recorded_app()
    await install(app)
    answer = await app.handle(FORM, body(ACTIVITY_CALL))
    await app.drain()
    assert answer.status == 200
    (call,) = calls
    assert call.properties == {"comment": "дефолтная строка - значение", "amount": 333}


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"auth[application_token]": "0" * 32}, 401, "FORGED_REQUEST"),
        ({"auth[application_token]": None}, 401, "FORGED_REQUEST"),
        ({"auth[member_id]": "another-portal"}, 401, "FORGED_REQUEST"),
        ({"auth[member_id]": "../portal"}, 400, "MALFORMED_REQUEST"),  # not a member_id: no store lookup
        ({"workflow_id": None}, 400, "MALFORMED_REQUEST"),
        ({"properties[amount]": "lots"}, 400, "MALFORMED_REQUEST"),
        ({"code": "no_such_robot"}, 404, "UNKNOWN_ROBOT"),
    ],
)
async def test_refusals_run_nothing(
    changes: dict[str, str | None], status: int, code: str, caplog: pytest.LogCaptureFixture
) -> None:
    app, calls = recorded_app()
    await install(app)
    with caplog.at_level(logging.DEBUG, logger="bitrix_bizproc"):
        answer = await app.handle(FORM, body(ACTIVITY_CALL, **changes))
    await app.drain()
    assert (answer.status, answer.body["error"], calls) == (status, code, [])
    secrets = [
        "f9ac5db5ad4adbdee13eb034207d8fbd",
        "4baf4f66006e13540058f18a000000100000009b41bce7ec85f07c3646c07e6d629e7c",
    ]
    assert not any(s in caplog.text or s in json.dumps(answer.body) for s in secrets)


async def test_forged_install_over_an_existing_one_is_refused() -> None:
    app, _ = recorded_app()
    await install(app)
    forged = dict(RECORDED_INSTALL_FOR_ACTIVITY, **{"auth[application_token]": "f" * 32})
    assert (await app.handle(FORM, body(list(forged.items())))).status == 401
    saved = await app.installation(ACTIVITY_MEMBER)
    assert saved is not None and saved.application_token == "f9ac5db5ad4adbdee13eb034207d8fbd"


async def test_uninstall_forgets_the_portal(tmp_path: Path) -> None:
    app, _ = recorded_app(tmp_path)
    await app.handle(FORM, body(INSTALL_EVENT))
    forged = await app.handle(FORM, body(UNINSTALL_EVENT, **{"auth[application_token]": "1" * 32}))
    assert forged.status == 401 and (tmp_path / f"{INSTALL_MEMBER}.json").exists()
    assert (await app.handle(FORM, body(UNINSTALL_EVENT))).status == 200
    assert not (tmp_path / f"{INSTALL_MEMBER}.json").exists()
    assert await app.installation(INSTALL_MEMBER) is None


async def test_other_events_reach_their_handler_only_when_genuine() -> None:
    app, _ = recorded_app()
    seen: list[str] = []

    @app.on_event("ONCRMDEALUPDATE")
    async def on_deal(event: Any) -> None:
        seen.append(event.data["FIELDS"]["ID"])

    assert (await app.handle(FORM, body(DEAL_UPDATE_EVENT))).status == 401  # not installed yet
    await app.handle(FORM, body(INSTALL_EVENT))
    assert (await app.handle(FORM, body(DEAL_UPDATE_EVENT))).status == 200
    assert seen == ["662"]


async def test_refusals_over_http(harness: Harness) -> None:
    """Both adapters answer 401/400/404 and the portal's robot is never run."""
    member = harness.portal.config.member_id
    token = harness.portal.robots.application_token
    assert token is not None
    base = {
        "workflow_id": "1.2",
        "code": "md5",
        "document_id[0]": "crm",
        "document_id[1]": "CCrmDocumentDeal",
        "document_id[2]": "DEAL_1",
        "document_type[0]": "crm",
        "document_type[1]": "CCrmDocumentDeal",
        "document_type[2]": "DEAL",
        "event_token": "1.2|A1|x",
        "properties[text]": "hi",
        "auth[member_id]": member,
        "auth[application_token]": token,
    }
    cases = [
        ({"auth[application_token]": "0" * 32}, 401),
        ({"document_id[2]": None}, 400),
        ({"code": "unknown"}, 404),
    ]
    async with aiohttp.ClientSession() as session:
        for changes, status in cases:
            async with session.post(harness.url, data=body(list(base.items()), **changes), headers=FORM) as r:
                assert r.status == status
        async with session.post(harness.url, data=b"\xff", headers=FORM) as r:
            assert r.status == 400
        async with session.get(harness.url) as r:
            assert r.status == 405
    await harness.app.drain()
    assert harness.calls == []


async def test_reply_is_checked_before_sending(harness: Harness) -> None:
    wid = harness.start("silent")
    await harness.portal.robots.drain()
    await harness.app.drain()
    (call,) = harness.calls
    requests = (await harness.app.client_for(harness.portal.config.member_id)).stats.requests
    with pytest.raises(ValidationError, match="declares no return properties"):
        await call.reply({"y": 1})
    with pytest.raises(ValidationError, match="'x'"):
        await call.reply({"x": "one"})
    assert (await harness.app.client_for(harness.portal.config.member_id)).stats.requests == requests
    assert await call.reply({"x": 1}, log_message="done") is True
    with pytest.raises(ValidationError, match="answered already"):
        await call.reply({"x": 2})
    record = await harness.portal.robots.wait(wid)
    assert record.state == "Completed"
    assert harness.portal.robots.runs_of(wid)[0].return_values == {"x": 1}
    assert [e.message for e in harness.portal.state.activity_log if e.workflow_id == wid] == ["done"]


def _self_hosted_install() -> list[tuple[str, str]]:
    """The recorded install event, as a self-hosted portal on plain http would send it."""
    swap = {"auth[client_endpoint]": "http://portal.intranet/rest/", "auth[domain]": "portal.intranet"}
    return [(k, swap.get(k, v)) for k, v in INSTALL_EVENT]


async def test_a_plain_http_install_is_refused_unless_the_app_allows_http(tmp_path: Path) -> None:
    strict = BitrixApp(
        client_id="local.app", client_secret="secret", handler_url="https://app.example.com/b24"
    )
    assert (await strict.handle(FORM, body(_self_hosted_install()))).status == 400
    assert await strict.installation(INSTALL_MEMBER) is None
    opted_in = BitrixApp(
        client_id="local.app",
        client_secret="secret",
        handler_url="http://app.intranet/b24",
        store=FilePortalStore(tmp_path),
        allow_http=True,
    )
    assert opted_in.fleet.allow_http is True  # its portals' clients accept the http endpoint too
    assert (await opted_in.handle(FORM, body(_self_hosted_install()))).status == 200
    saved = await opted_in.installation(INSTALL_MEMBER)
    assert saved is not None and saved.client_endpoint == "http://portal.intranet/rest/"
    await opted_in.aclose()
