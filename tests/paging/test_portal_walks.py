"""Paginator walks against the emulated portal over loopback HTTP."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bitrix_bizproc import BizprocClient
from bitrix_bizproc.emulator import EmulatedPortal

from .walks import INSTANCES, TASKS, TEMPLATES, WALKS

DEAL = ("crm", "CCrmDocumentDeal", "DEAL")


@pytest.fixture
async def client(portal: EmulatedPortal) -> AsyncIterator[BizprocClient]:
    async with BizprocClient.from_webhook(portal.webhook_url, limiter="off") as client:
        yield client


def seed(portal: EmulatedPortal, method: str, n: int) -> list[str]:
    """``n`` rows for ``method``; their IDs as the portal sends them, in ascending order."""
    state = portal.state
    if method == TEMPLATES:
        made = [state.add_template(f"T{i}", DEAL).id for i in range(n)]
    else:
        if not len(state.templates):
            state.add_template("base", DEAL)
        workflows = state.add_instances(n)
        if method == INSTANCES:
            return sorted(w.id for w in workflows)
        made = [
            state.add_task(w, 1 + i % 3, {"activity": "ApproveActivity"}).id for i, w in enumerate(workflows)
        ]
    return [str(i) for i in sorted(made)]


def ids(rows: list[dict[str, Any]]) -> list[str]:
    return [str(r["ID"]) for r in rows]


@pytest.mark.parametrize(("method", "strategy"), WALKS)
@pytest.mark.parametrize("n", [0, 50, 51, 2_551])
async def test_exact_rows(
    portal: EmulatedPortal, client: BizprocClient, method: str, strategy: str, n: int
) -> None:
    want = seed(portal, method, n)
    rows = await client.paginate(method, strategy=strategy).collect()
    assert ids(rows) == want


@pytest.mark.parametrize(("method", "strategy"), WALKS)
async def test_limit(portal: EmulatedPortal, client: BizprocClient, method: str, strategy: str) -> None:
    want = seed(portal, method, 300)
    portal.counters.reset()
    rows = await client.paginate(method, strategy=strategy, limit=51).collect()
    assert ids(rows) == want[:51]
    assert portal.counters.commands <= 2 if strategy != "keyset" else portal.counters.commands <= 3


@pytest.mark.parametrize(("method", "strategy"), WALKS)
async def test_filter_kept_across_pages(
    portal: EmulatedPortal, client: BizprocClient, method: str, strategy: str
) -> None:
    seed(portal, method, 400)
    state = portal.state
    keep: list[Any]
    if method == TEMPLATES:
        params: dict[str, Any] = {"filter": {"!NAME": "T7"}, "select": ["NAME"]}
        keep = sorted(t.id for t in state.templates if t.name != "T7")
    elif method == TASKS:
        params = {"filter": {"USER_ID": 2}, "select": ["USER_ID"]}
        keep = sorted(t.id for t in state.tasks if t.user_id == 2)
    else:
        cut = sorted(w.id for w in state.instances)[300]
        params = {"FILTER": {"<ID": cut}, "SELECT": ["STARTED"]}
        keep = sorted(w.id for w in state.instances if w.id < cut)
    rows = await client.paginate(method, params, strategy=strategy).collect()
    assert ids(rows) == [str(i) for i in keep]
    assert len(rows) > 100


@pytest.mark.parametrize(("method", "strategy"), WALKS)
async def test_break_sends_nothing_more(
    portal: EmulatedPortal, client: BizprocClient, method: str, strategy: str
) -> None:
    seed(portal, method, 8_000)
    portal.counters.reset()
    async for row in client.paginate(method, strategy=strategy, max_buffered_pages=100):
        if row is not None:
            break
    gc.collect()
    await asyncio.sleep(0.05)
    sent = portal.counters.requests
    assert sent <= 3
    await asyncio.sleep(0.1)
    assert portal.counters.requests == sent
    assert portal.counters.commands <= 101


async def test_walk_during_inserts_and_terminations_never_repeats(
    portal: EmulatedPortal, client: BizprocClient
) -> None:
    want = seed(portal, INSTANCES, 1_000)
    got: list[str] = []
    async for page in client.paginate(INSTANCES, strategy="sequential").pages():
        got.extend(ids(page.items))
        portal.state.add_instances(5)
    assert len(got) == len(set(got))
    assert set(want) <= set(got)


@pytest.mark.parametrize("strategy", ["keyset", "parallel", "sequential"])
async def test_task_walk_during_inserts_and_terminations(
    portal: EmulatedPortal, client: BizprocClient, strategy: str
) -> None:
    seed(portal, TASKS, 3_000)
    state = portal.state
    doomed = iter(sorted(w.id for w in state.instances)[::7])  # their open tasks vanish mid-walk
    removed: set[str] = set()
    got: list[str] = []
    async for page in client.paginate(TASKS, strategy=strategy).pages():
        got.extend(ids(page.items))
        for workflow in state.add_instances(3):
            state.add_task(workflow, 1, {"activity": "ApproveActivity"})
        for _ in range(4):
            wf_id = next(doomed, None)
            if wf_id is not None:
                removed.update(str(t) for t in state.tasks_by_workflow.get(wf_id, []))
                state.terminate(wf_id)
    throughout = {str(t.id) for t in state.tasks if t.id <= 3_000} - removed
    assert len(got) == len(set(got))
    assert removed and throughout
    if strategy == "keyset":
        assert throughout <= set(got)  # keyset skips nothing that matched throughout
    assert set(got) <= {str(i) for i in range(1, state._next_task)}


async def test_drain_terminates_everything(portal: EmulatedPortal, client: BizprocClient) -> None:
    want = seed(portal, INSTANCES, 620)
    got: list[str] = []
    async for inst in client.paginate(INSTANCES).drain():
        got.append(inst["ID"])
        await client.call("bizproc.workflow.terminate", {"ID": inst["ID"]})
    assert got == want
    assert portal.state.running_count == 0


async def test_snapshot_then_terminate(portal: EmulatedPortal, client: BizprocClient) -> None:
    want = seed(portal, INSTANCES, 620)
    snapshot = await client.paginate(INSTANCES).snapshot_ids()
    assert snapshot == want
    for wf_id in snapshot:
        portal.state.terminate(wf_id)
    assert portal.state.running_count == 0


async def test_offset_walk_while_terminating_misses_rows(
    portal: EmulatedPortal, client: BizprocClient
) -> None:
    seed(portal, INSTANCES, 300)
    async for inst in client.paginate(INSTANCES, strategy="sequential"):
        portal.state.terminate(inst["ID"])
    assert portal.state.running_count > 0  # the hazard drain() and snapshot_ids() avoid
