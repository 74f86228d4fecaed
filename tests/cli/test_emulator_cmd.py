"""``bizproc emulator``: the webhook line comes first, the portal answers, SIGTERM ends it with status 0."""

from __future__ import annotations

import asyncio
import signal
import socket
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
        rest = [(await asyncio.wait_for(process.stdout.readline(), timeout=5)).decode() for _ in range(6)]
        assert [line.split(":")[0] for line in rest] == [
            "oauth client_id",
            "oauth client_secret",
            "oauth token url",
            "oauth rest url",
            "oauth access token",
            "oauth refresh token",
        ]
        token = rest[4].split(": ", 1)[1].strip()
        async with (
            aiohttp.ClientSession() as http,
            http.post(url.rsplit("/rest/", 1)[0] + "/rest/user.get", json={"auth": token}) as response,
        ):
            assert response.status == 200  # the printed token is a live one
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


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--seed-instances", "-1"], "argument --seed-instances: expected a number >= 0"),
        (["--port", "70000"], "argument --port: a TCP port is 0..65535"),
        (["--port", "-5"], "argument --port: expected a number >= 0"),
    ],
)
def test_bad_numbers_are_usage_errors(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["emulator", *argv])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_a_port_in_use_is_one_line_not_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["emulator", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"bizproc emulator: cannot listen on 127.0.0.1:{port}: ")
    assert "Traceback" not in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_a_wildcard_host_prints_a_url_the_client_accepts(host: str) -> None:
    from bitrix_bizproc import BizprocClient, ConfigurationError
    from bitrix_bizproc.cli.emulator_cmd import urls_to_print

    bound = f"http://{'[::]' if ':' in host else host}:8080/rest/1/abcdefgh12345678/"
    local, remote = urls_to_print(bound, host, hostname="intranet-box")
    assert local == "http://127.0.0.1:8080/rest/1/abcdefgh12345678/"
    BizprocClient.from_webhook(local)  # accepted as it is
    assert remote is not None and remote.startswith("http://intranet-box:8080/rest/1/")
    assert "--allow-http" in remote
    url = remote.split()[0]
    with pytest.raises(ConfigurationError):
        BizprocClient.from_webhook(url)
    BizprocClient.from_webhook(url, allow_http=True)


def test_a_loopback_host_needs_no_hint() -> None:
    from bitrix_bizproc.cli.emulator_cmd import urls_to_print

    url = "http://127.0.0.1:8080/rest/1/abcdefgh12345678/"
    assert urls_to_print(url, "127.0.0.1", hostname="box") == (url, None)
