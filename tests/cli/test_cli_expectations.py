"""What a user expects of ``bizproc``: a version, verbose waits, timeouts, plain http by opt-in, JSON arrays,
filters from --help that work, and the users list with dismissed employees first."""

from __future__ import annotations

import argparse
import json
import re
import socket

import pytest
from jobs._seed import PortalFactory, seed_dismissed_employee, seed_instances

from bitrix_bizproc import __version__
from bitrix_bizproc.cli import build_parser
from bitrix_bizproc.emulator import EmulatedPortal, FaultKind

from .conftest import Run


async def test_version(bizproc: Run, capsys: pytest.CaptureFixture[str]) -> None:
    result = await bizproc("--version")
    assert result.code == 0 and result.out.strip() == f"bizproc (bitrix_bizproc) {__version__}"


async def test_json_is_one_array_and_jsonl_one_object_per_line(portal: EmulatedPortal, bizproc: Run) -> None:
    seeded = seed_instances(portal, old=3)
    array = await bizproc("instances", "list", "--webhook", portal.webhook_url, "--format", "json")
    assert array.code == 0 and {row["ID"] for row in json.loads(array.out)} == seeded.old
    lines = await bizproc("instances", "list", "--webhook", portal.webhook_url, "--format", "jsonl")
    assert {json.loads(line)["ID"] for line in lines.out.splitlines()} == seeded.old


async def test_no_rows_still_give_a_csv_header_and_an_empty_array(
    portal: EmulatedPortal, bizproc: Run
) -> None:
    as_csv = await bizproc("instances", "list", "--webhook", portal.webhook_url, "--format", "csv")
    assert as_csv.code == 0 and as_csv.out.splitlines()[0].split(",")[:2] == ["ID", "STARTED"]
    as_json = await bizproc("instances", "list", "--webhook", portal.webhook_url, "--format", "json")
    assert json.loads(as_json.out) == []


@pytest.mark.parametrize("noun", ["instances", "templates", "tasks", "users"])
async def test_the_filter_example_in_help_works(portal: EmulatedPortal, bizproc: Run, noun: str) -> None:
    seed_dismissed_employee(portal, workflows=2)
    usage = build_parser()._subparsers._group_actions[0].choices[noun]  # type: ignore[union-attr]
    listing = usage._subparsers._group_actions[0].choices["list"]  # type: ignore[union-attr]
    example = re.search(r"e\.g\. (\S+)", " ".join(listing.format_help().split())).group(1)  # type: ignore[union-attr]
    result = await bizproc(noun, "list", "--webhook", portal.webhook_url, "--filter", example.strip("'"))
    assert result.code == 0, result.err


async def test_users_list_puts_dismissed_employees_first(portal: EmulatedPortal, bizproc: Run) -> None:
    anna = seed_dismissed_employee(portal, workflows=1)
    result = await bizproc("users", "list", "--webhook", portal.webhook_url, "--format", "jsonl")
    rows = [json.loads(line) for line in result.out.splitlines()]
    assert result.code == 0 and rows[0]["ID"] == anna.user_id and rows[0]["ACTIVE"] is False
    assert [r["ACTIVE"] for r in rows] == sorted(r["ACTIVE"] for r in rows)  # all False before any True
    assert len(rows) == len(portal.state.users)


async def test_verbose_shows_requests_as_they_happen_without_the_code(
    portal: EmulatedPortal, bizproc: Run
) -> None:
    portal.faults.inject(FaultKind.HTTP_502, times=1)
    result = await bizproc("instances", "list", "--webhook", portal.webhook_url, "-v")
    assert result.code == 0, result.err
    lines = [line for line in result.err.splitlines() if line.startswith("bizproc: ")]
    assert lines[0].startswith("bizproc: -> bizproc.workflow.instances on 127.0.0.1:")
    assert any("HTTP 502" in line for line in lines) and any("retrying" in line for line in lines)
    code = portal.webhook_url.rstrip("/").rsplit("/", 1)[1]
    assert code not in result.err


async def test_timeout_gives_up_on_a_hung_portal(portal: EmulatedPortal, bizproc: Run) -> None:
    portal.faults.inject(FaultKind.SLOW, times=1, delay=5.0)
    result = await bizproc(
        "instances", "list", "--webhook", portal.webhook_url, "--timeout", "0.3", "--retries", "0", "-v"
    )
    assert result.code == 3 and "timed out" in result.err


@pytest.mark.parametrize("bad", ["0", "-1", "soon"])
async def test_timeout_must_be_positive(bizproc: Run, bad: str) -> None:
    result = await bizproc("instances", "list", "--timeout", bad)
    assert result.code == 2 and "--timeout" in result.err


async def test_plain_http_to_another_host_needs_allow_http(
    portal_factory: PortalFactory, bizproc: Run
) -> None:
    name = socket.gethostname()
    try:
        socket.gethostbyname(name)
    except OSError:
        pytest.skip(f"this machine's name {name!r} does not resolve: no non-loopback name to reach it by")
    portal = await portal_factory(host="0.0.0.0")
    url = portal.webhook_url.replace("127.0.0.1", name)  # bound to every interface
    refused = await bizproc("instances", "list", "--webhook", url)
    assert refused.code == 2 and "--allow-http" in refused.err
    allowed = await bizproc("instances", "list", "--webhook", url, "--allow-http")
    assert allowed.code == 0, allowed.err


def test_the_date_options_say_which_time_zone_they_mean() -> None:
    terminate = _subcommand("terminate").format_help()
    assert "midnight UTC unless DATE carries an offset" in " ".join(terminate.split())


def _subcommand(name: str) -> argparse.ArgumentParser:
    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[name]  # type: ignore[no-any-return]
