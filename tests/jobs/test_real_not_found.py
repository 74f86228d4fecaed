"""What a live portal answers for a workflow that is no longer running, and what the jobs make of it.

``bizproc.workflow.terminate``/``kill`` throw ``RestException($errors[0]['message'])`` (empty code,
HTTP 400). For an ID with no row in ``b_bp_workflow_instance`` the message is ``BPCGWP_INVALID_WF``
(avshatalov48/bitrix-core-business modules/bizproc/classes/general/workflowpersister.php,
retrieveWorkflow), localised: "The business process is not found." (lang/en/classes/general/
workflowpersister.php) and "Бизнес-процесс не найден" (lang/ru/...). A live run saw exactly that
(zenland-dev/n8n-nodes-bitrix24 CHANGELOG.md, 0.8.2: "Terminate and Delete then answer 'The business
process is not found'"). "WorkflowNotFound" is thrown only for a row whose state is empty.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bitrix_bizproc import BizprocClient, WorkflowNotFoundError
from bitrix_bizproc.emulator import EmulatedPortal, FaultKind
from bitrix_bizproc.jobs import Journal, JournalOutcome, ReportOutcome, instance_filter, terminate_workflows

from ._seed import CUTOFF, seed_instances

BEFORE = instance_filter(started_before=CUTOFF)
REAL_TEXTS = ["The business process is not found.", "Бизнес-процесс не найден", "WorkflowNotFound"]


@pytest.mark.parametrize("text", REAL_TEXTS)
@pytest.mark.parametrize("mode", ["terminate", "kill"])
async def test_a_workflow_finished_before_its_turn_is_already_gone_not_failed(
    portal: EmulatedPortal, client: BizprocClient, text: str, mode: str
) -> None:
    portal.state.settings.workflow_not_found_description = text
    seeded = seed_instances(portal, old=10)
    gone = sorted(seeded.old)[:3]

    def someone_else(ids: object) -> bool:
        for wid in gone:
            portal.state.terminate(wid)
        return True

    report = await terminate_workflows(client, filter=BEFORE, mode=mode, confirm=someone_else)  # type: ignore[arg-type]
    assert report.count(ReportOutcome.ALREADY_GONE) == 3 and report.count(ReportOutcome.DONE) == 7
    assert report.failures == [] and report.ok


@pytest.mark.parametrize("text", REAL_TEXTS[:2])
async def test_a_resend_after_a_lost_answer_that_finds_it_gone_is_done(
    portal: EmulatedPortal, client: BizprocClient, tmp_path: Path, text: str
) -> None:
    portal.state.settings.workflow_not_found_description = text
    seeded = seed_instances(portal, old=60)
    journal = tmp_path / "j.jsonl"

    def lose_the_first_answer(ids: object) -> bool:  # after the listing: a terminate batch runs unseen
        portal.faults.inject(FaultKind.RESET, method="batch", after=True)
        return True

    report = await terminate_workflows(
        client, filter=BEFORE, journal=journal, concurrency=1, confirm=lose_the_first_answer
    )
    assert portal.counters.lost_answers == 1
    assert report.count(ReportOutcome.DONE) == 60 and report.ok
    with Journal(journal) as log:
        assert {e.item for e in log.entries() if e.outcome is JournalOutcome.DONE} == seeded.old


async def test_the_emulator_answers_an_unknown_workflow_as_the_live_portal_does(
    portal: EmulatedPortal, client: BizprocClient
) -> None:
    with pytest.raises(WorkflowNotFoundError) as info:
        await client.workflows.terminate("66e412fdc9bd44.36306599")
    assert (info.value.code, info.value.description) == ("", "The business process is not found.")


async def test_kill_of_a_finished_workflow_is_not_found_and_keeps_its_record(
    portal: EmulatedPortal, client: BizprocClient
) -> None:
    """CBPDocument::killWorkflow (document.php) deletes only when its TerminateWorkflow found the workflow."""
    seeded = seed_instances(portal, old=1)
    (wid,) = seeded.old
    await client.workflows.terminate(wid)
    with pytest.raises(WorkflowNotFoundError):
        await client.workflows.kill(wid)
    assert wid in portal.state.finished and wid not in portal.state.killed
