"""Secrets never reach reprs, logs or errors; options are validated loudly; user HTTP sessions stay open."""

from __future__ import annotations

import logging

import aiohttp
import pytest

from bitrix_bizproc import BizprocClient, BucketSpec, MemoryTokenStore, RetryPolicy
from bitrix_bizproc.emulator import FaultKind

from .conftest import EmuFactory, Gate, RecordingTransport


async def test_no_secret_in_reprs_logs_or_errors(emu: EmuFactory, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="bitrix_bizproc")
    portal = await emu()
    tokens = portal.issue_tokens()
    app = portal.oauth_app
    hook_code = portal.webhook_url.rstrip("/").rsplit("/", 1)[1]
    texts: list[str] = []
    portal.faults.inject(FaultKind.HTTP_502, method="user.get")
    async with BizprocClient.from_webhook(portal.webhook_url, limiter="off", sleep=Gate()) as hook_client:
        await hook_client.call("user.get")
        try:
            await hook_client.call("test.denied")
        except Exception as exc:
            texts += [str(exc), repr(exc)]
        texts += [repr(hook_client), repr(hook_client.session)]
    transport = RecordingTransport()
    async with BizprocClient.from_oauth(
        client_id=app.client_id,
        client_secret=app.client_secret,
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        client_endpoint=tokens["client_endpoint"],
        token_url=portal.token_url,
        limiter="off",
        transport=transport,
        sleep=Gate(),
    ) as oauth_client:
        portal.auth.expire_access_tokens()
        await oauth_client.call("user.get")
        auth = oauth_client.session.auth
        current = await auth.tokens()  # type: ignore[attr-defined]
        texts += [repr(oauth_client), repr(oauth_client.session), repr(current), repr(auth)]
        texts += [repr(r) for r in transport.requests]
    secrets = [
        hook_code,
        app.client_secret,
        tokens["access_token"],
        tokens["refresh_token"],
        current.access_token,
        current.refresh_token,
    ]
    texts.append(caplog.text)
    assert "retry" in caplog.text and "->" in caplog.text  # the logs were really written
    for text in texts:
        for secret in secrets:
            assert secret not in text


async def test_a_users_http_session_stays_open(emu: EmuFactory) -> None:
    portal = await emu()
    async with aiohttp.ClientSession() as http:
        async with BizprocClient.from_webhook(portal.webhook_url, limiter="off", http_session=http) as client:
            await client.call("user.get")
        assert not http.closed
        async with http.get(portal.base_url + "/rest/") as resp:  # still usable
            assert resp.status in (200, 400, 401, 404)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"limiter": "gold"}, ValueError, "limiter"),
        ({"limiter": 5}, TypeError, "limiter"),
        ({"timeout": -1}, ValueError, "timeout"),
        ({"timeout": "30"}, TypeError, "timeout"),
        ({"retry": 3}, TypeError, "RetryPolicy"),
        ({"auto_batch": "yes"}, TypeError, "auto_batch"),
        ({"http_session": object()}, TypeError, "http_session"),
    ],
)
def test_webhook_options_are_validated(
    kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        BizprocClient.from_webhook("https://portal.bitrix24.com/rest/1/abc123/", **kwargs)  # type: ignore[arg-type]


def test_options_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        BizprocClient.from_webhook("https://portal.bitrix24.com/rest/1/abc123/", "standard")  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"client_id": "", "client_secret": "topsecret"}, "client_id"),
        ({"client_id": "a", "client_secret": "topsecret"}, "token_store"),
        ({"client_id": "a", "client_secret": "topsecret", "access_token": "x"}, "go together"),
        (
            {
                "client_id": "a",
                "client_secret": "topsecret",
                "access_token": "x",
                "refresh_token": "y",
                "client_endpoint": "http://portal.example.com/rest/",
            },
            "https",
        ),
    ],
)
def test_oauth_options_are_validated(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        BizprocClient.from_oauth(**kwargs)  # type: ignore[arg-type]
    assert "topsecret" not in str(info.value)


def test_plain_http_webhook_is_refused_for_remote_hosts() -> None:
    with pytest.raises(ValueError, match="https") as info:
        BizprocClient.from_webhook("http://portal.bitrix24.com/rest/1/abc123/")
    assert "abc123" not in str(info.value)


def test_presets_and_policy_are_accepted() -> None:
    client = BizprocClient.from_webhook(
        "https://portal.bitrix24.com/rest/1/abc123/",
        limiter=BucketSpec(rate=3, burst=30),
        retry=RetryPolicy(),
    )
    assert "abc123" not in repr(client) and "3/s burst 30" in repr(client)


def test_oauth_repr_shows_the_configured_endpoint_before_any_call() -> None:
    client = BizprocClient.from_oauth(
        client_id="app.1",
        client_secret="topsecret",
        access_token="acc-secret",
        refresh_token="ref-secret",
        client_endpoint="https://portal.bitrix24.com/rest/",
    )
    text = repr(client)
    assert "client_endpoint='https://portal.bitrix24.com/rest/'" in text
    assert not any(secret in text for secret in ("topsecret", "acc-secret", "ref-secret"))
    stored = BizprocClient.from_oauth(
        client_id="app.1", client_secret="topsecret", token_store=MemoryTokenStore()
    )
    assert "client_endpoint=<in the token store>" in repr(stored)
