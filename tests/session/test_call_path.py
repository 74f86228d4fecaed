"""The per-call fast ways of issue 17 keep every check: small params skip only a count that cannot fail,
a service's call is not normalized and checked twice, and a method name is checked once per name."""

from __future__ import annotations

import json
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitrix_bizproc import BizprocClient, ClientValidationError, ValidationError
from bitrix_bizproc._auth import _ENCODER, _encode
from bitrix_bizproc._session import Session
from bitrix_bizproc.emulator import EmulatedPortal

from .conftest import EmuFactory, RecordingTransport


def _maps(keys: int, values: int) -> dict[str, Any]:
    return {f"K{k}": {f"V{v}": v for v in range(values)} for k in range(keys)}


@pytest.mark.parametrize(("keys", "values"), [(34, 30), (30, 34), (1, 1001)])
async def test_params_past_max_input_vars_are_refused_however_they_nest(
    portal: EmulatedPortal, keys: int, values: int
) -> None:
    async with BizprocClient.from_webhook(portal.webhook_url, limiter="off") as client:
        with pytest.raises(ValidationError, match="max_input_vars") as caught:
            await client.call("user.get", _maps(keys, values))
    assert caught.value.method == "user.get" and caught.value.code == "MAX_INPUT_VARS"
    assert portal.counters.requests == 0


async def test_small_params_go_as_they_are(emu: EmuFactory) -> None:
    portal = await emu()
    async with BizprocClient.from_webhook(portal.webhook_url, limiter="off") as client:
        answer = await client.call("test.echo", _maps(30, 30))
    assert answer.result["params"] == json.loads(json.dumps(_maps(30, 30)))


async def test_a_service_call_sends_the_same_body_and_counts_once(portal: EmulatedPortal) -> None:
    transport = RecordingTransport()
    async with BizprocClient.from_webhook(portal.webhook_url, limiter="off", transport=transport) as client:
        await client.users.get(7, admin_mode=True)
        await client.call("user.get", {"FILTER": {"ID": 7}, "ADMIN_MODE": True})
        assert client.stats.calls == 2 and client.stats.requests == 2
    typed, plain = transport.requests
    assert typed.body == plain.body == b'{"FILTER":{"ID":7},"ADMIN_MODE":true}'
    assert typed.url == plain.url


async def test_a_service_call_on_a_closed_session_is_refused(portal: EmulatedPortal) -> None:
    client = BizprocClient.from_webhook(portal.webhook_url, limiter="off")
    await client.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await client.users.get(1)


async def test_a_subclass_with_its_own_call_still_gets_every_service_call(portal: EmulatedPortal) -> None:
    seen: list[str] = []

    class Watching(Session):
        async def call(self, method: str, params: Any = None, *, idempotent: bool | None = None) -> Any:
            seen.append(method)
            return await super().call(method, params, idempotent=idempotent)

    async with BizprocClient.from_webhook(portal.webhook_url, limiter="off") as plain:
        session = Watching(
            auth=plain.session.auth, transport=plain.session.transport, limiter=plain.session.limiter
        )
        client = BizprocClient(session)
        await client.users.get(1)
    assert seen == ["user.get"]


@pytest.mark.parametrize("method", ["user.get", "bad method", "user..get", 5, None])
async def test_a_method_name_is_checked_every_time(emu: EmuFactory, method: Any) -> None:
    portal = await emu()
    async with BizprocClient.from_webhook(portal.webhook_url, limiter="off") as client:
        for _ in range(2):  # the second time too: a name is remembered only once it passed
            if method == "user.get":
                await client.call(method)
                continue
            with pytest.raises(ClientValidationError):
                await client.call(method)


_json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text()),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


@settings(deadline=None)
@given(params=st.dictionaries(st.text(max_size=8), _json_values, max_size=6))
def test_a_request_body_is_what_the_json_encoder_writes(params: dict[str, Any]) -> None:
    """The body's encoder, built once, writes what ``JSONEncoder.encode`` does (NaN, text of any kind)."""
    assert _encode(params) == _ENCODER.encode(params).encode()


def test_a_body_the_encoder_cannot_write_is_refused_as_before() -> None:
    with pytest.raises(TypeError):
        _encode({"when": object()})
    with pytest.raises(TypeError):  # a mapping of another kind goes the general way, which refuses it too
        _encode(MappingProxyType({"a": 1}))
