"""Every ```python block of README.md runs, as written, against the emulated portal.

Each block is found by a marker (a phrase only it contains) and runs in a worker thread with its own event
loop (the first block calls ``asyncio.run`` itself) while the portal serves from the test's loop. The only
edits are the placeholders a reader replaces too (portal URL, credentials, Redis URL), each of which must be
present: a README that drifts from the API, or from its own placeholders, fails here.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import datetime as dt
import inspect
import json
import re
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from redis_shared.conftest import redis_port as redis_port  # the session's redis-server fixture

from bitrix_bizproc import BizprocClient
from bitrix_bizproc.cli import build_parser
from bitrix_bizproc.cli._common import (
    EXIT_CONNECTION,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_JOURNAL,
    EXIT_NOT_CONFIRMED,
    EXIT_OK,
    EXIT_UNSUPPORTED,
    EXIT_USAGE,
    OAUTH_ENV,
    TOKEN_URL_ENV,
    WEBHOOK_ENV,
)
from bitrix_bizproc.emulator import EmulatedFleet, EmulatedPortal, FaultKind
from bitrix_bizproc.emulator.records import Workflow
from bitrix_bizproc.jobs import Journal
from bitrix_bizproc.models import DocumentId, F

pytest_plugins = ["pytester"]

README = Path(__file__).resolve().parents[1] / "README.md"
HOOK = "https://portal.bitrix24.com/rest/1/abc123/"
ENDPOINT = 'client_endpoint="https://portal.bitrix24.com/rest/"'
DEAL = ("crm", "CCrmDocumentDeal", "DEAL")
OLD = dt.datetime(2024, 6, 1, tzinfo=dt.UTC).timestamp()
NAMED_ID = "66e412fdc9bd44.36306599"

Setup = Callable[[dict[str, Any]], AbstractAsyncContextManager[None]]


def python_blocks() -> list[tuple[int, str]]:
    """(first line number, source) of each ```python block in README.md."""
    text = README.read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, m.start(1)) + 1, m.group(1))
        for m in re.finditer(r"^```python\n(.*?)^```", text, flags=re.S | re.M)
    ]


MARKERS = {
    "usage": "asyncio.run(main())",
    "oauth": "JsonFileTokenStore(",
    "batch": "client.batch(",
    "paging": "client.paginate(",
    "redis": "RedisBucket(",
    "jobs": "terminate_workflows(",
    "emulator": "EmulatedPortal(",
    "vibecode": "from_vibecode(",
    "apps": "BitrixApp(",
    "plugin": "bitrix_client)",
    "sync": "def running(",
    "selfhosted": "allow_http=True",
    "hooks": "@client.on",
    "fleet": "terminate_fleet(",
}


def block(name: str) -> tuple[int, str]:
    """The one README block holding ``MARKERS[name]``."""
    found = [(line, src) for line, src in python_blocks() if MARKERS[name] in src]
    assert len(found) == 1, f"expected one README block with {MARKERS[name]!r}, found {len(found)}"
    return found[0]


def substitute(source: str, replacements: dict[str, str]) -> str:
    """Replace each placeholder, which must be there (a README that drops one must update this test)."""
    for old, new in replacements.items():
        assert old in source, f"README block no longer contains {old!r}"
        source = source.replace(old, new)
    return source


@asynccontextmanager
async def nothing(namespace: dict[str, Any]) -> AsyncIterator[None]:
    """No harness: the block brings its own imports and client."""
    yield


@asynccontextmanager
async def webhook_client(namespace: dict[str, Any], url: str) -> AsyncIterator[None]:
    """Give the block what earlier blocks defined: ``client``, ``DocumentId``, ``F`` and ``cutoff``."""
    async with BizprocClient.from_webhook(url, limiter="off") as client:
        cutoff = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
        namespace.update(client=client, DocumentId=DocumentId, F=F, cutoff=cutoff)
        yield


def _execute(line: int, source: str, namespace: dict[str, Any], setup: Setup) -> None:
    """Run the block as README's reader would, in this thread's own event loop if it awaits at top level."""
    code = compile("\n" * (line - 1) + source, str(README), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    outcome = eval(code, namespace)  # a block with top-level await returns a coroutine that has not started

    async def finish() -> None:
        async with setup(namespace):
            if inspect.iscoroutine(outcome):
                await outcome

    asyncio.run(finish())


async def run_block(name: str, replacements: dict[str, str], setup: Setup = nothing) -> dict[str, Any]:
    """Run README's ``name`` block in a worker thread; returns the names it defined."""
    line, source = block(name)
    namespace: dict[str, Any] = {"__name__": "__readme__"}
    await asyncio.to_thread(_execute, line, substitute(source, replacements), namespace, setup)
    return namespace


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Blocks that write files (tokens.json, terminate.jsonl) write them in a scratch directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def add_templates(portal: EmulatedPortal, n: int) -> None:
    """Templates 1..n on deals with README's parameters: ``resp`` (a user) and ``who`` (a number)."""
    parameters = {"resp": {"Name": "Responsible", "Type": "user"}, "who": {"Name": "Who", "Type": "int"}}
    for i in range(1, n + 1):
        portal.state.add_template(f"Template {i}", DEAL, parameters=parameters)


def test_every_block_has_a_runner() -> None:
    blocks = python_blocks()
    assert blocks, "README.md has no ```python blocks"
    for line, source in blocks:
        owners = [name for name, marker in MARKERS.items() if marker in source]
        assert len(owners) == 1, f"README.md:{line}: block claimed by {owners} (add a runner to this test)"


