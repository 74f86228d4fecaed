"""Bad input and broken connections: one clear line, the documented exit code, no traceback, no secrets."""

from __future__ import annotations

import asyncio
import io
import os
import pty
import signal
import sys
from pathlib import Path

import pytest
from jobs._seed import seed_instances

from bitrix_bizproc.cli._common import EXIT_JOURNAL, exit_code_for, run_async
from bitrix_bizproc.emulator import EmulatedPortal
from bitrix_bizproc.jobs import JobAbortedError, JobReport
from bitrix_bizproc.protocol.errors import InvalidCredentialsError, JournalError

from .conftest import Run


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["terminate", "--started-before", "yesterday"], "not a date"),
        (["terminate", "--started-before", "2025-01-01", "--frobnicate"], "unrecognized arguments"),
        (["terminate", "--dry-run", "--yes", "--started-before", "2025-01-01"], "not allowed with"),
        (["offboard", "--user", "57", "--kill", "--delegate-to", "12"], "not allowed with"),
        (["terminate", "--template", "twelve"], "positive integer"),
        (["terminate", "--document-type", "crm:Nope"], "MODULE:ENTITY:TYPE"),
        (["instances", "list", "--filter", "nonsense"], "KEY=VALUE"),
        (["bogus"], "invalid choice"),
    ],
)
async def test_usage_errors_exit_2(bizproc: Run, argv: list[str], message: str) -> None:
    result = await bizproc(*argv)
    assert result.code == 2 and message in result.err and "Traceback" not in result.err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["terminate", "--started-before", "2025-01-01"], "no credentials"),
        (["terminate", "--webhook", "URL", "--yes"], "say which workflows"),
        (["terminate", "--webhook", "URL", "--kill", "--status", "x", "--template", "3"], "terminate only"),
        (["instances", "list", "--webhook", "URL", "--filter", "<STARTD=2024-01-01"], "unknown filter field"),
        (["offboard", "--webhook", "URL", "--user", "Nobody Atall"], "no dismissed"),
    ],
)
async def test_bad_input_found_by_the_command_exits_2(
    portal: EmulatedPortal, bizproc: Run, argv: list[str], message: str
) -> None:
    argv = [portal.webhook_url if a == "URL" else a for a in argv]
    result = await bizproc(*argv)
    assert result.code == 2, result.err
    assert message in result.err and "Traceback" not in result.err
    assert portal.counters.methods["bizproc.workflow.terminate"] == 0


@pytest.mark.parametrize(
    "url",
    [
        "https://portal.example/s3cr3tc0de",  # the /rest/<user>/ part left out
        "https://portal.example/rest/s3cr3tc0de/",
        "https://portal.example/rest/1/s3cr3tc0de/extra/",
        "http://portal.example/rest/1/s3cr3tc0de/",
        "portal.example/rest/1/s3cr3tc0de",
        "portal.example/s3cr3tc0de",
        "https://portal.example/rest/1/s3cr3tc0de/#fragment",
    ],
)
async def test_a_malformed_webhook_url_is_refused_without_echoing_its_code(bizproc: Run, url: str) -> None:
    result = await bizproc("instances", "list", "--webhook", url)
    assert result.code == 2 and "webhook URL" in result.err
    assert "s3cr3t" not in result.err + result.out


async def test_refused_credentials_exit_3_without_echoing_the_secret(
    portal: EmulatedPortal, bizproc: Run
) -> None:
    wrong = portal.webhook_url.replace("/rest/1/", "/rest/1/x").rstrip("/") + "wrongcode/"
    secret = wrong.rstrip("/").rsplit("/", 1)[1]
    result = await bizproc("instances", "list", "--webhook", wrong)
    assert result.code == 3 and "INVALID_CREDENTIALS" in result.err
    assert secret not in result.err + result.out


async def test_an_unreachable_portal_exits_3(bizproc: Run, unused_tcp_port: int) -> None:
    url = f"http://127.0.0.1:{unused_tcp_port}/rest/1/abcdef123456/"
    result = await bizproc(
        "terminate", "--webhook", url, "--started-before", "2025-01-01", "--yes", "--retries", "0"
    )
    assert result.code == 3 and "abcdef123456" not in result.err and "Traceback" not in result.err


