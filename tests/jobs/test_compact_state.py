"""The job keeps per-item state only for what its report must list: the report stays item for item true.

Done items are counted, not remembered one by one; failed (and unknown) items are kept with their failure,
retried while transient, and listed in the order they were planned, whatever order the chunks answer in.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bitrix_bizproc import BizprocClient
from bitrix_bizproc.emulator import PortalError
from bitrix_bizproc.emulator.handlers import dispatch
from bitrix_bizproc.jobs import Journal, JournalOutcome, Progress, terminate_workflows

from ._seed import CUTOFF, PortalFactory, seed_instances
from .test_terminate import BEFORE


def _mixed(locked: set[str], flaky: set[str]) -> Any:
    """ACCESS_DENIED for ``locked`` (for good), one INTERNAL_SERVER_ERROR for each of ``flaky``."""
    failed: Counter[str] = Counter()

    def dispatcher(state: Any, ctx: Any, name: str, params: dict[str, Any]) -> Any:
        key = str(params.get("ID"))
        if name == "bizproc.workflow.terminate" and key in locked:
            raise PortalError("ACCESS_DENIED", "Workflow is locked by its owner", 403)
        if name == "bizproc.workflow.terminate" and key in flaky and not failed[key]:
            failed[key] += 1
            raise PortalError("INTERNAL_SERVER_ERROR", "Internal error", 500)
        return dispatch(state, ctx, name, params)

    return dispatcher


async def test_a_mixed_run_reports_every_item_and_lists_failures_in_planned_order(
    portal_factory: PortalFactory, tmp_path: Path
) -> None:
    locked: set[str] = set()
    flaky: set[str] = set()
    portal = await portal_factory(dispatcher=_mixed(locked, flaky))
    ids = sorted(seed_instances(portal, old=430).old)  # the listing's order: ID ascending
    locked.update([ids[401], ids[7], ids[250], ids[99]])
    flaky.update([ids[3], ids[300]])
    gone = ids[120]
    portal.state.terminate(gone)  # listed? no: gone before the listing; a second one goes mid-run
    late = ids[421]

    def someone_else(progress: Progress) -> None:
        if progress.phase == "terminate" and progress.done == 0:
            portal.state.terminate(late)

    async with BizprocClient.from_webhook(portal.webhook_url, limiter=None) as client:
        report = await terminate_workflows(
            client, filter=BEFORE, journal=tmp_path / "j.jsonl", progress=someone_else, concurrency=8
        )
    assert report.matched == 429
    assert dict(report.counts) == {"done": 424, "already_gone": 1, "failed": 4}
    assert [f.item for f in report.failures] == [ids[7], ids[99], ids[250], ids[401]]
    assert {(f.code, f.transient) for f in report.failures} == {("ACCESS_DENIED", False)}
    assert report.remaining == 4 and not report.ok
    entries = {e.item: e.outcome for e in Journal(tmp_path / "j.jsonl").entries("terminate")}
    assert Counter(entries.values()) == {
        JournalOutcome.DONE: 424, JournalOutcome.ALREADY_GONE: 1, JournalOutcome.FAILED: 4
    }  # fmt: skip
    assert entries[late] is JournalOutcome.ALREADY_GONE
    assert CUTOFF  # the seeded instances all started before it


async def test_a_run_stopped_mid_chunk_counts_unsettled_items_as_unknown_or_not_attempted(
    portal_factory: PortalFactory, tmp_path: Path
) -> None:
    portal = await portal_factory(dispatcher=_mixed(set(), set()))
    seed_instances(portal, old=400)
    job = asyncio.current_task()
    assert job is not None

    def cancel_after_two_chunks(p: Progress) -> None:
        if p.phase == "terminate" and p.done == 100:
            job.cancel()  # a third chunk is in flight: its answer never counts

    async with BizprocClient.from_webhook(portal.webhook_url, limiter=None) as client:
        with pytest.raises(asyncio.CancelledError):
            await terminate_workflows(
                client, filter=BEFORE, journal=tmp_path / "j.jsonl", progress=cancel_after_two_chunks,
                concurrency=3,
            )  # fmt: skip
    (end,) = [e for e in Journal(tmp_path / "j.jsonl").events if e.get("event") == "run_end"]
    counts = Counter(end["counts"])
    assert set(counts) <= {"done", "unknown", "not_attempted"}
    assert counts["done"] + counts["unknown"] + counts["not_attempted"] == 400
    assert counts["done"] >= 100 and counts["unknown"] <= 100 and counts["not_attempted"] > 0
    on_portal = 400 - portal.state.running_count  # an unknown item may or may not have been done
    assert counts["done"] <= on_portal <= counts["done"] + counts["unknown"]
