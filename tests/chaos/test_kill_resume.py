"""kill -9 a job mid-run under faults, several times, resuming on the same journal each time.

The job runs in a subprocess against the portal of this test (faults on: 5xx pages, resets mid-answer,
truncated bodies, half of them after the call ran). After the last resume the portal's own record
decides: every matching instance stopped exactly once, nothing else touched, every journal record
``done`` (the items in flight at each kill included: found gone on resume, they are done by us).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections import Counter
from pathlib import Path

from bitrix_bizproc.emulator import EmulatedPortal, FaultKind
from bitrix_bizproc.jobs import Journal, JournalOutcome

from .harness import CUTOFF, seed

ROOT = Path(__file__).resolve().parents[2]
JOB = """
import asyncio, json, sys
from bitrix_bizproc import BizprocClient, RetryPolicy
from bitrix_bizproc.jobs import JobAbortedError, terminate_workflows

async def main():
    retry = RetryPolicy(backoff=0.01)
    async with BizprocClient.from_webhook(sys.argv[1], limiter=None, retry=retry, timeout=0.5) as client:
        try:
            report = await terminate_workflows(
                client, filter={"<STARTED": sys.argv[3]}, journal=sys.argv[2], concurrency=2, verify=False
            )
        except JobAbortedError as aborted:
            report = aborted.report
    print(json.dumps(report.to_dict()["counts"]), flush=True)

asyncio.run(main())
"""
ITEMS = 1000
KILL_AT = (150, 400, 700)  # journaled "done" records at which the running job is killed


def _records(journal: Path) -> dict[str, JournalOutcome]:
    if not journal.exists():
        return {}
    log = Journal(journal)
    try:
        return {e.item: e.outcome for e in log.entries("terminate")}
    finally:
        log.close()


async def _start(portal: EmulatedPortal, journal: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        JOB,
        portal.webhook_url,
        str(journal),
        CUTOFF.isoformat(),
        cwd=ROOT,
        env={**os.environ},
        stdout=asyncio.subprocess.PIPE,
    )


async def _kill_when(proc: asyncio.subprocess.Process, journal: Path, done: int) -> dict[str, JournalOutcome]:
    try:
        async with asyncio.timeout(60):  # generous: only reached if the subprocess is stuck
            while sum(o is JournalOutcome.DONE for o in _records(journal).values()) < done:
                if proc.returncode is not None:
                    break
                await asyncio.sleep(0.02)
    finally:
        if proc.returncode is None:
            proc.kill()  # SIGKILL: no cleanup, no flush
        await proc.wait()
    return _records(journal)


async def test_kill_minus_nine_three_times_under_faults_then_resume(
    portal: EmulatedPortal, tmp_path: Path
) -> None:
    olds, news = seed(portal, ITEMS, 30)
    kinds = (FaultKind.HTTP_500, FaultKind.DROP, FaultKind.RESET, FaultKind.TRUNCATED)
    portal.faults.set_random(0.15, kinds, seed=7, after=0.5)
    portal.faults.set_latency(base=0.01)
    journal = tmp_path / "job.jsonl"
    in_flight_at_kills: set[str] = set()
    for threshold in KILL_AT:
        records = await _kill_when(await _start(portal, journal), journal, threshold)
        in_flight_at_kills |= {
            i for i, o in records.items() if o in (JournalOutcome.STARTED, JournalOutcome.UNKNOWN)
        }
    assert in_flight_at_kills  # the kills did land mid-chunk
    for _ in range(3):  # resume until the job reports every item settled
        proc = await _start(portal, journal)
        await proc.communicate()
        assert proc.returncode == 0
        records = _records(journal)
        if all(records.get(i) is JournalOutcome.DONE for i in olds):
            break
    stops = Counter(wid for wid, _, _ in portal.state.stop_log)
    assert set(stops) == olds  # 0 lost, nothing else touched
    assert set(stops.values()) == {1}  # 0 done twice
    assert not set(stops) & news
    final = _records(journal)
    assert {i: o for i, o in final.items() if o is not JournalOutcome.DONE} == {}
    assert set(final) == olds
    assert portal.counters.lost_answers > 0  # answers were lost after the calls ran
