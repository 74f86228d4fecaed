"""Issue 13 item 10: no secret reaches ``str(exc)``, ``repr(exc)`` or a log record.

Secrets the server echoes: an nginx 502 page quoting the request line (with the webhook path, plain and
percent-encoded), and an ``error_description`` quoting the access token it refused.
"""

from __future__ import annotations

import logging

import pytest

from bitrix_bizproc import (
    BitrixError,
    BizprocClient,
    ConfigurationError,
    HttpRequest,
    HttpResponse,
    RetryPolicy,
)
from bitrix_bizproc.protocol.auth import WebhookCredentials

CODE = "q8wz3k1v9t2m7c4x"
TOKEN = "d3649b60002d57f600000c6e000003e0000003af3268d7306c5146016aa02478352371"  # shape of a real one


class _Answering:
    """A transport that answers every request with one canned HTTP answer."""

    def __init__(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.answer = HttpResponse(status, body, {"Content-Type": content_type})

    async def send(self, request: HttpRequest) -> HttpResponse:
        return self.answer

    async def aclose(self) -> None:
        return None


def _assert_clean(exc: BaseException, records: list[logging.LogRecord], *secrets: str) -> None:
    texts = [str(exc), repr(exc), *(r.getMessage() for r in records)]
    if isinstance(exc, BitrixError):
        texts.append(exc.description)
    for secret in secrets:
        assert not [t for t in texts if secret in t], secret


@pytest.mark.parametrize(
    "url",
    [
        f"https://portal.bitrix24.ru/rest/{CODE}/",  # the user id left out
        f"https://portal.bitrix24.ru/rest/1/{CODE}/extra/",
        f"https://portal.bitrix24.ru/{CODE}/",
        f"https://portal.bitrix24.ru/rest/1/{CODE}/?x=1",
        f"http://portal.bitrix24.ru/rest/1/{CODE}/",  # not https
    ],
)
def test_a_malformed_webhook_url_does_not_repeat_its_code(url: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        WebhookCredentials.parse(url)
    _assert_clean(caught.value, [], CODE)


async def test_an_html_502_quoting_the_webhook_path_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    page = (
        "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1>"
        f"<p>upstream failed for POST /rest/1/{CODE}/bizproc.workflow.instances "
        f"(referrer %2Frest%2F1%2F{CODE}%2F)</p></body></html>"
    ).encode()
    transport = _Answering(502, page, "text/html")
    webhook = f"https://portal.bitrix24.ru/rest/1/{CODE}/"
    with caplog.at_level(logging.DEBUG, logger="bitrix_bizproc"):
        async with BizprocClient.from_webhook(
            webhook, limiter=None, transport=transport, retry=RetryPolicy(max_attempts=2, backoff=0.0)
        ) as client:
            with pytest.raises(BitrixError) as caught:
                await client.call("bizproc.workflow.instances")
    _assert_clean(caught.value, caplog.records, CODE)


async def test_an_error_description_quoting_the_access_token_is_redacted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = (
        '{"error":"invalid_token","error_description":"The access token provided is invalid: ' + TOKEN + '"}'
    ).encode()
    with caplog.at_level(logging.DEBUG, logger="bitrix_bizproc"):
        async with BizprocClient.from_oauth(
            client_id="local.1",
            client_secret="s3cr3tS3cr3t",
            access_token=TOKEN,
            refresh_token="r" * 70,
            client_endpoint="https://portal.bitrix24.ru/rest/",
            limiter=None,
            transport=_Answering(401, body),
        ) as client:
            with pytest.raises(BitrixError) as caught:
                await client.call("bizproc.workflow.instances")
    _assert_clean(caught.value, caplog.records, TOKEN)
