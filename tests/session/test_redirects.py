"""Issue 12 finding 2: a redirect never turns into a different request.

A renamed portal answers 301/302 with the same REST path on its new host (bitrix24/b24phpsdk
tests/Unit/Core/PortalRedirectTest.php: ``302`` + ``location: https://new.example/rest/app.info``, and the
SDK re-sends the same body there). aiohttp used to follow it as a body-less GET: the filter was lost and
an unfiltered list came back as success.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp import web

from bitrix_bizproc import BizprocClient, UnexpectedRedirectError
from bitrix_bizproc.emulator import EmulatedPortal
from tests.jobs._seed import CUTOFF, seed_instances

Redirector = Callable[[int, Callable[[str], str]], "AsyncIterator[str]"]


class _OldHost:
    """A loopback server answering every request with ``status`` and a Location made from its path."""

    def __init__(self, status: int, location: Callable[[str], str]) -> None:
        self.status = status
        self.location = location
        self.hits: list[tuple[str, str]] = []
        self._runner: web.AppRunner | None = None
        self.base = ""

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        self.hits.append((request.method, request.path_qs))
        return web.Response(status=self.status, headers={"Location": self.location(request.path_qs)})

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._answer)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}"
        return self.base

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def old_host() -> AsyncIterator[Callable[[int, Callable[[str], str]], _OldHost]]:
    made: list[_OldHost] = []

    def make(status: int, location: Callable[[str], str]) -> _OldHost:
        host = _OldHost(status, location)
        made.append(host)
        return host

    yield make
    for host in made:
        await host.stop()


def _on_old_host(portal: EmulatedPortal, old_base: str) -> str:
    return portal.webhook_url.replace(portal.base_url, old_base)


@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_a_renamed_portal_gets_the_same_request_and_becomes_the_base_url(
    portal: EmulatedPortal,
    old_host: Callable[[int, Callable[[str], str]], _OldHost],
    status: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    seeded = seed_instances(portal, old=7, new=5)
    moved = old_host(status, lambda path: portal.base_url + path)
    old_base = await moved.start()
    webhook = _on_old_host(portal, old_base)
    code = webhook.rstrip("/").rsplit("/", 1)[-1]
    with caplog.at_level(logging.WARNING, logger="bitrix_bizproc"):
        async with BizprocClient.from_webhook(webhook, limiter=None) as client:
            assert client.base_url.startswith(old_base)
            rows = await client.workflows.instances({"<STARTED": CUTOFF}, select=["ID"]).collect()
            assert {r.id for r in rows} == seeded.old  # the filter reached the portal
            assert client.base_url.startswith(portal.base_url)
            await client.workflows.instances({"<STARTED": CUTOFF}).collect()
    assert [m for m, _ in moved.hits] == ["POST"]  # asked once; later calls go to the new host
    assert portal.counters.methods["bizproc.workflow.instances"] == 2
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any(portal.base_url in r.getMessage() for r in warnings)
    assert all(code not in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("status", "location"),
    [
        (302, lambda base, path: base + "/auth/?backurl=" + path),  # a login page: another path
        (301, lambda base, path: "https://evil.example" + path.replace("/rest/", "/r/")),
        (303, lambda base, path: base + path),  # 303 means "GET it there": a different request
    ],
)
async def test_any_other_redirect_is_a_typed_error_and_is_not_sent_again(
    portal: EmulatedPortal,
    old_host: Callable[[int, Callable[[str], str]], _OldHost],
    status: int,
    location: Callable[[str, str], str],
) -> None:
    seed_instances(portal, old=3)
    moved = old_host(status, lambda path: location(portal.base_url, path))
    webhook = _on_old_host(portal, await moved.start())
    code = webhook.rstrip("/").rsplit("/", 1)[-1]
    async with BizprocClient.from_webhook(webhook, limiter=None) as client:
        with pytest.raises(UnexpectedRedirectError) as caught:
            await client.workflows.terminate("66e412fdc9bd44.36306599")
    assert caught.value.status == status
    assert code not in str(caught.value) and code not in repr(caught.value)
    assert len(moved.hits) == 1 and not portal.counters.methods.get("bizproc.workflow.terminate")


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_reaching_the_parser_is_a_redirect_error_never_a_retried_server_error(status: int) -> None:
    from bitrix_bizproc.protocol.envelope import parse_response

    # what any transport that does not follow redirects hands over (b24phpsdk PortalRedirectTest: empty body)
    with pytest.raises(UnexpectedRedirectError) as caught:
        parse_response(status, b"", method="bizproc.workflow.instances")
    assert not caught.value.retryable and caught.value.status == status


@pytest.mark.parametrize(
    ("url", "location", "moved"),
    [
        (
            "https://old.bitrix24.ru/rest/1/c0de/user.get",
            "https://new.bitrix24.ru/rest/1/c0de/user.get",
            True,
        ),
        ("https://old.bitrix24.ru/rest/batch", "/rest/batch", False),  # same host: not a move
        ("https://old.bitrix24.ru/rest/batch", "http://new.bitrix24.ru/rest/batch", False),  # https -> http
        ("https://old.bitrix24.ru/rest/batch", "https://u:p@new.bitrix24.ru/rest/batch", False),
        # the token server is not a portal: its query holds the client secret and the refresh token
        (
            "https://oauth.bitrix.info/oauth/token/?grant_type=refresh_token&refresh_token=r",
            "https://oauth.example/oauth/token/?grant_type=refresh_token&refresh_token=r",
            False,
        ),
    ],
)
def test_what_counts_as_a_renamed_portal(url: str, location: str, moved: int) -> None:
    from bitrix_bizproc._transport import moved_origin

    assert (moved_origin(url, 301, location) is not None) is bool(moved)
