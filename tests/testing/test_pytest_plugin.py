"""The pytest plugin as a user meets it: a test file that uses only its fixtures, run by pytest itself."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import textwrap

import pytest

pytest_plugins = ["pytester"]

PLUGIN = "bitrix_bizproc.testing.pytest_plugin"

USER_TESTS = """
import pytest


async def test_the_client_reaches_the_portal(bitrix_portal, bitrix_client):
    template = bitrix_portal.state.add_template("Approval", ["crm", "CCrmDocumentDeal", "DEAL"])
    for deal in (1, 2, 3):
        bitrix_portal.state.start_workflow(template, f"DEAL_{deal}", started_by=1)
    rows = await bitrix_client.workflows.instances().collect()
    assert len(rows) == 3
    await bitrix_client.workflows.kill(rows[0].id)
    assert bitrix_portal.state.running_count == 2


@pytest.mark.bitrix_portal(plan="standard", seed=3, instances=40)
async def test_a_marker_seeds_and_sets_the_plan(bitrix_portal, bitrix_client):
    assert bitrix_portal.config.plan.name == "standard"
    assert len(await bitrix_client.workflows.instances().collect()) == 40


def test_a_sync_test_gets_a_portal_too(bitrix_portal_factory):
    import asyncio

    from bitrix_bizproc import BizprocClient

    portal = bitrix_portal_factory(seed=1, instances=5)

    async def count():
        async with BizprocClient.from_webhook(portal.webhook_url, limiter="off") as client:
            return len(await client.workflows.instances().collect())

    assert asyncio.run(count()) == 5
"""


def test_a_users_test_file_passes_with_only_the_plugins_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    pytester.makeini("[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n")
    result = pytester.runpytest("-p", PLUGIN, "-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=3)


def test_without_pytest_asyncio_the_portal_works_and_the_client_says_what_it_needs(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        test_user=textwrap.dedent(
            """
            def test_portal(bitrix_portal):
                assert bitrix_portal.webhook_url.startswith("http://127.0.0.1:")

            def test_client(bitrix_client):
                pass
            """
        )
    )
    # pytest-asyncio hidden from the run, as if it were not installed: no entry-point plugins, no import
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile(sitecustomize="import sys\nsys.modules['pytest_asyncio'] = None\n")
    result = pytester.runpytest_subprocess("-p", PLUGIN, "-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*bitrix_client fixture needs pytest-asyncio*"])


def test_the_entry_point_is_registered_when_installed() -> None:
    try:
        dist = importlib.metadata.distribution("bitrix_bizproc")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("bitrix_bizproc is not installed (pip install -e .): entry points exist when installed")
    points = [ep for ep in dist.entry_points if ep.group == "pytest11"]
    # named as the module, so that `-p bitrix_bizproc.testing.pytest_plugin` does not register it twice
    assert [(ep.name, ep.value) for ep in points] == [(PLUGIN, PLUGIN)]
    assert any(ep.value == PLUGIN for ep in importlib.metadata.entry_points(group="pytest11"))


def test_loading_the_plugin_imports_no_emulator() -> None:
    """Installed, the plugin loads in every pytest run (this project's too): it must stay light."""
    code = f"import sys, {PLUGIN}; print(any(m.startswith('bitrix_bizproc.emulator') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
