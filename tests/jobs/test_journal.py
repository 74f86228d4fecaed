"""The journal: append-only records, last state per item, torn last lines, resume planning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bitrix_bizproc.jobs import JobReport, Journal, JournalEntry, JournalOutcome, ReportOutcome
from bitrix_bizproc.jobs._runner import plan_items


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_records_are_appended_and_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    with Journal(path) as journal:
        journal.record_event("run_start", job="t")
        journal.record_started(["a", "b"], "terminate")
        journal.record(
            [
                JournalEntry("a", "terminate", JournalOutcome.DONE),
                JournalEntry("b", "terminate", JournalOutcome.FAILED, "ACCESS_DENIED", "no", transient=False),
            ]
        )
    records = _lines(path)
    assert [r.get("outcome") for r in records] == [None, "started", "started", "done", "failed"]
    assert records[4] == {**records[4], "code": "ACCESS_DENIED", "description": "no", "transient": False}
    reopened = Journal(path)
    assert reopened.entry("a", "terminate") == JournalEntry("a", "terminate", JournalOutcome.DONE)
    assert reopened.entry("b", "terminate") is not None
    assert reopened.entry("b", "kill") is None
    assert [e["event"] for e in reopened.events] == ["run_start"]


@pytest.mark.parametrize(
    "tail",
    [b'{"ts":"x","item":"c","action":"terminate","outc', b'{"ts"', b"\xff\xfe garbage"],
)
def test_a_torn_last_line_is_ignored_and_cut_before_the_next_append(tmp_path: Path, tail: bytes) -> None:
    path = tmp_path / "j.jsonl"
    with Journal(path) as journal:
        journal.record_started(["a"], "kill")
    with path.open("ab") as handle:
        handle.write(tail)
    journal = Journal(path)
    assert journal.entry("c", "terminate") is None
    assert journal.entry("a", "kill") == JournalEntry("a", "kill", JournalOutcome.STARTED)
    journal.record([JournalEntry("a", "kill", JournalOutcome.DONE)])
    journal.close()
    records = _lines(path)  # every line parses: the torn one is gone
    assert [r["outcome"] for r in records] == ["started", "done"]


def test_a_file_that_is_only_a_torn_line_starts_empty(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_bytes(b'{"item":"a"')
    with Journal(path) as journal:
        assert journal.entries() == []
        journal.record_started(["b"], "kill")
    assert [r["item"] for r in _lines(path)] == ["b"]


def test_needs_retry_covers_in_flight_and_transient_failures() -> None:
    assert JournalEntry("a", "kill", JournalOutcome.STARTED).needs_retry
    assert JournalEntry("a", "kill", JournalOutcome.FAILED, transient=True).needs_retry
    assert not JournalEntry("a", "kill", JournalOutcome.FAILED, transient=False).needs_retry
    assert not JournalEntry("a", "kill", JournalOutcome.DONE).needs_retry
    assert (
        JournalOutcome.ALREADY_GONE.final and JournalOutcome.DONE.final and not JournalOutcome.STARTED.final
    )


def test_plan_skips_done_and_permanent_failures_and_carries_unfinished_items(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    journal.record(
        [
            JournalEntry("done", "kill", JournalOutcome.DONE),
            JournalEntry("gone", "kill", JournalOutcome.ALREADY_GONE),
            JournalEntry("denied", "kill", JournalOutcome.FAILED, "ACCESS_DENIED", transient=False),
            JournalEntry("flaky", "kill", JournalOutcome.FAILED, "INTERNAL_SERVER_ERROR", transient=True),
            JournalEntry("inflight", "kill", JournalOutcome.STARTED),
            JournalEntry("other-action", "terminate", JournalOutcome.DONE),
        ]
    )
    report = JobReport(job="t", action="kill", dry_run=False)
    snapshot = ["new1", "done", "denied", "flaky", "other-action", "new1"]
    todo = plan_items(snapshot, "kill", journal, report, retry_failed=False)
    assert todo == ["flaky", "inflight", "new1", "other-action"]
    assert report.count(ReportOutcome.SKIPPED_DONE) == 1
    assert report.count(ReportOutcome.SKIPPED_FAILED) == 1
    again = plan_items(
        snapshot, "kill", journal, JobReport(job="t", action="kill", dry_run=False), retry_failed=True
    )
    journal.close()
    assert "denied" in again


def test_a_whole_last_record_without_its_newline_is_kept_in_memory_and_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    with Journal(path) as journal:
        journal.record_started(["a"], "kill")
    with path.open("ab") as handle:  # killed after the record, before its newline
        handle.write(b'{"ts":"x","item":"a","action":"kill","outcome":"done"}')
    journal = Journal(path)
    assert journal.entry("a", "kill") == JournalEntry("a", "kill", JournalOutcome.DONE)
    journal.record_started(["b"], "kill")
    journal.close()
    assert Journal(path).entry("a", "kill") == JournalEntry(
        "a", "kill", JournalOutcome.DONE
    )  # as it was read
    assert [r["item"] for r in _lines(path)] == ["a", "a", "b"]


def test_an_item_excluded_by_an_earlier_run_is_reported_with_its_reason(tmp_path: Path) -> None:
    """Every count has its items: an excluded count comes with the excluded item and why."""
    with Journal(tmp_path / "j.jsonl") as journal:
        journal.record(
            [JournalEntry("odd", "kill", JournalOutcome.EXCLUDED, "FILTER_MISMATCH", "STARTED=... does not")]
        )
        report = JobReport(job="t", action="kill", dry_run=False)
        assert plan_items(["odd", "new"], "kill", journal, report, retry_failed=False) == ["new"]
    assert report.count(ReportOutcome.EXCLUDED) == len(report.excluded) == 1
    assert report.excluded[0].item == "odd" and "STARTED=... does not" in report.excluded[0].reason
