"""Mass termination through the gateway: the same job, the same outcome report as through a webhook."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Literal

import pytest

from bitrix_bizproc._client import BizprocClient
from bitrix_bizproc.emulator import EmulatedPortal
from bitrix_bizproc.emulator.vibecode import VibecodeGateway
from bitrix_bizproc.jobs import (
    JobReport,
    Journal,
    JournalEntry,
    JournalOutcome,
    ReportOutcome,
    terminate_workflows,
)

from .conftest import DEAL_TYPE, Connect


def _seed(portal: EmulatedPortal) -> tuple[int, set[str]]:
    """Two templates: 130 running instances of the first (three pages and more), 20 of the second."""
    first = portal.state.add_template("Approval", DEAL_TYPE)
    second = portal.state.add_template("Review", DEAL_TYPE)
    doomed = portal.state.add_instances(130, template_id=first.id)
    portal.state.add_instances(20, template_id=second.id)
    return first.id, {w.id for w in doomed}


def _summary(report: JobReport) -> tuple[object, ...]:
    outcomes = {outcome: report.count(outcome) for outcome in ReportOutcome}
    return report.action, report.matched, report.processed, report.remaining, report.ok, outcomes


def _gone(portal: EmulatedPortal, mode: str) -> set[str]:
    return set(portal.state.killed) if mode == "kill" else set(portal.state.finished)


@pytest.mark.parametrize("mode", ["terminate", "kill"])
async def test_mass_termination_reports_as_through_a_webhook(
    portal: EmulatedPortal,
    gateway: VibecodeGateway,
    connect: Connect,
    key: str,
    portal_factory: Callable[..., Awaitable[EmulatedPortal]],
    mode: Literal["terminate", "kill"],
) -> None:
    plain = await portal_factory()
    template_id, doomed = _seed(plain)
    async with BizprocClient.from_webhook(plain.webhook_url, limiter="off") as webhook_client:
        webhook = await terminate_workflows(webhook_client, filter={"TEMPLATE_ID": template_id}, mode=mode)

    template_id, doomed_here = _seed(portal)
    vibecode = await terminate_workflows(connect(key), filter={"TEMPLATE_ID": template_id}, mode=mode)

    assert _summary(vibecode) == _summary(webhook)
    assert vibecode.count(ReportOutcome.DONE) == 130 and vibecode.remaining == 0
    assert _gone(plain, mode) == doomed and _gone(portal, mode) == doomed_here
    assert portal.state.running_count == plain.state.running_count == 20
    assert gateway.batches >= 3  # terminations went out as gateway batches of at most 50


async def test_a_resume_through_the_gateway_does_not_resend_what_it_cannot_check(
    portal: EmulatedPortal, connect: Connect, key: str, tmp_path: Path
) -> None:
    """The gateway cannot list instances by ID: a carried-over item no longer listed is neither sent nor
    excluded (nothing proves it stopped matching); it is reported not attempted and kept for a retry."""
    template_id, doomed = _seed(portal)
    victim = sorted(doomed)[0]
    journal = tmp_path / "j.jsonl"
    with Journal(journal) as log:  # an earlier run failed it transiently
        failed = JournalEntry(victim, "terminate", JournalOutcome.FAILED, "BITRIX_UNAVAILABLE", "", True)
        await log.commit([failed])
    other = portal.state.add_template("Other", DEAL_TYPE)
    portal.state.instances.update(victim, template_id=other.id)  # no longer matches the filter
    report = await terminate_workflows(connect(key), filter={"TEMPLATE_ID": template_id}, journal=journal)
    assert victim in {w.id for w in portal.state.instances}
    assert dict(report.counts) == {"not_attempted": 1, "done": 129} and report.excluded == []
    assert [h.item for h in report.held] == [victim]  # named, with the reason, not only counted
    assert not report.ok  # not settled: a run that can check it must
    assert any(victim in w and "cannot" in w for w in report.warnings)
    with Journal(journal) as log:  # still there for a run that can check it
        entry = log.entry(victim, "terminate")
        assert entry is not None and entry.outcome is JournalOutcome.FAILED and entry.needs_retry


async def test_a_lost_answer_carried_through_the_gateway_stays_uncertain(
    portal: EmulatedPortal, connect: Connect, key: str, tmp_path: Path
) -> None:
    """An earlier send whose answer was lost did terminate the workflow: that is why it is not listed.

    It must not be reported or journaled "excluded" (that would erase the journal's uncertainty).
    """
    template_id, doomed = _seed(portal)
    victim = sorted(doomed)[0]
    journal = tmp_path / "j.jsonl"
    with Journal(journal) as log:
        lost = JournalEntry(victim, "terminate", JournalOutcome.UNKNOWN, "BITRIX_UNAVAILABLE", "", True)
        await log.commit([lost])
    assert portal.state.terminate(victim)  # what the lost send did
    report = await terminate_workflows(connect(key), filter={"TEMPLATE_ID": template_id}, journal=journal)
    assert dict(report.counts) == {"unknown": 1, "done": 129} and report.excluded == [] and not report.ok
    assert [h.item for h in report.held] == [victim]
    with Journal(journal) as log:
        entry = log.entry(victim, "terminate")
        assert entry is not None and entry.outcome is JournalOutcome.UNKNOWN and entry.needs_retry
