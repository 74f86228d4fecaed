"""Parsing what the portal sends, against requests recorded on real portals (tests/apps/fixtures.py)."""

from __future__ import annotations

import pytest

from bitrix_bizproc.apps import (
    ForgedRequestError,
    InstallEvent,
    MalformedRequestError,
    PortalEvent,
    RobotRequest,
    UninstallEvent,
    parse_request,
)

from .fixtures import (
    ACTIVITY_CALL,
    ACTIVITY_MEMBER,
    DEAL_UPDATE_EVENT,
    FORM,
    INSTALL_EVENT,
    INSTALL_MEMBER,
    UNINSTALL_EVENT,
    body,
)


def test_recorded_activity_call() -> None:
    # mesilov/bitrix24-php-sdk examples/application/local/activity-handler.php
    request = parse_request(FORM, body(ACTIVITY_CALL))
    assert isinstance(request, RobotRequest)
    assert (request.workflow_id, request.code) == ("664fa13bbbb410.99176768", "test_activity")
    assert request.document_id == ("crm", "CCrmDocumentContact", "CONTACT_109286")
    assert request.document_type == ("crm", "CCrmDocumentContact", "CONTACT")
    assert request.properties == {"comment": "дефолтная строка - значение", "amount": "333"}
    assert (request.use_subscription, request.timeout_duration, request.ts) == (True, 660, 1716494651)
    auth = request.auth
    assert (auth.member_id, auth.user_id, auth.status, auth.expires_in) == (ACTIVITY_MEMBER, 16, "L", 3600)
    assert auth.client_endpoint == "https://bitrix24-php-sdk-playground.bitrix24.ru/rest/"
    tokens = auth.tokens()
    assert tokens is not None and tokens.application_token == "f9ac5db5ad4adbdee13eb034207d8fbd"
    assert tokens.expires_at == 1716498251.0 and tokens.member_id == ACTIVITY_MEMBER


def test_recorded_install_event() -> None:
    # shadrinov/asterisk-connector src/main/java/ru/ntechs/asteriskconnector/bitrix/BitrixEvent.java
    event = parse_request(FORM, body(INSTALL_EVENT))
    assert isinstance(event, InstallEvent)
    assert (event.event, event.data, event.ts) == (
        "ONAPPINSTALL",
        {"VERSION": "1", "LANGUAGE_ID": "ru"},
        1579686153,
    )
    tokens = event.auth.tokens()
    assert tokens is not None
    assert (tokens.client_endpoint, tokens.member_id, tokens.user_id, tokens.scope) == (
        "https://ntechs.bitrix24.ru/rest/",
        INSTALL_MEMBER,
        7,
        "crm,telephony,call",
    )


def test_uninstall_and_other_events() -> None:
    uninstall = parse_request(FORM, body(UNINSTALL_EVENT))
    assert isinstance(uninstall, UninstallEvent) and uninstall.clean
    assert uninstall.auth.tokens() is None  # no token pair: the app's access is gone
    deal = parse_request(FORM, body(DEAL_UPDATE_EVENT))
    assert type(deal) is PortalEvent
    assert (deal.event, deal.data) == ("ONCRMDEALUPDATE", {"FIELDS": {"ID": "662"}})


def test_json_bodies_are_read_too() -> None:
    event = parse_request(
        {"content-type": "application/json"},
        b'{"event":"ONAPPUNINSTALL","data":{"CLEAN":"0"},"auth":{"member_id":"m","application_token":"t"}}',
    )
    assert isinstance(event, UninstallEvent) and not event.clean


def test_reprs_hide_every_token() -> None:
    request = parse_request(FORM, body(ACTIVITY_CALL))
    assert isinstance(request, RobotRequest)
    shown = repr(request) + repr(request.auth) + repr(request.auth.tokens())
    for _, secret in [p for p in ACTIVITY_CALL if p[0] in ("event_token", "auth[access_token]")] + [
        ("", "3b2e7766006e13540058f18a000000100000003b31a96730e79dc7561c1d7d0b33933f"),
        ("", "f9ac5db5ad4adbdee13eb034207d8fbd"),
    ]:
        assert secret not in shown


@pytest.mark.parametrize(
    ("changes", "headers", "raw"),
    [
        ({"workflow_id": None}, FORM, None),
        ({"document_id[2]": None}, FORM, None),
        ({"use_subscription": "maybe"}, FORM, None),
        ({"timeout_duration": "soon"}, FORM, None),
        ({"auth[member_id]": None}, FORM, None),
        ({"auth[user_id]": "seven"}, FORM, None),
        ({}, {"Content-Type": "text/plain"}, None),
        ({}, FORM, b"\xff\xfe"),
        ({}, FORM, b"hello=world"),
        ({}, {"Content-Type": "application/json"}, b"[1, 2]"),
    ],
)
def test_malformed_requests(
    changes: dict[str, str | None], headers: dict[str, str], raw: bytes | None
) -> None:
    with pytest.raises(MalformedRequestError):
        parse_request(headers, raw if raw is not None else body(ACTIVITY_CALL, **changes))


@pytest.mark.parametrize("pairs", [ACTIVITY_CALL, INSTALL_EVENT, UNINSTALL_EVENT])
def test_no_application_token_is_forged(pairs: list[tuple[str, str]]) -> None:
    with pytest.raises(ForgedRequestError):
        parse_request(FORM, body(pairs, **{"auth[application_token]": None}))
