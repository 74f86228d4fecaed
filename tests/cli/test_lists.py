"""``bizproc instances|templates|tasks list``: formats, filters, limits, credentials from the environment."""

from __future__ import annotations

import csv
import io
import json

import pytest
from jobs._seed import seed_dismissed_employee, seed_instances

from bitrix_bizproc.emulator import EmulatedPortal

from .conftest import Run


async def test_instances_as_a_table(portal: EmulatedPortal, bizproc: Run) -> None:
    seeded = seed_instances(portal, old=3, new=2)
    result = await bizproc("instances", "list", "--webhook", portal.webhook_url)
    assert result.code == 0, result.err
    header, rule, *rows = result.out.splitlines()
    assert header.split()[:3] == ["ID", "STARTED", "STARTED_BY"] and set(rule) <= {"-", " "}
    assert {row.split()[0] for row in rows} == seeded.old | seeded.new


async def test_instances_as_json_lines_with_a_filter(portal: EmulatedPortal, bizproc: Run) -> None:
    seeded = seed_instances(portal, old=4, new=3)
    result = await bizproc(
        "instances",
        "list",
        "--webhook",
        portal.webhook_url,
        "--filter",
        "<STARTED=2024-01-01",
        "--format",
        "jsonl",
    )
    rows = [json.loads(line) for line in result.out.splitlines()]
    assert result.code == 0 and {r["ID"] for r in rows} == seeded.old
    assert all(r["STARTED"].startswith("2023-") for r in rows)


async def test_instances_as_csv_with_select_and_limit(portal: EmulatedPortal, bizproc: Run) -> None:
    seed_instances(portal, old=60)
    result = await bizproc(
        "instances", "list", "--webhook", portal.webhook_url, "--format", "csv", "--select", "id,template_id",
        "--limit", "55",
    )  # fmt: skip
    rows = list(csv.reader(io.StringIO(result.out)))
    assert rows[0] == ["ID", "TEMPLATE_ID"] and len(rows) == 56
    assert "first 55 rows" in result.err


async def test_templates_and_tasks(
    portal: EmulatedPortal, bizproc: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    anna = seed_dismissed_employee(portal, workflows=3)
    monkeypatch.setenv("BITRIX24_WEBHOOK_URL", portal.webhook_url)
    templates = await bizproc("templates", "list", "--format", "jsonl")
    assert [json.loads(line)["NAME"] for line in templates.out.splitlines()] == ["Approval", "Unrelated"]
    tasks = await bizproc("tasks", "list", "--filter", f"USER_ID={anna.user_id}", "--format", "jsonl")
    assert {json.loads(line)["ID"] for line in tasks.out.splitlines()} == anna.tasks


async def test_oauth_credentials_from_the_environment(
    portal: EmulatedPortal, bizproc: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = seed_instances(portal, old=2)
    tokens = portal.issue_tokens()
    for name, value in {
        "BITRIX24_CLIENT_ID": portal.oauth_app.client_id,
        "BITRIX24_CLIENT_SECRET": portal.oauth_app.client_secret,
        "BITRIX24_ACCESS_TOKEN": tokens["access_token"],
        "BITRIX24_REFRESH_TOKEN": tokens["refresh_token"],
        "BITRIX24_CLIENT_ENDPOINT": portal.rest_url,
        "BITRIX24_TOKEN_URL": portal.token_url,
    }.items():
        monkeypatch.setenv(name, value)
    portal.auth.expire_access_tokens()  # the first call refreshes
    result = await bizproc("instances", "list", "--format", "jsonl")
    assert result.code == 0, result.err
    assert {json.loads(line)["ID"] for line in result.out.splitlines()} == seeded.old
    assert portal.counters.token_refreshes == 1
    assert tokens["access_token"] not in result.out + result.err


async def test_incomplete_oauth_settings_name_what_is_missing(
    bizproc: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BITRIX24_CLIENT_ID", "app.123")
    monkeypatch.setenv("BITRIX24_CLIENT_SECRET", "s3cr3t-value-never-shown")
    result = await bizproc("instances", "list")
    assert result.code == 2
    assert "BITRIX24_ACCESS_TOKEN" in result.err and "s3cr3t" not in result.err
    assert "Traceback" not in result.err
