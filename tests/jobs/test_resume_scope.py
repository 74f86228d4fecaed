"""A resumed job acts only on what still matches: an item carried over from the journal is re-checked.

A journal carries the items an earlier run left unsettled (failed transiently, in flight, answer lost)
into the next run. Between the runs an item may stop matching: the dismissed employee's task was taken
over by a colleague, a workflow's MODIFIED moved past the filter. Sent anyway, the resumed job would
terminate a workflow that is no longer what the user asked for.
"""

from __future__ import annotations

from pathlib import Path

from bitrix_bizproc import BizprocClient
from bitrix_bizproc.jobs import Journal, JournalOutcome, ReportOutcome, offboard_employee, terminate_workflows

from ._seed import CUTOFF, NEW, PortalFactory, flaky, seed_dismissed_employee, seed_instances
from .conftest import FAST_RETRY


async def test_a_carried_workflow_whose_task_was_taken_over_is_not_terminated_on_resume(
    portal_factory: PortalFactory, tmp_path: Path
) -> None:
    stuck: set[str] = set()
    portal = await portal_factory(dispatcher=flaky(stuck, times=10_000))
    anna = seed_dismissed_employee(portal, workflows=6)
    victim = sorted(anna.workflows)[0]
    stuck.add(victim)
    journal = tmp_path / "j.jsonl"
    async with BizprocClient.from_webhook(portal.webhook_url, limiter=None, retry=FAST_RETRY) as client:
        first = await offboard_employee(client, user=anna.user_id, journal=journal)
        assert first.count(ReportOutcome.DONE) == 5 and first.count(ReportOutcome.FAILED) == 1
        with Journal(journal) as log:
            entry = log.entry(victim, "terminate")
            assert entry is not None and entry.outcome is JournalOutcome.FAILED and entry.transient

        # A colleague takes the task over: the workflow is no longer one of Anna's open tasks.
        (task,) = [t for t in portal.state.tasks if t.workflow_id == victim and t.user_id == anna.user_id]
        portal.state.delegate_task(task, anna.colleague)
        stuck.clear()  # the portal would now terminate it if asked

        second = await offboard_employee(client, user=anna.user_id, journal=journal)
    assert victim in {w.id for w in portal.state.instances}  # still running: never terminated
    assert dict(second.counts) == {"excluded": 1} and second.ok
    assert [e.item for e in second.excluded] == [victim] and "no longer listed" in second.excluded[0].reason
    with Journal(journal) as log:  # journaled: a third run leaves it alone too
        entry = log.entry(victim, "terminate")
        assert entry is not None and entry.outcome is JournalOutcome.EXCLUDED


async def test_a_carried_workflow_modified_past_the_filter_is_not_terminated_on_resume(
    portal_factory: PortalFactory, tmp_path: Path
) -> None:
    stuck: set[str] = set()
    portal = await portal_factory(dispatcher=flaky(stuck, times=10_000))
    seeded = seed_instances(portal, old=8)
    victim = sorted(seeded.old)[0]
    stuck.add(victim)
    filter = {"<MODIFIED": CUTOFF}
    journal = tmp_path / "j.jsonl"
    async with BizprocClient.from_webhook(portal.webhook_url, limiter=None, retry=FAST_RETRY) as client:
        first = await terminate_workflows(client, filter=filter, journal=journal)
        assert first.count(ReportOutcome.DONE) == 7 and first.count(ReportOutcome.FAILED) == 1

        portal.state.instances.update(victim, modified=NEW)  # it moved on: no longer "not modified since"
        stuck.clear()
        second = await terminate_workflows(client, filter=filter, journal=journal)
    assert victim in {w.id for w in portal.state.instances}
    assert dict(second.counts) == {"excluded": 1} and second.ok
