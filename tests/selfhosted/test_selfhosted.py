"""Self-hosted portals: plain http by explicit opt-in only, a custom TLS context, and no limits."""

from __future__ import annotations

import ssl
from typing import Any

import pytest

from bitrix_bizproc import BizprocClient, ConfigurationError
from bitrix_bizproc._transport import AiohttpTransport
from bitrix_bizproc.protocol.auth import OAuthApp, WebhookCredentials, parse_token_response
from bitrix_bizproc.protocol.limits import bucket_spec

INTRANET = "http://bitrix.corp.local/rest/1/abcdefgh12345678/"
SECURE = "https://bitrix.corp.local/rest/1/abcdefgh12345678/"


def test_plain_http_to_an_intranet_host_is_refused_without_the_opt_in() -> None:
    with pytest.raises(ConfigurationError, match="allow_http=True"):
        BizprocClient.from_webhook(INTRANET)


async def test_allow_http_accepts_an_intranet_webhook() -> None:
    client = BizprocClient.from_webhook(INTRANET, allow_http=True)
    async with client:
        assert "http://bitrix.corp.local/rest/1/" in client.session.auth.credentials.base_url  # type: ignore[attr-defined]
    assert WebhookCredentials.parse(INTRANET, allow_http=True).user_id == 1


def test_allow_http_covers_the_oauth_endpoint_and_its_refresh() -> None:
    with pytest.raises(ConfigurationError, match="allow_http=True"):
        BizprocClient.from_oauth(
            client_id="local.app", client_secret="s3cr3t-s3cr3t", access_token="a", refresh_token="r",
            client_endpoint="http://bitrix.corp.local/rest/",
        )  # fmt: skip
    BizprocClient.from_oauth(
        client_id="local.app", client_secret="s3cr3t-s3cr3t", access_token="a", refresh_token="r",
        client_endpoint="http://bitrix.corp.local/rest/", allow_http=True,
    )  # fmt: skip
    body = b'{"access_token":"a2","refresh_token":"r2","client_endpoint":"http://bitrix.corp.local/rest/"}'
    with pytest.raises(ConfigurationError):
        parse_token_response(200, body, now=0.0)
    assert parse_token_response(200, body, now=0.0, allow_http=True).client_endpoint.startswith("http://")
    assert OAuthApp("local.app", "s", allow_http=True).allow_http


@pytest.mark.parametrize("bad", ["yes", 1, None])
def test_allow_http_must_be_a_bool(bad: Any) -> None:
    with pytest.raises(ConfigurationError):
        BizprocClient.from_webhook(INTRANET, allow_http=bad)


def test_the_unlimited_plan_is_a_limiter_preset() -> None:
    assert bucket_spec("unlimited") is None
    client = BizprocClient.from_webhook(SECURE, limiter="unlimited")
    assert client.session.limiter.spec is None


async def test_a_custom_ssl_context_reaches_the_connector() -> None:
    context = ssl.create_default_context()
    transport = AiohttpTransport(ssl=context)
    try:
        assert transport._client().connector._ssl is context  # type: ignore[union-attr]
    finally:
        await transport.aclose()


def test_a_ca_bundle_path_becomes_a_context(tmp_path: Any) -> None:
    with pytest.raises(ConfigurationError, match="CA bundle"):
        BizprocClient.from_webhook(SECURE, ssl=str(tmp_path / "no.pem"))
    with pytest.raises(ConfigurationError, match="ssl"):
        BizprocClient.from_webhook(SECURE, ssl=42)  # type: ignore[arg-type]


async def test_a_token_file_with_an_http_endpoint_follows_the_clients_allow_http(tmp_path: Any) -> None:
    from bitrix_bizproc import JsonFileTokenStore, OAuthTokens

    store = JsonFileTokenStore(tmp_path / "tokens.json")
    await store.save(OAuthTokens("acc", "ref", "http://bitrix.corp.local/rest/", expires_at=4e9))
    options: dict[str, Any] = {
        "client_id": "local.app",
        "client_secret": "s3cr3t-s3cr3t",
        "token_store": store,
    }
    async with BizprocClient.from_oauth(**options, allow_http=True) as client:  # a restart reads it back
        tokens = await client.session.auth.tokens()  # type: ignore[attr-defined]
        assert tokens.client_endpoint == "http://bitrix.corp.local/rest/"
    async with BizprocClient.from_oauth(**options) as client:
        with pytest.raises(ConfigurationError, match="allow_http=True"):
            await client.call("user.get")
