"""Issue 13 items 1, 3, 4 and 9: reports that agree with the portal, cancellation, limits inside batches,
and a journal that fails typed without losing the report."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path
from typing import IO, Any

import pytest

import bitrix_bizproc.jobs._runner as runner
from bitrix_bizproc import BizprocClient, JournalError, RetryPolicy
from bitrix_bizproc.emulator import EmulatedPortal, FaultKind, ManualClock, Plan, PortalConfig
from bitrix_bizproc.jobs import (
    JobAbortedError,
    JobReport,
    Journal,
    JournalEntry,
    JournalOutcome,
    ReportOutcome,
    instance_filter,
    terminate_workflows,
)

from ._seed import CUTOFF, PortalFactory, seed_instances

BEFORE = instance_filter(started_before=CUTOFF)


@pytest.mark.parametrize(
    "kind", [FaultKind.HTTP_500, FaultKind.DROP, FaultKind.RESET, FaultKind.TRUNCATED, FaultKind.HTML]
)
async def test_an_item_whose_answer_was_lost_and_then_found_gone_is_done_by_us(
    portal: EmulatedPortal, client: BizprocClient, tmp_path: Path, kind: FaultKind
) -> None:
    """Item 1: the first batch ran, its answer was lost; the re-send finds the items gone: done, not gone."""
    seeded = seed_instances(portal, old=80)
    portal.faults.inject(kind, method="batch", after=True)
    journal = tmp_path / "j.jsonl"
    report = await terminate_workflows(client, filter=BEFORE, journal=journal, concurrency=1)
    assert portal.counters.lost_answers == 1
    assert report.count(ReportOutcome.DONE) == 80 and report.count(ReportOutcome.ALREADY_GONE) == 0
    assert report.ok
    with Journal(journal) as log:
        assert {e.item for e in log.entries() if e.outcome is JournalOutcome.DONE} == seeded.old
    assert {wid for wid, _, _ in portal.state.stop_log} == seeded.old


async def test_an_item_gone_without_a_lost_answer_is_still_already_gone(
    portal: EmulatedPortal, client: BizprocClient
) -> None:
    seeded = seed_instances(portal, old=10)
    gone = sorted(seeded.old)[:3]
    report = await terminate_workflows(client, filter=BEFORE, confirm=lambda ids: _sync(gone, portal))
    assert report.count(ReportOutcome.ALREADY_GONE) == 3 and report.count(ReportOutcome.DONE) == 7


def _sync(gone: list[str], portal: EmulatedPortal) -> bool:
    """Someone else terminates a few items between the listing and the job's sends."""
    for wid in gone:
        portal.state.terminate(wid)
    return True


