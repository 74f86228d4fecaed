"""Webhook URLs, OAuth token state, the refresh request and redaction, without a network."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import attrs
import pytest

from bitrix_bizproc.protocol.auth import (
    OAuthApp,
    OAuthTokens,
    WebhookCredentials,
    build_refresh_request,
    is_loopback,
    parse_token_response,
    redact,
    redact_url,
)
from bitrix_bizproc.protocol.errors import InvalidGrantError, ServerError

CODE = "abc123secret"


@pytest.mark.parametrize(
    ("url", "base", "user"),
    [
        (f"https://portal.bitrix24.com/rest/1/{CODE}/", f"https://portal.bitrix24.com/rest/1/{CODE}/", 1),
        (f"https://portal.bitrix24.com/rest/17/{CODE}", f"https://portal.bitrix24.com/rest/17/{CODE}/", 17),
        (f"http://127.0.0.1:8080/rest/1/{CODE}/", f"http://127.0.0.1:8080/rest/1/{CODE}/", 1),
        (f"http://localhost/rest/1/{CODE}/", f"http://localhost/rest/1/{CODE}/", 1),
        (f"http://[::1]:9/rest/1/{CODE}/", f"http://[::1]:9/rest/1/{CODE}/", 1),
    ],
)
def test_webhook_parse(url: str, base: str, user: int) -> None:
    hook = WebhookCredentials.parse(url)
    assert (hook.base_url, hook.user_id, hook.code) == (base, user, CODE)
    assert hook.method_url("user.get") == base + "user.get"
    assert CODE not in repr(hook) and "***" in repr(hook)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (f"http://portal.bitrix24.com/rest/1/{CODE}/", "https"),
        (f"ftp://portal/rest/1/{CODE}/", "absolute https"),
        ("https://portal.bitrix24.com/", "not a webhook URL"),
        (f"https://portal.bitrix24.com/rest/x/{CODE}/", "not a webhook URL"),
        (f"https://portal.bitrix24.com/rest/1/{CODE}/?a=1", "query"),
    ],
)
def test_webhook_refused(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        WebhookCredentials.parse(url)
    assert CODE not in str(info.value)


def test_webhook_type() -> None:
    with pytest.raises(TypeError):
        WebhookCredentials.parse(42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.0.1", True),
        ("::1", True),
        ("localhost", True),
        ("10.0.0.1", False),
        ("portal.bitrix24.com", False),
        ("localhost.evil.com", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"https://p/rest/1/{CODE}/user.get", "https://p/rest/1/***/user.get"),
        (
            "https://o/oauth/token/?grant_type=refresh_token&client_secret=s3&refresh_token=r1",
            "https://o/oauth/token/?grant_type=refresh_token&client_secret=***&refresh_token=***",
        ),
        ("GET https://p/rest/user.get?auth=tok&x=1", "GET https://p/rest/user.get?auth=***&x=1"),
        ("nothing secret here", "nothing secret here"),
        # placeholders in help texts are not secrets: "<code>" stays readable
        (
            "expected https://<portal>/rest/<user_id>/<code>/, got 'https://p/rest/1/abc/'",
            "expected https://<portal>/rest/<user_id>/<code>/, got 'https://p/rest/1/***/'",
        ),
    ],
)
def test_redact_url(text: str, expected: str) -> None:
    assert redact_url(text) == expected


def test_redact_given_secrets() -> None:
    assert redact("token tok123 in text", ["tok123", None, ""]) == "token *** in text"


def _tokens(expires_at: float | None = 1000.0) -> OAuthTokens:
    return OAuthTokens("acc-secret", "ref-secret", "https://portal.bitrix24.com/rest/", expires_at=expires_at)


def test_tokens_repr_and_json_round_trip() -> None:
    tokens = _tokens()
    assert "acc-secret" not in repr(tokens) and "ref-secret" not in repr(tokens)
    assert OAuthTokens.from_json(json.loads(json.dumps(tokens.to_json()))) == tokens
    assert tokens.method_url("user.get") == "https://portal.bitrix24.com/rest/user.get"


@pytest.mark.parametrize(
    ("expires_at", "now", "within"), [(1000.0, 900.0, False), (1000.0, 950.0, True), (None, 1e12, False)]
)
def test_expiry(expires_at: float | None, now: float, within: bool) -> None:
    assert _tokens(expires_at).expires_within(60.0, now) is within


def test_refresh_request() -> None:
    app = OAuthApp("local.app", "s3cr3t", "https://oauth.bitrix.info/oauth/token/")
    url = build_refresh_request(app, "ref-secret")
    parts = urlsplit(url)
    assert parts.netloc == "oauth.bitrix.info"
    assert parse_qs(parts.query) == {
        "grant_type": ["refresh_token"],
        "client_id": ["local.app"],
        "client_secret": ["s3cr3t"],
        "refresh_token": ["ref-secret"],
    }
    assert "s3cr3t" not in repr(app)


def _body(**fields: object) -> bytes:
    base: dict[str, object] = {
        "access_token": "a2",
        "refresh_token": "r2",
        "expires": 5000,
        "expires_in": 3600,
        "domain": "oauth.bitrix.info",
        "client_endpoint": "https://portal.bitrix24.com/rest/",
        "member_id": "m1",
        "scope": "bizproc,user",
        "user_id": 1,
    }
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not None}).encode()


def test_token_response_uses_client_endpoint_not_domain() -> None:
    tokens = parse_token_response(200, _body(), now=100.0)
    assert tokens.client_endpoint == "https://portal.bitrix24.com/rest/"
    assert "oauth.bitrix.info" not in tokens.method_url("user.get")
    assert tokens.expires_at == 3700.0  # expires_in, relative to the local clock
    assert (tokens.access_token, tokens.refresh_token, tokens.member_id) == ("a2", "r2", "m1")


def test_token_response_falls_back() -> None:
    tokens = parse_token_response(
        200, _body(expires_in=None, client_endpoint=None), now=0.0, previous=_tokens()
    )
    assert tokens.expires_at == 5000.0
    assert tokens.client_endpoint == "https://portal.bitrix24.com/rest/"


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (400, b'{"error":"invalid_grant","error_description":"Invalid grant"}', InvalidGrantError),
        (400, b'{"error":"invalid_client"}', InvalidGrantError),
        (502, b"<html>bad gateway</html>", ServerError),
        (500, b'{"error":"x"}', ServerError),
        (200, b'{"access_token":"a"}', InvalidGrantError),
        (200, b"[]", ServerError),
    ],
)
def test_token_errors(status: int, body: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_token_response(status, body, now=0.0)


def test_token_response_refuses_plain_http_endpoint() -> None:
    with pytest.raises(ValueError, match="https"):
        parse_token_response(200, _body(client_endpoint="http://portal.bitrix24.com/rest/"), now=0.0)


def test_base_url_with_credentials_is_refused_without_echoing_them() -> None:
    from bitrix_bizproc.protocol.auth import check_base_url

    with pytest.raises(ValueError) as info:
        check_base_url("https://admin:hunter2secret@portal.example/rest/1/abc123def/", what="webhook URL")
    assert "hunter2secret" not in str(info.value)
    assert "abc123def" not in str(info.value)


def test_call_repr_hides_params() -> None:
    from bitrix_bizproc._call import Call

    call = Call("bizproc.event.send", {"EVENT_TOKEN": "tok-secret-123"})
    assert "tok-secret-123" not in repr(call)
    assert "bizproc.event.send" in repr(call)


def test_application_token_survives_refresh_and_storage() -> None:
    """An app's install secret is kept with its tokens: a refresh must not drop it (nor a repr show it)."""
    installed = attrs.evolve(_tokens(), application_token="app-secret", member_id="m1")
    assert "app-secret" not in repr(installed)
    assert OAuthTokens.from_json(json.loads(json.dumps(installed.to_json()))) == installed
    refreshed = parse_token_response(200, _body(), now=0.0, previous=installed)
    assert refreshed.application_token == "app-secret"
    assert parse_token_response(200, _body(), now=0.0).application_token is None


# The token server's refusals, as real servers send them. wrong_client comes with HTTP 200 and no
# description (bitrix24/b24phpsdk tests/Unit/Core/ApiLevelErrorHandlerTest.php, "refresh token error").
@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, b'{"error":"wrong_client"}'),
        (200, b'{"error":"wrong_client","error_description":"Wrong client"}'),
        (400, b'{"error":"invalid_client","error_description":"Invalid client"}'),
        (200, b'{"error":"SOMETHING_NEW","error_description":"refused"}'),  # unknown: still a refusal
    ],
)
def test_token_server_refusals_are_auth_errors(status: int, body: bytes) -> None:
    from bitrix_bizproc.protocol.errors import AuthError

    with pytest.raises(AuthError):
        parse_token_response(status, body, now=0.0)
