"""OAuth against the emulated portal: single-flight refresh, rotation, stores, invalid_grant, recovery."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import stat
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bitrix_bizproc import (
    BizprocClient,
    ExpiredTokenError,
    InvalidCredentialsError,
    InvalidGrantError,
    JsonFileTokenStore,
    MemoryTokenStore,
    OAuthTokens,
    TokenStoreError,
    TransportError,
)
from bitrix_bizproc._session import MAX_REFRESHES
from bitrix_bizproc.emulator import EmulatedPortal, PortalConfig
from bitrix_bizproc.protocol.auth import parse_token_response

from .conftest import CREATED, EmuFactory, RecordingTransport


def oauth_client(portal: EmulatedPortal, transport: RecordingTransport, **kwargs: object) -> BizprocClient:
    tokens = portal.issue_tokens()
    options: dict[str, object] = {
        "access_token": tokens["access_token"],
        "refresh_token": tokens["refresh_token"],
        "client_endpoint": tokens["client_endpoint"],
    }
    options.update(kwargs)
    return BizprocClient.from_oauth(
        client_id=portal.oauth_app.client_id,
        client_secret=portal.oauth_app.client_secret,
        token_url=portal.token_url,
        limiter="off",
        transport=transport,
        **options,  # type: ignore[arg-type]
    )


async def test_thousand_calls_on_an_expired_token_cause_one_refresh(emu: EmuFactory) -> None:
    portal = await emu()
    transport = RecordingTransport()
    async with oauth_client(portal, transport) as client:
        portal.auth.expire_access_tokens()
        results = await asyncio.gather(*(client.call("user.get", {"ID": i}) for i in range(1000)))
        assert [r.result["params"]["ID"] for r in results] == list(range(1000))
        assert portal.counters.token_refreshes == 1
        assert transport.paths()["/oauth/token/"] == 1
        assert client.stats.refreshes == 1
        # Calls go to client_endpoint (the portal), never to the token server's ``domain``.
        hosts = {r.url.split("/")[2] for r in transport.requests}
        assert hosts == {portal.base_url.split("/")[2]}


async def test_proactive_refresh_before_expiry(emu: EmuFactory) -> None:
    portal = await emu()
    transport = RecordingTransport()
    async with oauth_client(portal, transport, expires_at=0.0) as client:
        await asyncio.gather(*(client.call("user.get") for _ in range(50)))
    assert portal.counters.token_refreshes == 1
    assert portal.counters.rejections["expired_token"] == 0


async def test_rotation_is_persisted_to_a_private_json_file(emu: EmuFactory, tmp_path: Path) -> None:
    portal = await emu()
    path = tmp_path / "state" / "tokens.json"
    seen: list[OAuthTokens] = []
    async with oauth_client(
        portal, RecordingTransport(), token_store=JsonFileTokenStore(path), on_tokens=seen.append
    ) as client:
        await client.call("user.get")
        first = json.loads(path.read_text())
        portal.auth.expire_access_tokens()
        await client.call("user.get")
    saved = json.loads(path.read_text())
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert len(seen) == 1 and saved["refresh_token"] == seen[0].refresh_token != first["refresh_token"]
    assert [p.name for p in path.parent.iterdir()] == ["tokens.json"]  # no temp files left behind
    # A new client started from the store alone uses the rotated pair.
    async with BizprocClient.from_oauth(
        client_id=portal.oauth_app.client_id,
        client_secret=portal.oauth_app.client_secret,
        token_url=portal.token_url,
        token_store=JsonFileTokenStore(path),
        limiter="off",
    ) as again:
        assert (await again.call("user.get")).result["method"] == "user.get"


async def test_invalid_grant_raises_at_once_without_loops(emu: EmuFactory) -> None:
    portal = await emu()
    transport = RecordingTransport()
    async with oauth_client(portal, transport) as client:
        await client.call("user.get")
        tokens = await client.session.auth.tokens()  # type: ignore[attr-defined]
        portal.auth.grant(
            {
                "grant_type": "refresh_token",
                "client_id": portal.oauth_app.client_id,
                "client_secret": portal.oauth_app.client_secret,
                "refresh_token": tokens.refresh_token,
            }
        )  # someone else used it: now dead
        portal.auth.expire_access_tokens()
        results = await asyncio.gather(*(client.call("user.get") for _ in range(20)), return_exceptions=True)
        assert all(isinstance(r, InvalidGrantError) for r in results)
        with pytest.raises(InvalidGrantError):
            await client.call("user.get")
    assert transport.paths()["/oauth/token/"] == 1
    assert client.stats.errors_by_code == {"invalid_grant": 21}
    assert client.stats.errors_by_class == {"InvalidGrantError": 21}


async def test_a_failed_refresh_does_not_poison_later_calls(emu: EmuFactory) -> None:
    portal = await emu()
    transport = RecordingTransport()
    transport.fail_next_token_requests = 3  # more than the refresh's own bounded retries
    async with oauth_client(portal, transport, sleep=_no_sleep) as client:
        portal.auth.expire_access_tokens()
        with pytest.raises(TransportError):
            await client.call("user.get")
        assert transport.paths()["/oauth/token/"] == 3
        assert (await client.call("user.get")).result["method"] == "user.get"
    assert portal.counters.token_refreshes == 1


async def _no_sleep(seconds: float) -> None:
    await asyncio.sleep(0)


async def test_one_transient_refresh_failure_is_retried_not_failing_the_calls(emu: EmuFactory) -> None:
    portal = await emu()
    transport = RecordingTransport()
    transport.fail_next_token_requests = 1  # a reset on the way to the token server
    async with oauth_client(portal, transport, sleep=_no_sleep) as client:
        portal.auth.expire_access_tokens()
        results = await asyncio.gather(*(client.call("user.get") for _ in range(20)))
        assert len(results) == 20
    assert transport.paths()["/oauth/token/"] == 2
    assert portal.counters.token_refreshes == 1


async def test_a_callback_that_raises_once_does_not_hang_later_calls(emu: EmuFactory) -> None:
    portal = await emu()
    calls: list[str] = []

    def flaky(tokens: OAuthTokens) -> None:
        calls.append(tokens.refresh_token)
        if len(calls) == 1:
            raise RuntimeError("disk full")

    async with oauth_client(portal, RecordingTransport(), on_tokens=flaky) as client:
        portal.auth.expire_access_tokens()
        with pytest.raises(RuntimeError, match="disk full"):
            await client.call("user.get")
        # The new pair was kept in memory: later calls work without another refresh.
        await asyncio.wait_for(client.call("user.get"), timeout=5)
    assert portal.counters.token_refreshes == 1 and len(calls) == 1


async def test_async_callback_is_awaited(emu: EmuFactory) -> None:
    portal = await emu()
    seen: list[str] = []

    async def save(tokens: OAuthTokens) -> None:
        await asyncio.sleep(0)
        seen.append(tokens.access_token)

    async with oauth_client(portal, RecordingTransport(), on_tokens=save) as client:
        portal.auth.expire_access_tokens()
        await client.call("user.get")
    assert len(seen) == 1


async def test_a_token_that_stays_expired_is_refreshed_once_per_call_not_forever(emu: EmuFactory) -> None:
    portal = await emu(PortalConfig(token_lifetime=0.0))  # every token the portal issues is born expired
    transport = RecordingTransport()
    async with oauth_client(portal, transport, refresh_leeway=0.0) as client:
        with pytest.raises(ExpiredTokenError):
            await client.call("user.get")
    # Per expired_token answer one reactive refresh and one proactive (the new token is already due);
    # a call refreshes after at most MAX_REFRESHES such answers (issue 13 item 2): bounded.
    assert transport.paths()["/oauth/token/"] == 2 * MAX_REFRESHES
    assert transport.paths()[urlsplit(portal.rest_url).path + "user.get"] == 1 + MAX_REFRESHES


async def test_a_wrong_access_token_is_not_refreshed(emu: EmuFactory) -> None:
    portal = await emu()
    transport = RecordingTransport()
    async with oauth_client(portal, transport, access_token="not-a-token") as client:
        with pytest.raises(InvalidCredentialsError):
            await client.call("user.get")
    assert transport.paths()["/oauth/token/"] == 0


class _SaveFailsOnce(MemoryTokenStore):
    """A store whose first save after the initial fill fails (a full disk, Redis down)."""

    def __init__(self) -> None:
        super().__init__()
        self.saves = 0

    async def save(self, tokens: OAuthTokens) -> None:
        self.saves += 1
        if self.saves == 1:  # the starting pair goes in by save_if_empty; this is the first refresh
            raise OSError("disk full")
        await super().save(tokens)


async def test_a_failed_store_save_does_not_bring_back_the_dead_pair(emu: EmuFactory) -> None:
    portal = await emu()
    store = _SaveFailsOnce()
    async with oauth_client(portal, RecordingTransport(), token_store=store) as client:
        await client.call("user.get")  # the initial pair is saved
        portal.auth.expire_access_tokens()
        with pytest.raises(TokenStoreError, match="OSError") as caught:
            await client.call("user.get")  # refreshed: the stored pair is dead now, the new one unsaved
        assert isinstance(caught.value.__cause__, OSError)
        portal.auth.expire_access_tokens()
        # The next refresh uses the live pair in memory, not the dead one still in the store.
        assert (await client.call("user.get")).result["method"] == "user.get"
    assert portal.counters.token_refreshes == 2


class _SlowStore(MemoryTokenStore):
    """A store whose reads take a while (a file read in a thread, a Redis GET), counting them."""

    def __init__(self) -> None:
        super().__init__()
        self.loads = 0

    async def load(self) -> OAuthTokens | None:
        self.loads += 1
        await asyncio.sleep(0)
        return await super().load()


async def test_concurrent_first_calls_read_the_store_once(emu: EmuFactory) -> None:
    portal = await emu()
    store = _SlowStore()
    async with oauth_client(portal, RecordingTransport(), token_store=store) as client:
        await asyncio.gather(*(client.call("user.get") for _ in range(20)))
    assert store.loads == 1


class _SaveBroken(MemoryTokenStore):
    """A store whose saves fail until ``fixed`` is set (the disk filled up, then was cleaned)."""

    def __init__(self) -> None:
        super().__init__()
        self.fixed = False
        self.saves = 0

    async def save(self, tokens: OAuthTokens) -> None:
        self.saves += 1
        if not self.fixed:
            raise OSError("No space left on device")
        await super().save(tokens)


async def test_waiting_calls_get_a_typed_error_and_the_unsaved_pair_is_not_used_silently(
    emu: EmuFactory,
) -> None:
    portal = await emu()
    store = _SaveBroken()
    async with oauth_client(portal, RecordingTransport(), token_store=store) as client:
        await client.call("user.get")
        portal.auth.expire_access_tokens()
        results = await asyncio.gather(*(client.call("user.get") for _ in range(100)), return_exceptions=True)
        assert all(isinstance(r, TokenStoreError) for r in results), {type(r).__name__ for r in results}
        # Later calls do not run on the unsaved pair: each tries the save first, and fails typed.
        with pytest.raises(TokenStoreError):
            await client.call("user.get")
        assert portal.counters.requests == 1 + 100  # the first call, and the 100 that met expired_token
        store.fixed = True
        assert (await client.call("user.get")).result["method"] == "user.get"
        live = await client.session.auth.tokens()  # type: ignore[attr-defined]
        assert store.tokens is not None and store.tokens.access_token == live.access_token
    assert portal.counters.token_refreshes == 1


@pytest.mark.parametrize("where", ["under_a_file", "is_a_directory"])
def test_a_token_file_in_a_bad_place_is_refused_at_construction(tmp_path: Path, where: str) -> None:
    from bitrix_bizproc import ConfigurationError

    blocker = tmp_path / "plain-file"
    blocker.write_text("x")
    path = blocker / "tokens.json" if where == "under_a_file" else tmp_path
    with pytest.raises(ConfigurationError):
        JsonFileTokenStore(path)


async def test_a_late_starting_pair_never_overwrites_a_rotated_one(emu: EmuFactory, tmp_path: Path) -> None:
    """Issue 16's race: a worker that found the store empty must not overwrite a pair saved meanwhile."""
    portal = await emu()
    rotated = OAuthTokens(
        access_token="rotated-access",
        refresh_token="rotated-refresh",
        client_endpoint=portal.rest_url,
        expires_at=4_102_444_800.0,
    )

    class _FilledMeanwhile(MemoryTokenStore):
        """Empty on the first read; another worker saves its rotated pair right after."""

        async def load(self) -> OAuthTokens | None:
            found = self.tokens
            self.tokens = rotated
            return found

    for store in (_FilledMeanwhile(), JsonFileTokenStore(tmp_path / "t.json")):
        if isinstance(store, JsonFileTokenStore):
            original = store._load

            def load_then_fill(original=original, store=store) -> OAuthTokens | None:  # type: ignore[no-untyped-def]
                found = original()
                if found is None:
                    store._save(rotated)
                return found

            store._load = load_then_fill  # type: ignore[method-assign]
        client = oauth_client(portal, RecordingTransport(), token_store=store)
        async with client:
            used = await client.session.auth.tokens()  # type: ignore[attr-defined]
        assert used.refresh_token == "rotated-refresh"


