"""``bizproc emulator``: the webhook line comes first, the portal answers, SIGTERM ends it with status 0."""

from __future__ import annotations

import asyncio
import signal
import sys

import aiohttp
import pytest

from bitrix_bizproc.cli import build_parser, main


async def test_emulator_prints_the_webhook_first_serves_and_stops_on_sigterm() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bitrix_bizproc.cli",
        "emulator",
        "--port",
        "0",
        "--plan",
        "enterprise",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        first = (await asyncio.wait_for(process.stdout.readline(), timeout=30)).decode()
        if not first:  # it died: show why
            assert process.stderr is not None
            pytest.fail((await process.stderr.read()).decode()[-3000:])
        assert first.startswith("webhook: http://127.0.0.1:")
        url = first.split(" ", 1)[1].strip()
        port = int(url.split(":")[2].split("/")[0])
        assert port > 0 and url.endswith("/")
        async with aiohttp.ClientSession() as http, http.post(url + "no.such.method", json={}) as response:
            assert response.status == 404
            assert (await response.json())["error"] == "ERROR_METHOD_NOT_FOUND"
        rest = (await asyncio.wait_for(process.stdout.readline(), timeout=5)).decode()
        assert rest.startswith("oauth client_id: ")
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), timeout=30)
    assert code == 0


def test_subcommands_are_discovered_and_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["emulator", "--port", "8080", "--seed-instances", "10"])
    assert (args.port, args.plan, args.seed_instances) == (8080, "standard", 10)
    assert main([]) == 2
    assert "emulator" in capsys.readouterr().out


def test_negative_seed_count_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["emulator", "--seed-instances", "-1"]) == 2
    assert "--seed-instances" in capsys.readouterr().err
