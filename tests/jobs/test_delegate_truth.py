"""Delegation answers of a live portal, and what offboarding makes of them.

``bizproc.task.delegate`` answers ``ERROR_DELEGATION_NOT_ALLOWED`` "User is not responsible for the task"
for a task that is no longer ``FROM_USER_ID``'s (api-reference/bizproc/bizproc-task/bizproc-task-delegate.md,
"Possible error codes"); a Russian portal says "Пользователь не является ответственным за задание" (the
same page of the Russian docs, "Возможные коды ошибок"). After an earlier send whose
answer was lost, that is the answer for every task that send delegated: the tasks are done, by us.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bitrix_bizproc import BizprocClient
from bitrix_bizproc.emulator import EmulatedPortal, FaultKind, PortalError
from bitrix_bizproc.emulator.handlers import dispatch
from bitrix_bizproc.jobs import Journal, JournalOutcome, ReportOutcome, offboard_employee

from ._seed import PortalFactory, refusing, seed_dismissed_employee
from .conftest import FAST_RETRY

RU_NOT_RESPONSIBLE = "Пользователь не является ответственным за задание"


async def test_a_whole_chunk_found_delegated_after_a_lost_answer_is_done_not_an_abort(
    portal: EmulatedPortal, client: BizprocClient, tmp_path: Path
) -> None:
    anna = seed_dismissed_employee(portal, workflows=30)

    def lose_the_first_answer(ids: object) -> bool:  # the delegate batch runs; its answer never arrives
        portal.faults.inject(FaultKind.RESET, method="batch", after=True)
        return True

    journal = tmp_path / "j.jsonl"
    report = await offboard_employee(
        client, user=anna.user_id, action="delegate", to_user=anna.colleague, journal=journal,
        confirm=lose_the_first_answer,
    )  # fmt: skip
    assert portal.counters.lost_answers == 1
    assert report.aborted is None and report.ok
    assert report.count(ReportOutcome.DONE) == 30 and report.remaining == 0
    assert {t.id for t in portal.state.tasks if t.user_id == anna.colleague} == anna.tasks
    with Journal(journal) as log:
        done = {e.item for e in log.entries() if e.outcome is JournalOutcome.DONE}
    assert done == {str(t) for t in anna.tasks}


def _russian_portal(state: Any, ctx: Any, method: str, params: dict[str, Any]) -> Any:
    try:
        return dispatch(state, ctx, method, params)
    except PortalError as exc:
        if exc.code == "ERROR_DELEGATION_NOT_ALLOWED" and "not responsible" in exc.description:
            raise PortalError(exc.code, RU_NOT_RESPONSIBLE, exc.status) from None
        raise


async def test_a_task_delegated_by_someone_else_on_a_russian_portal_is_already_gone(
    portal_factory: PortalFactory,
) -> None:
    portal = await portal_factory(dispatcher=_russian_portal)
    anna = seed_dismissed_employee(portal, workflows=5)
    moved = sorted(anna.tasks)[:2]

    def someone_else(ids: object) -> bool:
        for task_id in moved:
            task = portal.state.tasks.get(task_id)
            assert task is not None
            portal.state.delegate_task(task, anna.colleague)
        return True

    async with BizprocClient.from_webhook(portal.webhook_url, limiter=None, retry=FAST_RETRY) as client:
        report = await offboard_employee(
            client, user=anna.user_id, action="delegate", to_user=anna.colleague, confirm=someone_else
        )
    assert report.count(ReportOutcome.ALREADY_GONE) == 2 and report.count(ReportOutcome.DONE) == 3
    assert report.failures == [] and report.ok


async def test_what_is_left_is_counted_in_the_jobs_own_items(portal_factory: PortalFactory) -> None:
    """``remaining`` counts workflows when the job acts on workflows (not tasks), as ``matched`` does."""
    refused: set[str] = set()
    portal = await portal_factory(dispatcher=refusing(refused))
    anna = seed_dismissed_employee(portal, workflows=3, tasks_each=2)
    refused.add(sorted(anna.workflows)[0])
    async with BizprocClient.from_webhook(portal.webhook_url, limiter=None, retry=FAST_RETRY) as client:
        report = await offboard_employee(client, user=anna.user_id)
    assert report.matched == 3 and report.count(ReportOutcome.FAILED) == 1
    assert report.remaining == 1  # one workflow (with two open tasks) is left