async def test_a_second_expired_token_inside_one_call_is_refreshed_again(emu: EmuFactory) -> None:
    """Issue 13 item 2: tokens that expire every 0.3 s can expire again between refresh and resend."""
    portal = await emu()
    transport = RecordingTransport()
    async with oauth_client(portal, transport) as client:
        await client.call("user.get")
        real_send = transport.inner.send
        expirations = iter([True, True])

        async def send(request):  # type: ignore[no-untyped-def]
            if "/oauth/token" not in request.url and next(expirations, False):
                portal.auth.expire_access_tokens()  # expires just before the portal reads it
            return await real_send(request)

        transport.inner.send = send  # type: ignore[method-assign]
        assert (await client.call("user.get")).result["method"] == "user.get"
    assert portal.counters.token_refreshes == 2


# -- invalid_token after a reinstall: the newer pair in the store is adopted, once for everyone -------------


def _pair(answer: dict[str, object]) -> OAuthTokens:
    """The token server's JSON answer as the client keeps it."""
    return parse_token_response(200, json.dumps(answer).encode(), now=time.time(), allow_http=True)


async def _reinstall(portal: EmulatedPortal, store: MemoryTokenStore) -> OAuthTokens:
    """The app reinstalled: the portal revokes every token, the install handler saves the new pair."""
    portal.auth.revoke_tokens()
    new = _pair(portal.issue_tokens())
    await store.save(new)
    return new