async def test_using_the_library(portal: EmulatedPortal, capsys: pytest.CaptureFixture[str]) -> None:
    add_templates(portal, 12)
    portal.state.add_user("Ivan", "Ivanov", id=14)
    portal.state.add_instances(3, started=OLD)
    await run_block("usage", {HOOK: portal.webhook_url})
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 + 1  # the three old instances, then total and operating time
    assert all(" 2024-06-01 " in line for line in lines[:3])
    total, _operating = lines[3].split()
    assert int(total) == 3  # the started workflow was terminated, so only the old three remain
    started = [w for w in portal.state.instances if w.template_id == 12]
    assert started == []  # terminated instances leave the running list


async def test_oauth_client(portal: EmulatedPortal, in_tmp: Path) -> None:
    portal.state.add_user("Admin", "Root", id=1, is_admin=True)
    tokens = portal.issue_tokens()
    app = portal.oauth_app
    replacements = {
        'client_id="local.abc"': f"client_id={app.client_id!r}",
        'client_secret="..."': f"client_secret={app.client_secret!r}",
        'access_token="..."': f"access_token={tokens['access_token']!r}",
        'refresh_token="..."': f"refresh_token={tokens['refresh_token']!r}, token_url={portal.token_url!r}",
        ENDPOINT: f"client_endpoint={portal.rest_url!r}",
    }

    @asynccontextmanager
    async def then_call(namespace: dict[str, Any]) -> AsyncIterator[None]:
        yield
        async with namespace["client"] as client:
            namespace["user"] = await client.users.get(1)

    namespace = await run_block("oauth", replacements, then_call)
    assert namespace["user"].id == 1
    assert (in_tmp / "tokens.json").stat().st_mode & 0o777 == 0o600


async def test_batch(portal: EmulatedPortal, capsys: pytest.CaptureFixture[str]) -> None:
    add_templates(portal, 3)
    portal.state.add_user("Petr", "Petrov", id=5)
    template = portal.state.templates.get(1)
    assert template is not None
    portal.state.load([Workflow(NAMED_ID, 1, *DEAL[:2], "DEAL_1", OLD, 1, OLD)])
    namespace = await run_block("batch", {}, lambda ns: webhook_client(ns, portal.webhook_url))
    assert capsys.readouterr().out.strip() == f"True None {namespace['c'].result()} [True, True, True]"
    started = portal.state.instance(namespace["c"].result())
    assert started is not None and started.parameters == {"who": "5"}
    terminated = portal.state.instance(NAMED_ID)
    assert terminated is not None and (terminated.state, terminated.status_text) == ("Terminated", "cleanup")


async def test_paging(portal: EmulatedPortal, capsys: pytest.CaptureFixture[str]) -> None:
    add_templates(portal, 2)
    portal.state.add_user("Olga", "Sidorova", id=15)
    portal.state.add_user("Gone", "Away", id=16, active=False)
    template = portal.state.templates.get(2)
    assert template is not None
    for doc in range(3):
        workflow = portal.state.start_workflow(template, f"DEAL_{doc}", 1)
        last_task = portal.state.add_task(workflow, 15, {"activity": "ApproveActivity"})
    portal.state.add_instances(60, started=OLD)
    namespace = await run_block("paging", {}, lambda ns: webhook_client(ns, portal.webhook_url))
    assert namespace["task"].id == last_task.id  # keyset paging walks tasks by ID ascending
    assert len(namespace["page"].items) == 10  # the last page of 60 old instances
    assert len(namespace["rows"]) == 2
    assert capsys.readouterr().out.strip() == "16 Gone"


