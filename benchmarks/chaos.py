"""The chaos suite's full form: 10,000-item termination jobs under every fault scenario, audited per item.

Each scenario seeds its own emulated portal, arms the faults (5xx pages, resets mid-answer, answers slower
than the client's timeout, truncated and HTML bodies, QUERY_LIMIT storms, OPERATION_TIME_LIMIT inside
batches, tokens living 0.3 s, and all of them at once), runs the job and reruns it on its journal until it
reports ok, then compares every report and the journal with the portal's own record. It prints one row a
scenario: runs, outcomes summed over the runs, answers lost after the call ran, and the disagreements
(all 0 when the reports are truthful). A second table compares the journal's off-loop group commit with
writing and fsyncing on the event loop, the figures as a ratio against that baseline in the same run.

    python benchmarks/chaos.py                 # 10,000 items a scenario
    python benchmarks/chaos.py --items 2000    # the CI form
    pytest -m chaos_full tests/chaos           # the same scenarios as tests
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bitrix_bizproc.emulator import EmulatedPortal
from bitrix_bizproc.jobs import Journal, JournalEntry, Outcome
from tests.chaos.harness import SCENARIOS, VirtualTime, run_scenario


async def scenarios(items: int, only: list[str]) -> bool:
    print(
        f"{'scenario':<22} {'items':>6} {'runs':>4} {'done':>6} {'unknown':>7} {'failed':>6} "
        f"{'lost ans':>8} {'lost':>4} {'twice':>5} {'misrep':>6} {'journal':>7} {'s':>6}"
    )
    clean = True
    for name, scenario in SCENARIOS.items():
        if only and name not in only:
            continue
        clock = VirtualTime()
        started = time.perf_counter()
        async with EmulatedPortal(clock=clock) as portal:
            with tempfile.TemporaryDirectory() as tmp:
                audit = await run_scenario(scenario, portal, clock, Path(tmp), items=items)
        elapsed = time.perf_counter() - started
        clean = clean and audit.clean
        o = audit.outcomes
        print(
            f"{name:<22} {items:>6} {audit.runs:>4} {o['done']:>6} {o['unknown']:>7} {o['failed']:>6} "
            f"{audit.lost_answers:>8} {len(audit.lost):>4} {len(audit.twice):>5} "
            f"{len(audit.misreported):>6} {len(audit.journal):>7} {elapsed:>6.1f}"
        )
    return clean


async def _lag_during(work: asyncio.Future[None]) -> float:
    """The longest the event loop went without running a 1 ms ticker while ``work`` ran."""
    worst, last = 0.0, time.perf_counter()
    while not work.done():
        await asyncio.sleep(0.001)
        now = time.perf_counter()
        worst, last = max(worst, now - last), now
    return worst


async def journal_throughput(chunks: int = 400, concurrency: int = 8) -> None:
    """Started + outcome records for ``chunks`` chunks of 50 from ``concurrency`` workers, both ways."""

    async def worker(log: Journal, n: int, off_loop: bool) -> None:
        for c in range(n, chunks, concurrency):
            entries = [JournalEntry(f"wf{c}-{i}", "terminate", Outcome.STARTED) for i in range(50)]
            done = [JournalEntry(e.item, "terminate", Outcome.DONE) for e in entries]
            for batch in (entries, done):
                if off_loop:
                    await log.commit(batch)
                else:
                    log.record(batch)
                    await asyncio.sleep(0)

    print(f"\njournal: {chunks} chunks x 50 items, {concurrency} workers, fsync on")
    print(f"{'way':<28} {'records/s':>10} {'vs baseline':>11} {'worst loop stall ms':>20}")
    baseline = 0.0
    for label, off_loop in (("on the loop (baseline)", False), ("off the loop, group commit", True)):
        with tempfile.TemporaryDirectory() as tmp:
            log = Journal(Path(tmp) / "j.jsonl")
            started = time.perf_counter()
            work = asyncio.ensure_future(
                asyncio.gather(*(worker(log, n, off_loop) for n in range(concurrency)))
            )
            stall = await _lag_during(work)
            await work
            rate = chunks * 100 / (time.perf_counter() - started)
            log.close()
        baseline = baseline or rate
        print(f"{label:<28} {rate:>10.0f} {rate / baseline:>10.2f}x {stall * 1000:>20.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--only", nargs="*", default=[], choices=list(SCENARIOS))
    parser.add_argument("--no-journal", action="store_true", help="skip the journal throughput table")
    args = parser.parse_args()
    clean = asyncio.run(scenarios(args.items, args.only))
    if not args.no_journal:
        asyncio.run(journal_throughput())
    sys.exit(0 if clean else 1)


if __name__ == "__main__":
    main()