async def test_after_a_reinstall_the_new_pair_in_the_store_is_adopted_on_invalid_token(
    emu: EmuFactory,
) -> None:
    # protocol-facts.md section 6 / bitrix24-docs/_includes/system-errors.md: a revoked token is refused
    # with 401 invalid_token (NO_AUTH_FOUND "Wrong authorization data" for an invalid one).
    portal = await emu()
    store = _SlowStore()
    transport = RecordingTransport()
    async with oauth_client(portal, transport, token_store=store) as client:
        await client.call("user.get")
        assert store.loads == 1
        await _reinstall(portal, store)
        assert (await client.call("user.get", {"ID": 7})).result["params"] == {"ID": 7}
        assert store.loads == 2  # one reload
        await client.call("user.get")  # the adopted pair stays in use
        assert store.loads == 2
    assert portal.counters.rejections["invalid_token"] == 1
    assert transport.paths()["/oauth/token/"] == 0  # a refused token is never "refreshed"
    assert client.stats.refreshes == 0


async def test_invalid_token_with_nothing_newer_in_the_store_raises_after_one_reload(emu: EmuFactory) -> None:
    portal = await emu()
    store = _SlowStore()
    transport = RecordingTransport()
    async with oauth_client(portal, transport, token_store=store) as client:
        await client.call("user.get")
        portal.auth.revoke_tokens()  # uninstalled; nothing new saved
        with pytest.raises(InvalidCredentialsError) as caught:
            await client.call("user.get")
        assert caught.value.code == "invalid_token"
        assert store.loads == 2
    assert portal.counters.rejections["invalid_token"] == 1  # sent once: no second try with the same pair
    assert transport.paths()["/oauth/token/"] == 0