async def test_the_console_script_as_a_real_process(portal: EmulatedPortal) -> None:
    seed_instances(portal, old=5)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bitrix_bizproc.cli", "terminate", "--webhook", portal.webhook_url,
        "--started-before", "2024-01-01", "--yes", "--json",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert b'"done": 5' in out and portal.state.running_count == 0
    bad = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bitrix_bizproc.cli", "terminate", "--started-before", "31.02.2025",
        stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    _, err = await bad.communicate()
    assert bad.returncode == 2 and b"not a date" in err and b"Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "usage"),
    [
        (["terminate", "--started-before", "2025-01-01", "--frobnicate"], "usage: bizproc terminate "),
        (["instances", "list", "--frobnicate"], "usage: bizproc instances list "),
        (["--frobnicate"], "usage: bizproc "),
    ],
)
async def test_an_unknown_option_shows_the_usage_of_its_subcommand(
    bizproc: Run, argv: list[str], usage: str
) -> None:
    result = await bizproc(*argv)
    assert result.code == 2 and result.err.startswith(usage)
    assert result.err.rstrip().endswith("error: unrecognized arguments: --frobnicate")


def test_ctrl_c_exits_130_and_names_the_journal_once_it_has_one(tmp_path: Path) -> None:
    async def interrupted() -> int:
        raise KeyboardInterrupt

    journal = tmp_path / "run.jsonl"
    for expected in (
        "bizproc: interrupted\n",
        f"bizproc: interrupted; rerun with --journal {journal} to resume\n",
    ):
        err = io.StringIO()
        assert run_async(interrupted, err=err, journal=str(journal)) == 130
        assert err.getvalue() == expected
        journal.write_text("")  # the second time, the job had started writing it


async def test_one_ctrl_c_at_the_prompt_interrupts(portal: EmulatedPortal) -> None:
    seed_instances(portal, old=3)
    primary, secondary = pty.openpty()  # stdin is a terminal: the command asks
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bitrix_bizproc.cli", "terminate", "--webhook", portal.webhook_url,
        "--started-before", "2024-01-01",
        stdin=secondary, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    os.close(secondary)
    try:
        assert proc.stderr is not None
        err = b""
        while b"[y/N]" not in err:
            chunk = await asyncio.wait_for(proc.stderr.read(200), timeout=30)
            assert chunk, err.decode()
            err += chunk
        proc.send_signal(signal.SIGINT)  # once
        assert await asyncio.wait_for(proc.wait(), timeout=30) == 130
    finally:
        os.close(primary)
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert b"interrupted" in await proc.stderr.read() and portal.state.running_count == 3


async def test_a_reader_that_stops_early_gets_no_error_message(portal: EmulatedPortal) -> None:
    seed_instances(portal, old=1500)  # about 150 KB of CSV: more than a pipe holds
    read, write = os.pipe()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bitrix_bizproc.cli", "instances", "list", "--webhook", portal.webhook_url,
        "--limit", "0", "--format", "csv", "--limiter", "off",
        stdout=write, stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    os.close(write)

    def head_1() -> bytes:  # in a thread: the portal answers from this test's loop meanwhile
        with os.fdopen(read, "rb") as reader:
            return reader.readline()

    assert (await asyncio.to_thread(head_1)).startswith(b"ID,")
    assert proc.stderr is not None
    err = await proc.stderr.read()
    assert await proc.wait() == 0  # the reader had what it wanted: `| head` is not a failure
    assert b"Broken pipe" not in err and b"Traceback" not in err and b"Exception ignored" not in err


def _stopped_by(cause: BaseException) -> JobAbortedError:
    report = JobReport(job="terminate_workflows", action="terminate", dry_run=False, matched=3)
    report.counts["done"] = 1
    return JobAbortedError(report, cause)


def test_a_journal_failing_mid_run_has_its_own_exit_code_not_connection() -> None:
    """A disk that fills up mid-run is no connection problem (3): scripts must tell it apart."""
    full = JournalError("cannot write the journal 'run.jsonl': No space left on device", code="JOURNAL_IO")
    assert exit_code_for(_stopped_by(full)) == EXIT_JOURNAL == 6
    unusable = JournalError("the journal is a directory", code="JOURNAL_IO")
    assert exit_code_for(unusable) == 2  # refused when opened: nothing was sent
    refused = InvalidCredentialsError("invalid_token", code="invalid_token")
    assert exit_code_for(_stopped_by(refused)) == 3

    async def stops(cause: BaseException) -> int:
        raise _stopped_by(cause)

    err = io.StringIO()
    assert run_async(lambda: stops(full), err=err) == 6
    assert "No space left on device" in err.getvalue() and "done" in err.getvalue()
    assert run_async(lambda: stops(refused), err=io.StringIO()) == 3
