"""Fleet-wide jobs: one report per portal matching that portal's state, a total, journals per portal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jobs._seed import CUTOFF, seed_dismissed_employee, seed_instances

from bitrix_bizproc.emulator import EmulatedFleet, Plan, PortalConfig
from bitrix_bizproc.fleet import MemoryPortalStore, offboard_fleet, run_on_fleet, terminate_fleet
from bitrix_bizproc.jobs import instance_filter

from .conftest import FleetFactory, install

OLD_ONLY = instance_filter(started_before=CUTOFF)


async def test_terminate_across_portals_reports_each_portal_as_it_is(
    emulated: EmulatedFleet, store: MemoryPortalStore, make_fleet: FleetFactory, tmp_path: Path
) -> None:
    sizes = {"p-small": (3, 2), "p-large": (120, 5), "p-empty": (0, 4)}
    seeded = {}
    for member_id, (old, new) in sizes.items():
        portal = await install(emulated, store, member_id, PortalConfig(plan=Plan.custom(50.0, 10, None)))
        seeded[member_id] = seed_instances(portal, old, new)
    fleet = await make_fleet(plan="off", plans={"p-large": "enterprise"})
    report = await terminate_fleet(fleet, filter=OLD_ONLY, journal_dir=tmp_path, portals_at_once=2)
    assert report.ok, str(report)
    assert set(report.portals) == set(sizes)
    for member_id, (old, new) in sizes.items():
        portal, one = emulated.portal(member_id), report.portals[member_id]
        assert one.matched == one.counts["done"] == old
        assert one.remaining == 0
        assert portal.state.terminated_count == old
        assert portal.state.running_count == new
        assert {w.id for w in portal.state.instances} == seeded[member_id].new
        assert portal.counters.rejections["QUERY_LIMIT_EXCEEDED"] == 0
        assert (tmp_path / f"{member_id}.jsonl").exists()  # each portal its own journal
    total = report.total()
    assert total["counts"] == {"done": 123}
    assert (total["portals"], total["portals_ok"], total["remaining"]) == (3, 3, 0)
    json.dumps(report.to_dict())  # JSON-ready
    # A rerun over the same journals finds nothing left to do on any portal.
    again = await terminate_fleet(fleet, filter=OLD_ONLY, journal_dir=tmp_path)
    assert again.matched == 0 and again.counts.get("done", 0) == 0


async def test_a_failing_portal_is_reported_and_the_others_go_on(
    emulated: EmulatedFleet, store: MemoryPortalStore, make_fleet: FleetFactory
) -> None:
    good = await install(emulated, store, "good")
    seed_instances(good, 5)
    gone = await install(emulated, store, "gone")
    seed_instances(gone, 5)
    emulated.uninstall("gone")  # the app was removed, the uninstall event not yet handled
    fleet = await make_fleet()
    report = await terminate_fleet(fleet, filter=OLD_ONLY, members=["good", "gone", "never"])
    assert not report.ok
    assert report.portals["good"].counts["done"] == 5
    assert set(report.failures) == {"gone", "never"}
    assert report.failures["never"].code == "PORTAL_NOT_FOUND"
    assert report.failures["gone"].code == "invalid_token"
    assert gone.state.running_count == 5
    assert "gone" in str(report) and "never" in str(report)


async def test_offboard_across_portals(
    emulated: EmulatedFleet, store: MemoryPortalStore, make_fleet: FleetFactory, tmp_path: Path
) -> None:
    employees = {}
    for member_id, n in (("p1", 3), ("p2", 7)):
        portal = await install(emulated, store, member_id)
        employees[member_id] = seed_dismissed_employee(portal, n)
    fleet = await make_fleet()
    users = {m: e.user_id for m, e in employees.items()}
    report = await offboard_fleet(fleet, users, journal_dir=tmp_path)
    assert report.ok, str(report)
    for member_id, employee in employees.items():
        assert report.portals[member_id].counts["done"] == len(employee.workflows)
        assert emulated.portal(member_id).state.terminated_count == len(employee.workflows)
    with pytest.raises(Exception, match="to_users"):
        await offboard_fleet(fleet, users, action="delegate")


async def test_a_job_leased_before_a_reinstall_finishes_with_the_new_pair(
    emulated: EmulatedFleet, store: MemoryPortalStore, make_fleet: FleetFactory
) -> None:
    from bitrix_bizproc import BizprocClient
    from bitrix_bizproc.jobs import JobReport, terminate_workflows

    from .conftest import tokens_of

    portal = await install(emulated, store, "member-a")
    seed_instances(portal, 7, 2)
    fleet = await make_fleet()

    async def run(member_id: str, client: BizprocClient, journal: Path | None) -> JobReport:
        await client.call("user.get")  # the job is under way with the old pair
        emulated.uninstall(member_id)  # reinstalled: the portal revokes the old pair...
        new = tokens_of(emulated.issue_tokens(member_id))
        await fleet.save(member_id, new, domain=portal.config.domain)  # ...the install handler saves the new
        return await terminate_workflows(client, filter=OLD_ONLY, journal=journal)

    report = await run_on_fleet(fleet, "terminate", run)
    assert report.ok, str(report)
    assert report.failures == {}
    one = report.portals["member-a"]
    assert one.matched == one.counts["done"] == 7
    assert portal.state.terminated_count == 7 and portal.state.running_count == 2
    assert portal.counters.rejections["invalid_token"] == 1  # refused once, then the stored pair was used
    assert portal.counters.token_refreshes == 0
