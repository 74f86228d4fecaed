"""Kill -9 mid-run, resume with the same journal: nothing lost, nothing done twice, all accounted for."""

from __future__ import annotations

import asyncio
import os
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from bitrix_bizproc import BizprocClient, RetryPolicy
from bitrix_bizproc.emulator import EmulatedPortal
from bitrix_bizproc.jobs import Journal, JournalOutcome, ReportOutcome, instance_filter, terminate_workflows

from ._seed import CUTOFF, seed_instances

ROOT = Path(__file__).resolve().parents[2]
JOB = """
import asyncio, sys
from bitrix_bizproc import BizprocClient
from bitrix_bizproc.jobs import instance_filter, terminate_workflows
from bitrix_bizproc.protocol.limits import BucketSpec

async def main():
    async with BizprocClient.from_webhook(sys.argv[1], limiter=None) as client:
        await terminate_workflows(
            client, filter={"<STARTED": sys.argv[3]}, journal=sys.argv[2], concurrency=1
        )

asyncio.run(main())
"""


def _count_successes(portal: EmulatedPortal) -> Counter[str]:
    """Spy on the portal: how many times each instance was actually terminated."""
    done: Counter[str] = Counter()
    real = portal.state.terminate

    def terminate(workflow_id: str, status_text: str = "") -> bool:
        ok = real(workflow_id, status_text)
        done[workflow_id] += ok
        return ok

    portal.state.terminate = terminate  # type: ignore[method-assign]
    return done


async def _wait_for(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(20):  # generous: only reached if the subprocess is stuck
        while not condition():  # noqa: ASYNC110 - polling another process's file and our portal
            await asyncio.sleep(0.01)


def _unjournaled(journal: Path, successes: Counter[str]) -> int:
    """Instances the portal terminated that the job's journal does not yet record as done."""
    if not journal.exists():
        return 0
    done = sum(e.outcome is JournalOutcome.DONE for e in Journal(journal).entries("terminate"))
    return sum(successes.values()) - done if done else 0


async def test_kill_minus_nine_mid_run_then_resume(portal: EmulatedPortal, tmp_path: Path) -> None:
    seeded = seed_instances(portal, old=500, new=20)
    portal.faults.set_latency(base=0.1)
    successes = _count_successes(portal)
    journal = tmp_path / "job.jsonl"
    cutoff = instance_filter(started_before=CUTOFF)["<STARTED"]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", JOB, portal.webhook_url, str(journal), cutoff, cwd=ROOT, env={**os.environ}
    )
    try:
        # Each batch is answered 0.1 s after it ran: kill while the portal has run a chunk whose answer
        # the job has not journaled yet, so 50 items are in flight (fate unknown to the job) at the kill.
        await _wait_for(lambda: _unjournaled(journal, successes) == 50)
    finally:
        proc.kill()  # SIGKILL: no cleanup, no flush
        await proc.wait()

    first = Journal(journal)
    done_first = {e.item for e in first.entries("terminate") if e.outcome is JournalOutcome.DONE}
    in_flight = {e.item for e in first.entries("terminate") if e.outcome is JournalOutcome.STARTED}
    assert done_first and len(in_flight) == 50 and len(done_first) < 450
    first.close()

    async with BizprocClient.from_webhook(
        portal.webhook_url, limiter=None, retry=RetryPolicy(backoff=0.01)
    ) as c:
        report = await terminate_workflows(c, filter=instance_filter(started_before=CUTOFF), journal=journal)

    # the portal: every matching instance terminated exactly once, nothing else touched
    assert set(successes) == seeded.old and set(successes.values()) == {1}
    assert {w.id for w in portal.state.instances} == seeded.new
    # the journal: every item ends done. The in-flight ones were found gone on resume: the killed run's
    # send did them (issue 13 item 1), so they are done by us, not already_gone.
    final = Journal(journal)
    outcomes = {e.item: e.outcome for e in final.entries("terminate")}
    assert set(outcomes) == seeded.old
    assert {i for i, o in outcomes.items() if o is JournalOutcome.ALREADY_GONE} == set()
    assert {i for i, o in outcomes.items() if o is JournalOutcome.DONE} == seeded.old
    # the report of the resumed run
    # (done ones left the list; the in-flight ones come back from the journal and are settled as done)
    assert report.matched == 500 - len(done_first) - 50
    assert report.count(ReportOutcome.DONE) == report.matched + 50
    assert report.count(ReportOutcome.ALREADY_GONE) == 0
    assert report.ok and report.remaining == 0