async def test_redis(portal: EmulatedPortal, redis_url: str) -> None:
    portal.state.add_user("Admin", "Root", id=1, is_admin=True)
    tokens = portal.issue_tokens()
    app = portal.oauth_app
    replacements = {
        "redis://localhost:6379/0": redis_url,
        'client_id="..."': f"client_id={app.client_id!r}",
        'client_secret="..."': f"client_secret={app.client_secret!r}",
        'access_token="..."': f"access_token={tokens['access_token']!r}",
        'refresh_token="..."': f"refresh_token={tokens['refresh_token']!r}, token_url={portal.token_url!r}",
        ENDPOINT: f"client_endpoint={portal.rest_url!r}",
    }

    @asynccontextmanager
    async def then_call(namespace: dict[str, Any]) -> AsyncIterator[None]:
        yield
        async with namespace["client"] as client:
            namespace["user"] = await client.users.get(1)
        await namespace["r"].aclose()

    namespace = await run_block("redis", replacements, then_call)
    assert namespace["user"].id == 1


@pytest.fixture
def redis_url(request: pytest.FixtureRequest) -> str:
    """The session's redis-server (skips when redis-py or redis-server is missing)."""
    return f"redis://127.0.0.1:{request.getfixturevalue(redis_port.__name__)}/0"


