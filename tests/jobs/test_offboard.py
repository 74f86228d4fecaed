"""offboard_employee on the emulated portal: the dismissed user, all open tasks, each workflow once."""

from __future__ import annotations

from pathlib import Path

import pytest

from bitrix_bizproc import BizprocClient, NotFoundError, ValidationError
from bitrix_bizproc.emulator import EmulatedPortal
from bitrix_bizproc.jobs import Journal, JournalOutcome, ReportOutcome, offboard_employee

from ._seed import seed_dismissed_employee


@pytest.mark.parametrize("who", ["by_id", "by_name"])
async def test_terminates_the_workflows_behind_every_open_task(
    portal: EmulatedPortal, client: BizprocClient, who: str
) -> None:
    anna = seed_dismissed_employee(portal, workflows=60, tasks_each=2)  # 120 tasks: three pages
    user: int | str = anna.user_id if who == "by_id" else "Anna Petrova"
    report = await offboard_employee(client, user=user)
    assert report.subject == f"user {anna.user_id} (Anna Petrova)"
    assert report.matched == 60 and report.count(ReportOutcome.DONE) == 60  # unique workflow IDs
    assert report.remaining == 0 and report.ok
    assert anna.workflows.isdisjoint(w.id for w in portal.state.instances)
    assert portal.state.running_count == 5  # the unrelated workflows run on
    assert portal.counters.methods["bizproc.workflow.terminate"] == 60


async def test_kill(portal: EmulatedPortal, client: BizprocClient) -> None:
    anna = seed_dismissed_employee(portal, workflows=7)
    report = await offboard_employee(client, user=anna.user_id, action="kill")
    assert report.action == "kill" and set(portal.state.killed) == anna.workflows


async def test_delegate_hands_every_task_over_and_keeps_the_workflows(
    portal: EmulatedPortal, client: BizprocClient, tmp_path: Path
) -> None:
    anna = seed_dismissed_employee(portal, workflows=55)
    report = await offboard_employee(
        client, user="Anna Petrova", action="delegate", to_user=anna.colleague, journal=tmp_path / "j.jsonl"
    )
    assert report.action == "delegate" and report.count(ReportOutcome.DONE) == 55
    assert report.remaining == 0
    assert {t.id for t in portal.state.tasks if t.user_id == anna.colleague} == anna.tasks
    assert portal.state.running_count == 60
    done = {
        e.item for e in Journal(tmp_path / "j.jsonl").entries("delegate") if e.outcome is JournalOutcome.DONE
    }
    assert done == {str(t) for t in anna.tasks}


async def test_dry_run_changes_nothing(portal: EmulatedPortal, client: BizprocClient) -> None:
    anna = seed_dismissed_employee(portal, workflows=4)
    report = await offboard_employee(client, user=anna.user_id, dry_run=True)
    assert set(report.planned) == anna.workflows and portal.state.running_count == 9
    assert portal.counters.methods["bizproc.workflow.terminate"] == 0


async def test_an_active_user_or_nobody_is_not_found(portal: EmulatedPortal, client: BizprocClient) -> None:
    anna = seed_dismissed_employee(portal, workflows=1)
    for user in (anna.colleague, "Anna Smirnova", "Nobody Here", 999):
        with pytest.raises(NotFoundError, match="no dismissed"):
            await offboard_employee(client, user=user)


async def test_bad_arguments_are_refused(portal: EmulatedPortal, client: BizprocClient) -> None:
    anna = seed_dismissed_employee(portal, workflows=1)
    with pytest.raises(ValidationError, match="to_user"):
        await offboard_employee(client, user=anna.user_id, action="delegate")
    with pytest.raises(ValidationError, match=r"cannot delegate user \d+.s tasks to user"):
        await offboard_employee(client, user=anna.user_id, action="delegate", to_user=anna.user_id)
    with pytest.raises(ValidationError, match="not active"):
        await offboard_employee(client, user=anna.user_id, action="delegate", to_user=4242)
    with pytest.raises(ValidationError, match="only used"):
        await offboard_employee(client, user=anna.user_id, to_user=anna.colleague)
    assert portal.state.running_count == 6


async def test_two_dismissed_namesakes_need_an_id(portal: EmulatedPortal, client: BizprocClient) -> None:
    seed_dismissed_employee(portal, workflows=1)
    portal.state.add_user("Anna", "Petrova", active=False)
    with pytest.raises(ValidationError, match="2 dismissed users"):
        await offboard_employee(client, user="Anna Petrova")


async def test_a_user_of_non_ascii_digits_is_a_name_not_a_crash(
    portal: EmulatedPortal, client: BizprocClient
) -> None:
    """``"²".isdigit()`` is true but ``int("²")`` fails: it is read as a name (nobody), never a ValueError."""
    seed_dismissed_employee(portal, workflows=1)
    with pytest.raises(NotFoundError, match="no dismissed"):
        await offboard_employee(client, user="²")
