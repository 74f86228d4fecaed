"""terminate_workflows against the emulated portal: exactly the matching instances, once each."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from bitrix_bizproc import AccessDeniedError, BizprocClient, ValidationError
from bitrix_bizproc.emulator import EmulatedPortal, FaultKind
from bitrix_bizproc.jobs import (
    JobAbortedError,
    Journal,
    JournalOutcome,
    Progress,
    ReportOutcome,
    instance_filter,
    terminate_workflows,
)
from bitrix_bizproc.models.documents import DocumentType

from ._seed import CUTOFF, PortalFactory, flaky, refusing, seed_instances

BEFORE = instance_filter(started_before=CUTOFF)


async def test_terminates_every_match_once_and_nothing_else(
    portal: EmulatedPortal, client: BizprocClient, tmp_path: Path
) -> None:
    seeded = seed_instances(portal, old=260, new=40)  # 6 pages: offsets would shift while terminating
    seen: list[Progress] = []
    report = await terminate_workflows(
        client, filter=BEFORE, status="cleanup", journal=tmp_path / "j.jsonl", progress=seen.append
    )
    assert (report.matched, report.count(ReportOutcome.DONE), report.remaining) == (260, 260, 0)
    assert report.ok and not report.failures
    assert {w.id for w in portal.state.instances} == seeded.new
    assert {i for i, w in portal.state.finished.items() if w.status_text == "cleanup"} == seeded.old
    assert portal.counters.methods["bizproc.workflow.terminate"] == 260  # none sent twice
    assert report.requests == 6  # batches of 50: ceil(260 / 50) requests for the terminations
    journal = Journal(tmp_path / "j.jsonl")
    assert {e.item for e in journal.entries("terminate") if e.outcome is JournalOutcome.DONE} == seeded.old
    last = [p for p in seen if p.phase == "terminate"][-1]
    assert (last.done, last.total, last.failed) == (260, 260, 0)
    assert seen[0].phase == "listing"


async def test_kill_deletes_the_matches(portal: EmulatedPortal, client: BizprocClient) -> None:
    seeded = seed_instances(portal, old=70, new=5)
    report = await terminate_workflows(client, filter=BEFORE, mode="kill")
    assert report.action == "kill" and report.count(ReportOutcome.DONE) == 70
    assert set(portal.state.killed) == seeded.old and not portal.state.finished


async def test_dry_run_lists_and_changes_nothing(
    portal: EmulatedPortal, client: BizprocClient, tmp_path: Path
) -> None:
    seeded = seed_instances(portal, old=60, new=5)
    report = await terminate_workflows(client, filter=BEFORE, dry_run=True, journal=tmp_path / "j.jsonl")
    assert report.dry_run and set(report.planned) == seeded.old
    assert report.count(ReportOutcome.PLANNED) == 60 and report.processed == 0
    assert portal.state.running_count == 65
    assert portal.counters.methods["bizproc.workflow.terminate"] == 0
    assert not (tmp_path / "j.jsonl").exists() or Journal(tmp_path / "j.jsonl").entries() == []


async def test_a_declined_confirmation_changes_nothing(portal: EmulatedPortal, client: BizprocClient) -> None:
    seed_instances(portal, old=12)
    asked: list[int] = []

    def decline(ids: Sequence[str]) -> bool:
        asked.append(len(ids))
        return False

    report = await terminate_workflows(client, filter=BEFORE, confirm=decline)
    assert asked == [12] and report.dry_run and portal.state.running_count == 12
    assert report.declined and report.to_dict()["declined"] is True
    assert report.lines()[0] == "terminate_workflows: terminate (declined)"


async def test_time_spent_answering_the_prompt_is_not_the_job_s(
    portal: EmulatedPortal, client: BizprocClient
) -> None:
    seed_instances(portal, old=3)
    now = [0.0]

    def slow_yes(ids: Sequence[str]) -> bool:
        now[0] += 600.0  # ten minutes at the prompt
        return True

    report = await terminate_workflows(client, filter=BEFORE, confirm=slow_yes, clock=lambda: now[0])
    assert report.count(ReportOutcome.DONE) == 3 and not report.declined
    assert report.elapsed == 0.0  # the clock moved only while a person was deciding


async def test_filters_by_template_and_starter(portal: EmulatedPortal, client: BizprocClient) -> None:
    seed_instances(portal, old=40)
    first = next(iter(portal.state.templates)).id
    expected = {w.id for w in portal.state.instances if w.template_id == first}
    report = await terminate_workflows(
        client, filter=instance_filter(started_before=CUTOFF, template_id=first, started_by=1)
    )
    assert report.matched == len(expected) == 20
    assert expected.isdisjoint(w.id for w in portal.state.instances)
    assert portal.state.running_count == 20


async def test_smart_process_document_type_is_matched_on_the_document_id(
    portal: EmulatedPortal, client: BizprocClient
) -> None:
    state = portal.state
    dynamic = ("crm", "Bitrix\\Crm\\Integration\\BizProc\\Document\\Dynamic", "DYNAMIC_147")
    state.add_template("Smart 147", dynamic)
    mine = state.add_instances(3, document_id="DYNAMIC_147_1")
    state.add_instances(2, document_id="DYNAMIC_1470_1", module_id=dynamic[0], entity=dynamic[1])
    report = await terminate_workflows(
        client, filter={"STARTED_BY": 1}, document_type=DocumentType.parse(list(dynamic))
    )
    assert report.matched == 3 and report.remaining == 0
    assert {w.id for w in mine}.isdisjoint(w.id for w in state.instances)
    assert state.running_count == 2


@pytest.mark.parametrize("bad", [{}, {"<STARTD": "2024-01-01"}, {"~STARTED": "x"}])
async def test_bad_filters_are_refused_before_any_request(
    portal: EmulatedPortal, client: BizprocClient, bad: dict[str, str]
) -> None:
    with pytest.raises(ValidationError):
        await terminate_workflows(client, filter=bad)
    assert portal.counters.requests == 0


async def test_status_with_kill_is_refused(client: BizprocClient) -> None:
    with pytest.raises(ValidationError, match="terminate only"):
        await terminate_workflows(client, filter=BEFORE, mode="kill", status="x")


async def test_survives_5xx_and_dropped_connections_mid_run(
    portal: EmulatedPortal, client: BizprocClient
) -> None:
    seeded = seed_instances(portal, old=400)
    calls = 0

    def inject(progress: Progress) -> None:  # once the work has started: faults on the next batches
        nonlocal calls
        calls += 1
        if progress.phase == "terminate" and progress.done == 50:
            portal.faults.inject(FaultKind.HTTP_500, times=2, method="batch")
            portal.faults.inject(FaultKind.HTTP_502, times=1, method="batch")
            portal.faults.inject(FaultKind.DROP, times=2, method="batch")

    report = await terminate_workflows(client, filter=BEFORE, progress=inject, concurrency=2)
    assert portal.counters.faults["http_500"] == 2 and portal.counters.faults["drop"] == 2
    assert report.count(ReportOutcome.DONE) + report.count(ReportOutcome.ALREADY_GONE) == 400
    assert report.ok and report.remaining == 0
    assert seeded.old == set(portal.state.finished)


async def test_an_instance_gone_before_its_turn_counts_as_already_gone(
    portal: EmulatedPortal, client: BizprocClient
) -> None:
    seeded = seed_instances(portal, old=30)
    victim = sorted(seeded.old)[0]

    def someone_else(progress: Progress) -> None:
        if progress.phase == "terminate" and progress.done == 0:
            portal.state.terminate(victim)

    report = await terminate_workflows(client, filter=BEFORE, progress=someone_else)
    assert report.count(ReportOutcome.ALREADY_GONE) == 1 and report.count(ReportOutcome.DONE) == 29
    assert report.ok


async def test_per_item_refusals_are_reported_with_their_code_and_not_retried_on_resume(
    portal_factory: PortalFactory, tmp_path: Path
) -> None:
    locked: set[str] = set()
    portal = await portal_factory(dispatcher=refusing(locked))
    seeded = seed_instances(portal, old=80)
    locked.update(sorted(seeded.old)[:3])
    journal = tmp_path / "j.jsonl"
    async with BizprocClient.from_webhook(portal.webhook_url, limiter=None) as client:
        report = await terminate_workflows(client, filter=BEFORE, journal=journal)
        assert report.count(ReportOutcome.FAILED) == 3 and not report.ok
        assert {f.item for f in report.failures} == locked
        assert {(f.code, f.description, f.transient) for f in report.failures} == {
            ("ACCESS_DENIED", "Workflow is locked by its owner", False)
        }
        assert report.remaining == 3
        again = await terminate_workflows(client, filter=BEFORE, journal=journal)
        assert again.count(ReportOutcome.SKIPPED_FAILED) == 3 and again.processed == 0
        locked.clear()
        forced = await terminate_workflows(client, filter=BEFORE, journal=journal, retry_failed=True)
        assert forced.count(ReportOutcome.DONE) == 3 and forced.remaining == 0


async def test_a_non_admin_webhook_is_refused_at_the_listing(portal: EmulatedPortal) -> None:
    seed_instances(portal, old=20)
    portal.state.add_user("Olga", "Clerk")
    clerk = portal.add_webhook(2, admin=False)
    async with BizprocClient.from_webhook(clerk, limiter=None) as client:
        with pytest.raises(AccessDeniedError):
            await terminate_workflows(client, filter=BEFORE)
    assert portal.state.running_count == 20


async def test_a_chunk_refused_as_a_whole_stops_the_job_with_a_partial_report(
    portal_factory: PortalFactory, tmp_path: Path
) -> None:
    locked: set[str] = set()
    portal = await portal_factory(dispatcher=refusing(locked))
    locked.update(seed_instances(portal, old=300).old)
    async with BizprocClient.from_webhook(portal.webhook_url, limiter=None) as client:
        with pytest.raises(JobAbortedError) as caught:
            await terminate_workflows(client, filter=BEFORE, journal=tmp_path / "j.jsonl", concurrency=1)
    report = caught.value.report
    assert report.count(ReportOutcome.FAILED) == 50 and report.count(ReportOutcome.NOT_ATTEMPTED) == 250
    assert "ACCESS_DENIED" in (report.aborted or "")
    assert portal.counters.methods["bizproc.workflow.terminate"] == 50
    journal = Journal(tmp_path / "j.jsonl")
    assert len(journal.entries("terminate")) == 50  # the rest were never attempted


@pytest.mark.parametrize(("times", "done"), [(2, 75), (3, 72)])
async def test_commands_failing_transiently_inside_a_batch_get_two_more_passes(
    portal_factory: PortalFactory, tmp_path: Path, times: int, done: int
) -> None:
    unlucky: set[str] = set()
    portal = await portal_factory(dispatcher=flaky(unlucky, times))
    seeded = seed_instances(portal, old=75)
    unlucky.update(sorted(seeded.old)[::25])
    async with BizprocClient.from_webhook(portal.webhook_url, limiter=None) as client:
        report = await terminate_workflows(client, filter=BEFORE, journal=tmp_path / "j.jsonl")
    assert report.count(ReportOutcome.DONE) == done and report.requests == 2 + 2  # + two passes of 3
    assert report.count(ReportOutcome.FAILED) == 75 - done
    if done < 75:
        assert {(f.code, f.transient) for f in report.failures} == {("INTERNAL_SERVER_ERROR", True)}
        assert all(e.needs_retry for e in Journal(tmp_path / "j.jsonl").entries() if e.item in unlucky)


async def test_a_journal_of_another_job_is_refused(
    portal: EmulatedPortal, client: BizprocClient, tmp_path: Path
) -> None:
    seed_instances(portal, old=5)
    journal = tmp_path / "j.jsonl"
    await terminate_workflows(client, filter=BEFORE, journal=journal)
    with pytest.raises(ValidationError, match="belongs to another job"):
        await terminate_workflows(client, filter={"TEMPLATE_ID": 1}, journal=journal)
    with pytest.raises(ValidationError, match="belongs to another job"):
        await terminate_workflows(client, filter=BEFORE, mode="kill", journal=journal)
    again = await terminate_workflows(client, filter=BEFORE, journal=journal)
    assert again.matched == 0 and again.ok


async def test_a_cancelled_run_still_records_how_far_it_got(
    portal: EmulatedPortal, client: BizprocClient, tmp_path: Path
) -> None:
    seed_instances(portal, old=150)
    job = asyncio.current_task()
    assert job is not None

    def cancel_after_the_first_answers(p: Progress) -> None:
        if p.phase == "terminate" and p.done:
            job.cancel()  # as Ctrl+C does to the command's task

    with pytest.raises(asyncio.CancelledError):
        await terminate_workflows(
            client, filter=BEFORE, journal=tmp_path / "j.jsonl", progress=cancel_after_the_first_answers,
            concurrency=1,
        )  # fmt: skip
    ends = [e for e in Journal(tmp_path / "j.jsonl").events if e.get("event") == "run_end"]
    assert len(ends) == 1
    counts = ends[0]["counts"]
    assert counts["done"] == 150 - portal.state.running_count > 0
    assert counts["done"] + counts["not_attempted"] == 150