async def test_bulk_jobs(portal: EmulatedPortal, in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    add_templates(portal, 1)
    template = portal.state.templates.get(1)
    assert template is not None
    portal.state.add_user("Admin", "Root", id=1, is_admin=True)
    portal.state.add_user("Boss", "Big", id=12)
    anna = portal.state.add_user("Anna", "Petrova", id=57, active=False)
    portal.state.add_instances(4, started=OLD)
    workflow = portal.state.start_workflow(template, "DEAL_9", 1)
    task = portal.state.add_task(workflow, anna.id, {"activity": "ApproveActivity"})
    await run_block("jobs", {}, lambda ns: webhook_client(ns, portal.webhook_url))
    assert capsys.readouterr().out.strip() == "Counter({'done': 4})"
    with Journal(in_tmp / "terminate.jsonl") as journal:
        assert [e.outcome.value for e in journal.entries("terminate")] == ["done"] * 4
    assert task.user_id == 12


async def test_emulator(capsys: pytest.CaptureFixture[str]) -> None:
    await run_block("emulator", {})
    assert "requests" in capsys.readouterr().out


async def test_fleet(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bitrix_bizproc.protocol.auth import parse_token_response

    async with EmulatedFleet() as emulated:
        installs = {}
        for member_id, old in (("a1b2c3", 3), ("d4e5f6", 2), ("selfhosted1", 1)):
            portal = emulated.add_portal(member_id)
            portal.state.add_template("Cleanup", DEAL)
            portal.state.add_instances(old, started=OLD)
            answer = emulated.issue_tokens(member_id)
            installs[member_id] = parse_token_response(200, json.dumps(answer).encode(), now=time.time())
        replacements = {
            'client_id="..."': f"client_id={emulated.app.client_id!r}",
            'client_secret="..."': f"client_secret={emulated.app.client_secret!r}, "
            f"token_url={emulated.token_url!r}",
        }

        @asynccontextmanager
        async def with_installs(namespace: dict[str, Any]) -> AsyncIterator[None]:
            namespace["installs"] = installs
            yield

        namespace = await run_block("fleet", replacements, with_installs)
        assert capsys.readouterr().out.split("\n")[:2] == ["3", "{'done': 6}"]
        assert [emulated.portal(m).state.running_count for m in installs] == [0, 0, 0]
        assert await namespace["store"].members() == ["a1b2c3", "d4e5f6"]
        assert sorted(p.name for p in (in_tmp / "journals").iterdir()) == [f"{m}.jsonl" for m in installs]


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    found = re.search(rf"^## {title}\n(.*?)(?=^## )", text, flags=re.S | re.M)
    assert found, f"README.md has no section {title!r}"
    return found.group(1)


def _subparser(parser: argparse.ArgumentParser, path: list[str]) -> argparse.ArgumentParser:
    for name in path:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[name]
    return parser


async def test_vibecode_gateway(portal: EmulatedPortal) -> None:
    add_templates(portal, 12)
    portal.state.add_instances(3, template_id=12, started=OLD)
    portal.state.add_instances(2, template_id=11, started=OLD)
    key = portal.add_vibecode_key()
    replacements = {'api_key="vibe_api_..."': f"api_key={key!r}, base_url={portal.vibecode_url!r}"}
    namespace = await run_block("vibecode", replacements)
    assert len(namespace["ids"]) == 3
    assert sorted(w.template_id for w in portal.state.instances) == [11, 11]  # only template 12's went
    stopped = [portal.state.instance(i) for i in namespace["ids"]]
    assert all(w is not None and w.status_text == "cleanup" for w in stopped)


def test_the_command_line_synopsis_matches_the_parser() -> None:
    section = _section("The command line")
    synopsis = re.search(r"```\n(.*?)```", section, flags=re.S)
    assert synopsis
    lines = synopsis.group(1).replace(" | bizproc ", "\nbizproc ").splitlines()
    for line in lines:
        words = line.split()
        assert words[0] == "bizproc", line
        path = [w for w in words[1:] if w.isidentifier()][
            : 2 if words[1] in ("instances", "templates", "tasks", "users", "fleet") else 1
        ]
        usage = _subparser(build_parser(), path).format_help()
        for option in re.findall(r"--[a-z][a-z-]*", line):
            assert option in usage, f"README: {line!r}: bizproc {' '.join(path)} has no {option}"


def test_the_exit_codes_and_variables_are_the_cli_s() -> None:
    section = _section("The command line")
    codes = re.search(r"Exit codes: (.*?)\.\n", section, flags=re.S)
    assert codes
    numbers = [int(n) for n in re.findall(r"(?:^|, )(\d+) ", codes.group(1))]
    assert numbers == [
        EXIT_OK,
        EXIT_FAILED,
        EXIT_USAGE,
        EXIT_CONNECTION,
        EXIT_NOT_CONFIRMED,
        EXIT_UNSUPPORTED,
        EXIT_JOURNAL,
        EXIT_INTERRUPTED,
    ]
    named = set(re.findall(r"`(BITRIX24_[A-Z_]+)`", section))
    assert named == {WEBHOOK_ENV, TOKEN_URL_ENV, *OAUTH_ENV.values()}


async def test_bitrix24_app(portal: EmulatedPortal) -> None:
    """The app block serves its robot; the portal installs it, runs a workflow and gets the hash back."""
    loop = asyncio.get_running_loop()  # the portal's; the block's app runs in the worker thread's loop
    oauth = portal.oauth_app
    replacements = {
        'client_id="local.app"': f"client_id={oauth.client_id!r}",
        'client_secret="..."': f"client_secret={oauth.client_secret!r}, token_url={portal.token_url!r}",
    }
    seen: dict[str, Any] = {}

    async def on_portal(coro: Coroutine[Any, Any, Any]) -> Any:
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, loop))

    async def run_workflow() -> Workflow:
        template = portal.state.add_template(
            "hash", DEAL, tasks=[{"activity": "RestActivity", "code": "md5", "properties": {"text": "hello"}}]
        )
        return await portal.robots.wait(portal.state.start_workflow(template, "DEAL_1", 1).id)

    @asynccontextmanager
    async def serve_then_run(namespace: dict[str, Any]) -> AsyncIterator[None]:
        yield
        runner = web.AppRunner(namespace["web_app"], access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        try:
            namespace["app"].handler_url = f"http://127.0.0.1:{runner.addresses[0][1]}/bitrix24/"
            seen["install"] = await on_portal(portal.robots.install(namespace["app"].handler_url))
            seen["record"] = await on_portal(run_workflow())
        finally:
            await runner.cleanup()

    await run_block("apps", replacements, serve_then_run)
    record = seen["record"]
    assert (seen["install"], record.state) == (200, "Completed")
    (run,) = portal.robots.runs_of(record.id)
    assert run.return_values == {"hash": "5d41402abc4b2a76b9719d911017c592"}  # md5("hello")
    assert [e.message for e in portal.state.activity_log if e.workflow_id == record.id] == ["hashed"]


def test_testing_your_code(pytester: pytest.Pytester) -> None:
    _line, source = block("plugin")
    pytester.makepyfile(test_users_code=source)
    pytester.makeini("[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n")
    result = pytester.runpytest("-p", "bitrix_bizproc.testing.pytest_plugin", "-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=2)


async def test_synchronous_callers(portal: EmulatedPortal, capsys: pytest.CaptureFixture[str]) -> None:
    add_templates(portal, 12)
    portal.state.add_instances(4, template_id=12)
    portal.state.add_instances(2, template_id=11)
    namespace = await run_block("sync", {HOOK: portal.webhook_url})
    assert capsys.readouterr().out.strip() == "4"
    assert await asyncio.to_thread(namespace["running"], 11) == 2  # a plain function, one loop per call


async def test_self_hosted_portals() -> None:
    namespace = await run_block("selfhosted", {})
    assert namespace["intranet"].session.auth.credentials.base_url.startswith("http://bitrix.corp.local/")
    assert namespace["intranet"].session.limiter.spec is None


async def test_hooks_and_opentelemetry(portal: EmulatedPortal, caplog: pytest.LogCaptureFixture) -> None:
    namespace = await run_block("hooks", {HOOK: portal.webhook_url})
    client = namespace["client"]
    assert len(client.session.hooks) == 2  # the audit hook and OpenTelemetry's
    portal.faults.inject(FaultKind.HTTP_502, times=1, method="user.get")
    client.session._sleep = _no_sleep
    async with client:
        await client.call("user.get")
    assert "retrying user.get on 127.0.0.1:" in caplog.text


async def _no_sleep(seconds: float) -> None:
    await asyncio.sleep(0)
