"""A resumed job acts only on what still matches: an item carried over from the journal is re-checked.

A journal carries the items an earlier run left unsettled (failed transiently, in flight, answer lost)
into the next run. Between the runs an item may stop matching: the dismissed employee's task was taken
over by a colleague, a workflow's MODIFIED moved past the filter. Sent anyway, the resumed job would
terminate a workflow that is no longer what the user asked for.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import attrs

from bitrix_bizproc import BizprocClient
from bitrix_bizproc.emulator import PortalError
from bitrix_bizproc.emulator.handlers import dispatch
from bitrix_bizproc.jobs import Journal, JournalOutcome, ReportOutcome, offboard_employee, terminate_workflows

from ._seed import CUTOFF, NEW, OLD, PortalFactory, flaky, seed_dismissed_employee, seed_instances
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
    assert [e.item for e in second.excluded] == [victim]
    assert f"user {anna.user_id} has no open task in it" in second.excluded[0].reason
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
    assert "does not satisfy <MODIFIED" in second.excluded[0].reason  # the re-check's own reason


def _gap_at_page_two(stuck: set[str]) -> tuple[Any, dict[str, bool]]:
    """Terminating ``stuck`` fails; armed, an in-scope workflow finishes just before page 2 is read.

    Offset paging then skips the first row of page 2 (protocol-facts §5): it still runs and still matches.
    """
    gap = {"armed": False, "done": False}
    codes = itertools.cycle(["INTERNAL_SERVER_ERROR", "ERROR_CORE"])  # mixed: not one systemic failure

    def dispatcher(state: Any, ctx: Any, name: str, params: dict[str, Any]) -> Any:
        if name == "bizproc.workflow.terminate" and str(params.get("ID")) in stuck:
            raise PortalError(next(codes), "Internal error", 500)
        armed = gap["armed"] and not gap["done"]
        if name == "bizproc.workflow.instances" and armed and int(params.get("START") or 0) == 50:
            gap["done"] = True
            state.kill(min(w.id for w in state.instances))
        return dispatch(state, ctx, name, params)

    return dispatcher, gap


async def test_a_carried_workflow_missed_by_a_paging_gap_is_still_terminated_on_resume(
    portal_factory: PortalFactory, tmp_path: Path
) -> None:
    stuck: set[str] = set()
    dispatcher, gap = _gap_at_page_two(stuck)
    portal = await portal_factory(dispatcher=dispatcher)
    order = sorted(seed_instances(portal, old=60).old)
    victim = order[50]  # the first row of page 2 (ID order): the one the gap skips
    stuck.update(order)
    filter = {"<STARTED": CUTOFF}
    journal = tmp_path / "j.jsonl"
    async with BizprocClient.from_webhook(portal.webhook_url, limiter=None, retry=FAST_RETRY) as client:
        first = await terminate_workflows(client, filter=filter, journal=journal)
        assert first.count(ReportOutcome.FAILED) == 60
        stuck.clear()
        gap["armed"] = True
        second = await terminate_workflows(client, filter=filter, journal=journal)
    assert gap["done"]
    assert victim not in {w.id for w in portal.state.instances}  # terminated, as asked
    assert dict(second.counts) == {"done": 59, "already_gone": 1}
    assert second.excluded == [] and second.remaining == 0 and second.ok
    with Journal(journal) as log:
        entry = log.entry(victim, "terminate")
        assert entry is not None and entry.outcome is JournalOutcome.DONE


async def test_a_carried_workflow_whose_task_the_listing_missed_is_terminated_on_resume(
    portal_factory: PortalFactory, tmp_path: Path
) -> None:
    """Offboarding: a carried workflow is excluded only if the user provably has no open task in it."""
    stuck: set[str] = set()
    hidden: set[str] = set()
    flake = flaky(stuck, times=10_000)

    def dispatcher(state: Any, ctx: Any, name: str, params: dict[str, Any]) -> Any:
        answer = flake(state, ctx, name, params)
        filter = {k.upper(): v for k, v in (params.get("FILTER") or {}).items()}
        if name == "bizproc.task.list" and "WORKFLOW_ID" not in filter:
            kept = [r for r in answer.result if r.get("WORKFLOW_ID") not in hidden]
            answer = attrs.evolve(answer, result=kept, total=len(kept))
        return answer

    portal = await portal_factory(dispatcher=dispatcher)
    anna = seed_dismissed_employee(portal, workflows=6)
    victim = sorted(anna.workflows)[0]
    stuck.add(victim)
    journal = tmp_path / "j.jsonl"
    async with BizprocClient.from_webhook(portal.webhook_url, limiter=None, retry=FAST_RETRY) as client:
        first = await offboard_employee(client, user=anna.user_id, journal=journal)
        assert first.count(ReportOutcome.FAILED) == 1
        stuck.clear()
        hidden.add(victim)  # the next listing misses the victim's task, which is still Anna's and open
        second = await offboard_employee(client, user=anna.user_id, journal=journal, verify=False)
    assert victim not in {w.id for w in portal.state.instances}
    assert second.excluded == [] and dict(second.counts) == {"done": 1}


async def test_a_journal_written_before_dates_were_normalised_can_be_resumed(
    portal_factory: PortalFactory, tmp_path: Path
) -> None:
    portal = await portal_factory()
    seeded = seed_instances(portal, old=3)
    journal = tmp_path / "j.jsonl"
    with Journal(journal) as log:  # the run_start an earlier version wrote: the date as given
        await log.commit_event(
            "run_start", job="terminate_workflows", action="terminate", items=3,
            filter={"<MODIFIED": "2024-01-01"},
        )  # fmt: skip
    async with BizprocClient.from_webhook(portal.webhook_url, limiter=None, retry=FAST_RETRY) as client:
        report = await terminate_workflows(client, filter={"<MODIFIED": "2024-01-01"}, journal=journal)
    assert dict(report.counts) == {"done": 3}
    assert not seeded.old & {w.id for w in portal.state.instances}


async def test_a_portal_that_drops_the_id_filter_holds_the_carried_items_it_cannot_check(
    portal_factory: PortalFactory, tmp_path: Path
) -> None:
    """protocol-facts §5: a portal drops filter keys it does not take, silently. Had it dropped ``ID``, the
    look-up lists other workflows, and a carried one outside that page is unchecked: it is held (neither
    terminated nor excluded), never sent as if it had stopped running."""
    stuck: set[str] = set()
    flake = flaky(stuck, times=10_000)
    dropping = {"on": False}

    def dispatcher(state: Any, ctx: Any, name: str, params: dict[str, Any]) -> Any:
        if dropping["on"] and name == "bizproc.workflow.instances":
            kept = {k: v for k, v in (params.get("FILTER") or {}).items() if k != "ID"}
            params = {**params, "FILTER": kept}
        return flake(state, ctx, name, params)

    portal = await portal_factory(dispatcher=dispatcher)
    seeded = seed_instances(portal, old=60)
    others = [w.id for w in portal.state.add_instances(3, started=OLD - 30 * 86_400)]
    for other in others:  # running, first in ID order (started earlier), never matching
        portal.state.instances.update(other, modified=NEW)
    victim = sorted(seeded.old)[-1]
    assert max(others) < victim  # an unfiltered listing of one row shows another workflow
    stuck.add(victim)
    filter = {"<MODIFIED": CUTOFF}
    journal = tmp_path / "j.jsonl"
    async with BizprocClient.from_webhook(portal.webhook_url, limiter=None, retry=FAST_RETRY) as client:
        first = await terminate_workflows(client, filter=filter, journal=journal)
        assert first.count(ReportOutcome.FAILED) == 1
        portal.state.instances.update(victim, modified=NEW)  # it moved on: no longer matches
        stuck.clear()
        dropping["on"] = True
        second = await terminate_workflows(client, filter=filter, journal=journal)
    assert victim in {w.id for w in portal.state.instances}  # not terminated
    assert dict(second.counts) == {"not_attempted": 1} and not second.ok
    assert [h.item for h in second.held] == [victim]
    assert "not checkable" in second.held[0].reason
    lines = second.lines()
    heading = lines.index("  held (carried over, not checkable here: not sent, kept in the journal):")
    assert lines[heading + 1] == f"    {second.held[0]}"  # named in the summary, with its reason
    assert second.to_dict()["held"] == [{"item": victim, "reason": second.held[0].reason}]
    with Journal(journal) as log:  # kept for a run that can check it
        entry = log.entry(victim, "terminate")
        assert entry is not None and entry.outcome is JournalOutcome.FAILED and entry.needs_retry