async def test_a_job_cancelled_mid_chunk_reports_in_flight_items_unknown_and_resume_settles_them(
    portal: EmulatedPortal, client: BizprocClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 3: cancelled while a chunk's answer is on its way; the portal did the chunk."""
    seeded = seed_instances(portal, old=120)
    portal.faults.set_latency(base=0.3)  # each answer comes 0.3 s after the chunk ran
    journal = tmp_path / "j.jsonl"
    reports: list[JobReport] = []
    real = runner.run_action

    async def keep_report(*args: Any, **kwargs: Any) -> None:  # the report a cancelled job leaves behind
        reports.append(args[3])
        await real(*args, **kwargs)

    monkeypatch.setattr(runner, "run_action", keep_report)
    task = asyncio.create_task(
        terminate_workflows(client, filter=BEFORE, journal=journal, concurrency=1, verify=False)
    )
    async with asyncio.timeout(20):
        while len(portal.state.stop_log) < 50:  # noqa: ASYNC110 - the first chunk ran; its answer is late
            await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    monkeypatch.undo()
    report = reports[0]
    assert report.count(ReportOutcome.UNKNOWN) == 50  # in flight: not "not_attempted"
    assert report.count(ReportOutcome.NOT_ATTEMPTED) == 70
    assert not report.ok
    with Journal(journal) as log:
        started = {e.item for e in log.entries() if e.outcome is JournalOutcome.STARTED}
    assert len(started) == 50 and started <= {wid for wid, _, _ in portal.state.stop_log}
    portal.faults.set_latency()
    resumed = await terminate_workflows(client, filter=BEFORE, journal=journal)
    assert resumed.count(ReportOutcome.DONE) == 120 and resumed.count(ReportOutcome.ALREADY_GONE) == 0
    assert {wid for wid, _, _ in portal.state.stop_log} == seeded.old


async def test_operation_time_limit_inside_a_batch_waits_for_that_methods_reset(
    portal_factory: PortalFactory,
) -> None:
    """Item 4: no back-to-back retry storm; the job waits for terminate's reset and finishes."""
    clock = ManualClock()
    config = PortalConfig(plan=Plan.custom(rate=None, burst=0, operating_limit=30.0))
    config.method_processing["bizproc.workflow.terminate"] = 0.5  # 61 terminations fit in the budget
    portal = await portal_factory(config, clock=clock)
    seeded = seed_instances(portal, old=100)

    async def sleep(seconds: float) -> None:
        clock.advance(max(0.0, seconds))
        await asyncio.sleep(0)

    async with BizprocClient.from_webhook(
        portal.webhook_url,
        limiter=None,
        retry=RetryPolicy(backoff=0.01),
        clock=clock,
        sleep=sleep,  # the client assumes the cloud's 480 s: only the portal's answer can tell it
    ) as client:
        report = await terminate_workflows(client, filter=BEFORE, concurrency=1, verify=False)
    assert report.ok and report.count(ReportOutcome.DONE) == 100
    assert {wid for wid, _, _ in portal.state.stop_log} == seeded.old
    # chunk 1 (50 ok), chunk 2 (11 ok, 39 blocked), then one batch after the reset: 3 batches, no storm
    # Without the wait the retry passes resend the 39 at once, twice more (117 refusals), then give up.
    assert portal.counters.command_errors["OPERATION_TIME_LIMIT"] == 39


class _DiskFills(Journal):
    """A journal whose disk fills up after ``room`` writes."""

    room = 3

    def _open(self) -> IO[bytes]:
        if self.room <= 0 and getattr(self._file, "name", None) != "/dev/full":
            if self._file is not None:
                self._file.close()  # the real file: closed, not left to the garbage collector
            self._file = open("/dev/full", "ab")  # noqa: SIM115 - every write fails with ENOSPC
        self.room -= 1
        return super()._open()


async def test_disk_full_mid_run_is_typed_and_the_report_survives(
    portal: EmulatedPortal, client: BizprocClient, tmp_path: Path
) -> None:
    """Item 9: the run stops with a typed error; the report says how far it got; run_end cannot mask it."""
    seed_instances(portal, old=200)
    with _DiskFills(tmp_path / "j.jsonl", durable=False) as log, pytest.raises(JobAbortedError) as caught:
        await terminate_workflows(client, filter=BEFORE, journal=log, concurrency=1)
    assert isinstance(caught.value.cause, JournalError)
    report = caught.value.report
    assert report.aborted and "journal" in report.aborted
    assert sum(report.counts.values()) == 200
    done = report.count(ReportOutcome.DONE)
    assert done == len(portal.state.stop_log)  # every item the report calls done, the portal did


def test_a_foreign_file_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "report.csv"
    path.write_text("id,state\n1,done\n")
    with pytest.raises(JournalError, match="not a job journal"):
        Journal(path)
    assert path.read_text() == "id,state\n1,done\n"


def test_an_unwritable_journal_fails_up_front(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(JournalError):
        Journal(blocker / "j.jsonl")  # under a file
    with pytest.raises(JournalError):
        Journal(tmp_path)  # a directory
    if Path("/sys").is_dir() and not os.access("/sys", os.W_OK):
        with pytest.raises(JournalError):
            Journal("/sys/bizproc-journal.jsonl")  # a read-only file system


async def test_commits_write_and_fsync_off_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 18 item 9: an fsync that blocks does not block the loop; commit returns once it is done."""
    released = threading.Event()
    real_fsync = os.fsync

    def slow_fsync(fd: int) -> None:
        if not released.wait(timeout=5):  # only the event loop can release it: on the loop, a deadlock
            raise AssertionError("fsync ran on the event loop")
        real_fsync(fd)

    log = Journal(tmp_path / "j.jsonl")
    monkeypatch.setattr(os, "fsync", slow_fsync)
    commit = asyncio.create_task(log.commit([JournalEntry("a", "kill", JournalOutcome.STARTED)]))
    await asyncio.sleep(0.05)
    assert not commit.done()  # not durable yet: commit waits for the fsync
    released.set()
    await commit
    log.close()
    assert Journal(tmp_path / "j.jsonl").entry("a", "kill") == JournalEntry(
        "a", "kill", JournalOutcome.STARTED
    )
