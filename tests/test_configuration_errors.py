"""Every option, credential or stored setting the library refuses raises a ConfigurationError (a BitrixError).

A bad value is also a ValueError, a value of the wrong type also a TypeError, so ``except ValueError`` /
``except TypeError`` written against earlier versions keeps working.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from bitrix_bizproc import (
    BitrixError,
    BizprocClient,
    BucketSpec,
    ConfigurationError,
    ConfigurationTypeError,
    JsonFileTokenStore,
    RetryPolicy,
)
from bitrix_bizproc.protocol.auth import OAuthTokens, WebhookCredentials, check_base_url
from bitrix_bizproc.protocol.limits import OperatingBudget, bucket_spec

HOOK = "https://portal.bitrix24.com/rest/1/abc123secret/"
OAUTH = {"client_id": "app.1", "client_secret": "topsecret"}

BAD_VALUES: dict[str, Callable[[], object]] = {
    "webhook: plain http": lambda: WebhookCredentials.parse(
        "http://portal.bitrix24.com/rest/1/abc123secret/"
    ),
    "webhook: not a webhook path": lambda: WebhookCredentials.parse("https://portal.bitrix24.com/rest/"),
    "stored tokens: incomplete": lambda: OAuthTokens.from_json({"access_token": "a"}),
    "client: timeout": lambda: BizprocClient.from_webhook(HOOK, timeout=-1),
    "client: limiter preset": lambda: BizprocClient.from_webhook(HOOK, limiter="gold"),  # type: ignore[arg-type]
    "client: operating_limit": lambda: BizprocClient.from_webhook(HOOK, operating_limit=0),
    "oauth: empty client_id": lambda: BizprocClient.from_oauth(client_id="", client_secret="s"),
    "oauth: no tokens": lambda: BizprocClient.from_oauth(**OAUTH),
    "oauth: partial tokens": lambda: BizprocClient.from_oauth(**OAUTH, access_token="x"),
    "bucket: rate": lambda: BucketSpec(rate=0, burst=5),
    "bucket: headroom": lambda: BucketSpec(rate=1, burst=5, headroom=5),
    "budget: near": lambda: OperatingBudget(near=2),
    "retry: max_attempts": lambda: RetryPolicy(max_attempts=0),
    "retry: backoff": lambda: RetryPolicy(backoff=-1),
}

BAD_TYPES: dict[str, Callable[[], object]] = {
    "webhook: not a string": lambda: WebhookCredentials.parse(None),  # type: ignore[arg-type]
    "base url: not a string": lambda: check_base_url(b"https://x/", what="token_url"),  # type: ignore[arg-type]
    "client: timeout": lambda: BizprocClient.from_webhook(HOOK, timeout="30"),  # type: ignore[arg-type]
    "client: retry": lambda: BizprocClient.from_webhook(HOOK, retry=3),  # type: ignore[arg-type]
    "client: operating_limit": lambda: BizprocClient.from_webhook(HOOK, operating_limit="480"),  # type: ignore[arg-type]
    "client: session": lambda: BizprocClient(object()),  # type: ignore[arg-type]
    "oauth: on_tokens": lambda: BizprocClient.from_oauth(
        **OAUTH, access_token="a", refresh_token="r", client_endpoint="https://p.example/rest/", on_tokens=1
    ),  # type: ignore[arg-type]
    "limiter option": lambda: bucket_spec(2.5),
    "bucket: rate": lambda: BucketSpec(rate="2", burst=5),  # type: ignore[arg-type]
    "bucket: burst": lambda: BucketSpec(rate=2, burst=5.0),  # type: ignore[arg-type]
    "retry: max_attempts": lambda: RetryPolicy(max_attempts=2.0),  # type: ignore[arg-type]
    "retry: max_wait": lambda: RetryPolicy(max_wait="60"),  # type: ignore[arg-type]
}


@pytest.mark.parametrize("build", BAD_VALUES.values(), ids=BAD_VALUES.keys())
def test_bad_values_are_configuration_errors(build: Callable[[], object]) -> None:
    with pytest.raises(ConfigurationError) as info:
        build()
    assert isinstance(info.value, BitrixError) and isinstance(info.value, ValueError)
    assert not isinstance(info.value, ConfigurationTypeError)
    assert "abc123secret" not in str(info.value) and "topsecret" not in str(info.value)


@pytest.mark.parametrize("build", BAD_TYPES.values(), ids=BAD_TYPES.keys())
def test_wrong_types_are_configuration_type_errors(build: Callable[[], object]) -> None:
    with pytest.raises(ConfigurationTypeError) as info:
        build()
    assert isinstance(info.value, ConfigurationError) and isinstance(info.value, TypeError)


async def test_a_corrupt_token_file_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    for content in ("{not json", json.dumps(["a list"]), json.dumps({"access_token": "a"})):
        path.write_text(content, encoding="utf-8")
        with pytest.raises(ConfigurationError, match=r"token|stored"):
            await JsonFileTokenStore(path).load()


def test_redis_helpers_refuse_bad_options() -> None:
    redis = pytest.importorskip("redis.asyncio")
    from bitrix_bizproc.redis import RedisBucket, RedisLock, RedisTokenStore

    client = redis.Redis()  # never connects: every check below happens before any command
    with pytest.raises(ConfigurationTypeError, match="redis"):
        RedisBucket(object(), "bucket")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="non-empty"):
        RedisTokenStore(client, "")
    with pytest.raises(ConfigurationError, match="needs limits"):
        RedisBucket(client, "bucket", "off")
    with pytest.raises(ConfigurationError, match="timeout"):
        RedisLock(client, "lock", timeout=0)
