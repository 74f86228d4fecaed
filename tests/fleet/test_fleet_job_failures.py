"""A portal whose job fails with something other than a Bitrix error (a bug, a closed client, a disk
error) is one portal's failure: the fleet job does not raise past the others and leave them running
unawaited in the background."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bitrix_bizproc import BizprocClient
from bitrix_bizproc.emulator import EmulatedFleet
from bitrix_bizproc.fleet import MemoryPortalStore, run_on_fleet
from bitrix_bizproc.jobs import JobReport

from .conftest import FleetFactory, install


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
