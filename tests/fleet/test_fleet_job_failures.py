"""A portal whose job fails with something other than a Bitrix error (a bug, a closed client, a disk
error) is one portal's failure: the fleet job does not raise past the others and leave them running
unawaited in the background."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from jobs._seed import CUTOFF, seed_instances

from bitrix_bizproc import BizprocClient
from bitrix_bizproc.emulator import EmulatedFleet
from bitrix_bizproc.fleet import MemoryPortalStore, run_on_fleet
from bitrix_bizproc.jobs import JobReport, Progress, instance_filter, terminate_workflows

from .conftest import FleetFactory, install

OLD_ONLY = instance_filter(started_before=CUTOFF)


async def test_an_unexpected_error_on_one_portal_is_reported_and_the_others_finish(
    emulated: EmulatedFleet, store: MemoryPortalStore, make_fleet: FleetFactory
) -> None:
    for member_id in ("p-bad", "p-slow"):
        await install(emulated, store, member_id)
    fleet = await make_fleet()
    finished: list[str] = []

    async def run(member_id: str, client: BizprocClient, journal: Path | None) -> JobReport:
        if member_id == "p-bad":
            raise RuntimeError("the transport is closed")
        for _ in range(20):  # still working when p-bad fails
            await asyncio.sleep(0)
        finished.append(member_id)
        return JobReport(job="probe", action="none", dry_run=False)

    report = await run_on_fleet(fleet, "probe", run)
    assert finished == ["p-slow"]
    assert set(report.portals) == {"p-slow"}, report.failures
    assert report.failures["p-bad"].error == "RuntimeError"
    assert not report.ok


async def test_a_portal_whose_app_is_removed_mid_job_reports_what_was_done_before(
    emulated: EmulatedFleet, store: MemoryPortalStore, make_fleet: FleetFactory
) -> None:
    """The partial report of an aborted portal counts in the total: items terminated before the stop
    were terminated on the portal, so the fleet report says so."""
    portals = {m: await install(emulated, store, m) for m in ("p-ok", "p-removed")}
    for portal in portals.values():
        seed_instances(portal, old=150)
    fleet = await make_fleet()

    async def run(member_id: str, client: BizprocClient, journal: Path | None) -> JobReport:
        def removed_after_first_chunk(progress: Progress) -> None:
            if member_id == "p-removed" and progress.phase == "terminate" and progress.done >= 50:
                emulated.uninstall(member_id)

        return await terminate_workflows(
            client, filter=OLD_ONLY, concurrency=1, progress=removed_after_first_chunk
        )

    report = await run_on_fleet(fleet, "terminate_workflows", run)
    removed = portals["p-removed"].state.terminated_count
    assert 0 < removed < 150
    assert report.failures["p-removed"].error == "InvalidCredentialsError"
    assert report.portals["p-removed"].counts["done"] == removed  # the partial report is kept
    assert report.counts["done"] == 150 + removed  # the total matches the portals
    total = report.total()
    assert (total["portals"], total["portals_ok"], total["portals_failed"]) == (2, 1, 1)


class _Finished:
    """What ``collect`` reads of an arq job: its result."""

    def __init__(self, outcome: object) -> None:
        self.outcome = outcome

    async def result(self, **_: Any) -> object:
        return self.outcome


async def test_on_workers_too_an_aborted_portal_keeps_its_partial_report(
    emulated: EmulatedFleet, store: MemoryPortalStore, make_fleet: FleetFactory, tmp_path: Path
) -> None:
    pytest.importorskip("arq", reason="arq is not installed (extra: worker)")
    from bitrix_bizproc.fleet.worker import WorkerConfig, collect, terminate_portal

    portal = await install(emulated, store, "p-removed")
    seed_instances(portal, old=150)
    fleet = await make_fleet()
    config = WorkerConfig("redis://127.0.0.1:1", "id", "secret", journal_dir=str(tmp_path))
    real_batch = BizprocClient.batch

    def batch_then_uninstall(client: BizprocClient, **options: Any) -> Any:
        if portal.state.terminated_count >= 50:
            emulated.uninstall("p-removed")
        return real_batch(client, **options)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BizprocClient, "batch", batch_then_uninstall)
        outcome = await terminate_portal(
            {"fleet": fleet, "config": config}, "p-removed", "run-1", OLD_ONLY, concurrency=1
        )
    removed = portal.state.terminated_count
    assert 0 < removed < 150
    report = await collect({"p-removed": _Finished(outcome)})  # type: ignore[dict-item]
    assert report.portals["p-removed"].counts["done"] == removed
    assert report.failures["p-removed"].error == "InvalidCredentialsError"
    assert not report.ok
