"""``bizproc`` through the gateway: ``--vibecode-key`` or ``VIBECODE_API_KEY``, the same commands."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable

import attrs
import pytest

from bitrix_bizproc.cli import main
from bitrix_bizproc.emulator import EmulatedPortal

from .conftest import DEAL_TYPE


@attrs.frozen
class Result:
    """What one ``bizproc`` run did."""

    code: int
    out: str
    err: str


Run = Callable[..., Awaitable[Result]]


@pytest.fixture
def run(portal: EmulatedPortal, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    """``await run(*argv)``: ``bizproc`` in a worker thread, the gateway's URL in ``VIBECODE_BASE_URL``."""
    for name in ("BITRIX24_WEBHOOK_URL", "VIBECODE_API_KEY", "VIBECODE_SESSION_TOKEN", "BITRIX24_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VIBECODE_BASE_URL", portal.vibecode_url)

    async def go(*argv: str) -> Result:
        capsys.readouterr()
        try:
            code = await asyncio.to_thread(main, list(argv))
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return go


async def test_list_with_the_key_flag(portal: EmulatedPortal, key: str, run: Run) -> None:
    portal.state.add_template("T", DEAL_TYPE)
    made = {w.id for w in portal.state.add_instances(3)}
    result = await run("instances", "list", "--vibecode-key", key, "--format", "jsonl")
    assert result.code == 0, result.err
    assert {line.split('"ID": "')[1].split('"')[0] for line in result.out.splitlines()} == made
    assert key not in result.out + result.err


async def test_terminate_with_the_key_from_the_environment(
    portal: EmulatedPortal, key: str, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIBECODE_API_KEY", key)
    template = portal.state.add_template("T", DEAL_TYPE)
    portal.state.add_instances(60, template_id=template.id)
    result = await run("terminate", "--template", str(template.id), "--yes")
    assert result.code == 0, result.err
    assert portal.state.counts()["terminated"] == 60 and portal.state.running_count == 0


async def test_terminate_started_before_filters_on_the_client(
    portal: EmulatedPortal, key: str, run: Run
) -> None:
    portal.state.add_template("T", DEAL_TYPE)
    now = portal.clock()
    old = {w.id for w in portal.state.add_instances(3, started=now - 40 * 86_400)}
    portal.state.add_instances(5, started=now)
    cutoff = dt.datetime.fromtimestamp(now - 86_400, tz=dt.UTC).date().isoformat()
    result = await run("terminate", "--started-before", cutoff, "--yes", "--vibecode-key", key)
    assert result.code == 0, result.err
    assert set(portal.state.finished) == old and portal.state.running_count == 5


async def test_what_the_gateway_cannot_do_has_its_own_exit_code(
    portal: EmulatedPortal, key: str, run: Run
) -> None:
    portal.state.add_template("T", DEAL_TYPE)
    portal.state.add_instances(5)
    result = await run("instances", "list", "--filter", "MODULE_ID=crm", "--vibecode-key", key)
    assert result.code == 5 and "Vibecode gateway" in result.err and "MODULE_ID" in result.err
    assert "Traceback" not in result.err


async def test_a_malformed_key_is_refused_without_echoing_it(run: Run) -> None:
    result = await run("instances", "list", "--vibecode-key", "sk_live_supersecretvalue")
    assert result.code == 2 and "vibe_api_" in result.err and "supersecretvalue" not in result.err


async def test_webhook_and_key_together_are_refused(portal: EmulatedPortal, key: str, run: Run) -> None:
    result = await run("instances", "list", "--webhook", portal.webhook_url, "--vibecode-key", key)
    assert result.code == 2 and "--vibecode-key" in result.err