async def test_an_adopted_pair_that_is_refused_too_is_not_reloaded_again_in_the_same_call(
    emu: EmuFactory,
) -> None:
    portal = await emu()
    store = _SlowStore()
    async with oauth_client(portal, RecordingTransport(), token_store=store) as client:
        await client.call("user.get")
        await _reinstall(portal, store)
        portal.auth.revoke_tokens()  # and the new pair is revoked as well (uninstalled again)
        with pytest.raises(InvalidCredentialsError):
            await client.call("user.get")
        assert store.loads == 2
    assert portal.counters.rejections["invalid_token"] == 2  # the old pair, then the adopted one: no loop


async def test_a_thousand_calls_refused_at_once_reload_the_store_once(emu: EmuFactory) -> None:
    portal = await emu()
    store = _SlowStore()
    async with oauth_client(portal, RecordingTransport(), token_store=store) as client:
        await client.call("user.get")
        await _reinstall(portal, store)
        results = await asyncio.gather(*(client.call("user.get", {"ID": i}) for i in range(1000)))
        assert [r.result["params"]["ID"] for r in results] == list(range(1000))
        assert store.loads == 2


async def test_a_thousand_calls_refused_with_nothing_newer_reload_the_store_once(emu: EmuFactory) -> None:
    portal = await emu()
    store = _SlowStore()
    async with oauth_client(portal, RecordingTransport(), token_store=store) as client:
        await client.call("user.get")
        portal.auth.revoke_tokens()
        outcomes = await asyncio.gather(
            *(client.call("user.get") for _ in range(1000)), return_exceptions=True
        )
        assert all(isinstance(o, InvalidCredentialsError) for o in outcomes)
        assert store.loads == 2
        # A pair saved later is still picked up by the next refused call.
        await _reinstall(portal, store)
        await client.call("user.get")
        assert store.loads == 3


async def test_a_creating_call_refused_with_invalid_token_is_sent_again_with_the_new_pair(
    emu: EmuFactory,
) -> None:
    # invalid_token is a definite refusal: the portal ran nothing, so even a creating call may go again.
    portal = await emu()
    store = _SlowStore()
    async with oauth_client(portal, RecordingTransport(), token_store=store) as client:
        await client.call("user.get")
        await _reinstall(portal, store)
        before = CREATED["bizproc.workflow.start"]
        params = {"TEMPLATE_ID": 1, "DOCUMENT_ID": ["a", "b", "c"]}
        answer = await client.call("bizproc.workflow.start", params)
        assert CREATED["bizproc.workflow.start"] == before + 1
        assert not answer.after_unknown


class _LoadFailsAfterFirst(_SlowStore):
    """A store that can be read once (the first call), then fails (Redis went away)."""

    async def load(self) -> OAuthTokens | None:
        if self.loads >= 1:
            self.loads += 1
            raise OSError("connection refused")
        return await super().load()


async def test_a_store_that_cannot_be_read_after_invalid_token_leaves_the_portal_refusal(
    emu: EmuFactory, caplog: pytest.LogCaptureFixture
) -> None:
    portal = await emu()
    store = _LoadFailsAfterFirst()
    async with oauth_client(portal, RecordingTransport(), token_store=store) as client:
        await client.call("user.get")
        stored = await MemoryTokenStore.load(store)  # not counted
        assert stored is not None
        portal.auth.revoke_tokens()
        with pytest.raises(InvalidCredentialsError) as caught:
            await client.call("user.get")
        assert caught.value.code == "invalid_token"
        assert store.loads == 2
    assert "OSError" in caplog.text  # the store's failure is logged (the portal's refusal is what is raised)
    assert stored.access_token not in caplog.text and stored.refresh_token not in caplog.text


class _LockingStore(_SlowStore):
    """A store shared between processes: its reads after a refused token happen under its refresh lock."""

    def __init__(self) -> None:
        super().__init__()
        self.locked = False
        self.loads_under_lock = 0

    @contextlib.asynccontextmanager
    async def refresh_lock(self) -> AsyncIterator[None]:
        self.locked = True
        try:
            yield
        finally:
            self.locked = False

    async def load(self) -> OAuthTokens | None:
        self.loads_under_lock += self.locked
        return await super().load()


async def test_a_shared_store_is_reloaded_under_its_refresh_lock(emu: EmuFactory) -> None:
    portal = await emu()
    store = _LockingStore()
    async with oauth_client(portal, RecordingTransport(), token_store=store) as client:
        await client.call("user.get")
        await _reinstall(portal, store)
        await asyncio.gather(*(client.call("user.get") for _ in range(50)))
    assert (store.loads, store.loads_under_lock) == (2, 1)  # the first read, then one reload under the lock
