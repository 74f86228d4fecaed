"""The chaos harness: a job run against a faulty emulated portal, then audited item by item.

The portal's own record (``state.stop_log``: which workflow it terminated or killed, when, how many times)
is the truth. Each run's report and the journal are compared with it:

* ``done`` in a run: the portal stopped the item, during that run;
* ``already_gone``: the portal did NOT stop it during that run;
* ``failed`` / ``not_attempted``: the portal had not stopped it when the run ended;
* ``unknown``: either (a resume settles it);
* after the last run: every item stopped exactly once, every journal record ``done``, nothing else touched.

Time is virtual for the client and the portal alike (:class:`VirtualTime`): a client's wait (a backoff, an
operating-limit reset) moves the shared clock instead of sleeping, so a 10-minute operating window passes
at once; faults that hinge on real time (a slow answer against the client's timeout) stay real.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import time
from collections import Counter
from pathlib import Path
from typing import Any

import attrs

from bitrix_bizproc import BitrixError, BizprocClient, RetryPolicy
from bitrix_bizproc.emulator import EmulatedPortal, FaultKind, Plan
from bitrix_bizproc.jobs import (
    JobAbortedError,
    JobReport,
    Journal,
    JournalOutcome,
    ReportOutcome,
    terminate_workflows,
)

__all__ = ["SCENARIOS", "Audit", "Scenario", "VirtualTime", "run_scenario"]

CUTOFF = _dt.datetime(2024, 1, 1, tzinfo=_dt.UTC)
DEAL = ("crm", "CCrmDocumentDeal", "DEAL")
TERMINATE = "bizproc.workflow.terminate"
CLIENT_TIMEOUT = 0.25  # real seconds: a SLOW answer takes longer
SLOW = 0.4


class VirtualTime:
    """A clock shared by the client and the portal; the client's sleeps move it instead of waiting."""

    def __init__(self) -> None:
        self.offset = 0.0
        self.slept = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    async def sleep(self, seconds: float) -> None:
        """Skip ``seconds`` of virtual time (and let other tasks run)."""
        if seconds > 0:
            self.offset += seconds
            self.slept += seconds
        await asyncio.sleep(0)


@attrs.frozen
class Scenario:
    """What goes wrong: random faults (kinds, rate, share striking after the call ran), limits, tokens."""

    name: str
    kinds: tuple[FaultKind, ...] = ()
    rate: float = 0.0
    after: float = 0.5
    query_limit_burst: int = 0
    operating_limit: bool = False  # terminate is charged 0.2 s a call against a 60 s budget
    token_lifetime: float | None = None  # OAuth with access tokens living this long (virtual seconds)


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("http_5xx", (FaultKind.HTTP_500, FaultKind.HTTP_502), rate=0.2),
        Scenario("resets", (FaultKind.DROP, FaultKind.RESET), rate=0.2),
        Scenario("slow", (FaultKind.SLOW,), rate=0.08),
        Scenario("bad_bodies", (FaultKind.TRUNCATED, FaultKind.HTML), rate=0.2),
        Scenario("query_limit_storm", (FaultKind.QUERY_LIMIT,), rate=0.35, query_limit_burst=30),
        Scenario("operation_time_limit", operating_limit=True),
        Scenario("tokens_0_3s", token_lifetime=0.3),
        Scenario(
            "everything",
            (
                FaultKind.HTTP_500,
                FaultKind.HTTP_502,
                FaultKind.DROP,
                FaultKind.RESET,
                FaultKind.SLOW,
                FaultKind.TRUNCATED,
                FaultKind.HTML,
                FaultKind.QUERY_LIMIT,
            ),
            rate=0.25,
            query_limit_burst=20,
            operating_limit=True,
            token_lifetime=0.3,
        ),
    )
}


@attrs.define
class Audit:
    """Disagreements between the job's reports/journal and the portal's record (all empty: truthful)."""

    runs: int = 0
    lost: list[str] = attrs.field(factory=list)  # matching items the portal never stopped
    twice: list[str] = attrs.field(factory=list)  # stopped more than once, or reported done in two runs
    touched: list[str] = attrs.field(factory=list)  # stopped although they did not match
    misreported: list[str] = attrs.field(factory=list)  # "run k: item outcome vs portal"
    journal: list[str] = attrs.field(factory=list)  # final journal record not ``done``
    outcomes: Counter[str] = attrs.field(factory=Counter)  # every run's report outcomes, summed
    requests: int = 0
    lost_answers: int = 0  # calls the portal ran whose answers the faults took away

    @property
    def clean(self) -> bool:
        """True when every item matches the portal."""
        return not (self.lost or self.twice or self.touched or self.misreported or self.journal)


def seed(portal: EmulatedPortal, old: int, new: int) -> tuple[set[str], set[str]]:
    """``old`` instances that match the job's filter, ``new`` ones that must stay untouched."""
    state = portal.state
    state.add_template("Approval", DEAL)
    started_old = (CUTOFF - _dt.timedelta(days=200)).timestamp()
    started_new = (CUTOFF + _dt.timedelta(days=30)).timestamp()
    olds = state.add_instances(old, started=started_old)
    news = state.add_instances(new, started=started_new)
    return {w.id for w in olds}, {w.id for w in news}


def configure(portal: EmulatedPortal, scenario: Scenario, seed_: int) -> None:
    """Arm the scenario's faults and limits on ``portal``."""
    if scenario.kinds:
        portal.faults.set_random(scenario.rate, scenario.kinds, seed=seed_, after=scenario.after, delay=SLOW)
    if scenario.query_limit_burst:  # a storm on the job's batches (listing retries are bounded too)
        portal.faults.inject(FaultKind.QUERY_LIMIT, times=scenario.query_limit_burst, method="batch")
    if scenario.operating_limit:
        portal.config.plan = Plan.custom(rate=None, burst=0, operating_limit=60.0)
        portal.config.method_processing[TERMINATE] = 0.2  # ~300 terminations per 10-minute window
    if scenario.token_lifetime is not None:
        portal.config.token_lifetime = scenario.token_lifetime
        # Tokens age in real time: a jump of the virtual clock (one task waiting out an operating reset)
        # must not expire a token another task refreshed a millisecond ago, which no real portal does.
        portal.auth._clock = time.time


def make_client(portal: EmulatedPortal, scenario: Scenario, clock: VirtualTime) -> BizprocClient:
    """A client of the portal's admin: webhook, or OAuth when the scenario expires tokens."""
    retry = RetryPolicy(backoff=0.05)
    common: dict[str, Any] = {
        "limiter": None,
        "retry": retry,
        "timeout": CLIENT_TIMEOUT,
        "clock": clock,
        "sleep": clock.sleep,
        "operating_limit": 60.0 if scenario.operating_limit else 480.0,
    }
    if scenario.token_lifetime is None:
        return BizprocClient.from_webhook(portal.webhook_url, **common)
    tokens = portal.issue_tokens()
    return BizprocClient.from_oauth(
        client_id=portal.oauth_app.client_id,
        client_secret=portal.oauth_app.client_secret,
        token_url=portal.token_url,
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        client_endpoint=tokens["client_endpoint"],
        refresh_leeway=0.05,
        **common,
    )


async def run_once(
    portal: EmulatedPortal, scenario: Scenario, clock: VirtualTime, journal: Path, concurrency: int
) -> JobReport:
    """One run of the termination job (a fresh client each time, as a rerun from the shell would be).

    The journal skips fsync here (the disk is shared and slow; what is checked is what the job writes,
    not the disk's durability: the kill -9 test keeps fsync).
    """
    async with make_client(portal, scenario, clock) as client:
        log = Journal(journal, durable=False)
        try:
            return await terminate_workflows(
                client,
                filter={"<STARTED": CUTOFF.isoformat()},
                journal=log,
                concurrency=concurrency,
                verify=False,
            )
        except JobAbortedError as aborted:
            return aborted.report
        except BitrixError as exc:  # listing the matches failed (after the retries): nothing was sent
            return JobReport(job="terminate_workflows", action="terminate", dry_run=False, aborted=str(exc))
        finally:
            log.close()


def _journal(path: Path) -> dict[str, JournalOutcome]:
    if not path.exists():
        return {}
    log = Journal(path)
    try:
        return {e.item: e.outcome for e in log.entries("terminate")}
    finally:
        log.close()


def audit_run(
    k: int,
    report: JobReport,
    records: tuple[dict[str, JournalOutcome], dict[str, JournalOutcome]],
    stops: tuple[set[str], set[str]],
    audit: Audit,
) -> None:
    """Compare one run's report and journal records with what the portal did (nobody else stops items)."""
    was, now = records
    before, after = stops
    for item, outcome in now.items():
        if outcome is JournalOutcome.DONE and item not in after:
            audit.misreported.append(f"run {k}: {item} journaled done, the portal never stopped it")
        if outcome is JournalOutcome.ALREADY_GONE:  # only this job stops items: gone means done by us
            audit.misreported.append(f"run {k}: {item} journaled already_gone, but the job stopped it")
        if outcome is JournalOutcome.FAILED and item in after:
            audit.misreported.append(f"run {k}: {item} journaled failed, but the portal stopped it")
    newly_done = {
        i for i, o in now.items() if o is JournalOutcome.DONE and was.get(i) is not JournalOutcome.DONE
    }
    if report.count(ReportOutcome.DONE) != len(newly_done):
        audit.misreported.append(
            f"run {k}: report done {report.count(ReportOutcome.DONE)}, journal newly done {len(newly_done)}"
        )
    if report.count(ReportOutcome.ALREADY_GONE):
        audit.misreported.append(f"run {k}: {report.count(ReportOutcome.ALREADY_GONE)} reported already_gone")
    audit.misreported += [
        f"run {k}: {f.item} reported failed, the portal stopped it"
        for f in report.failures
        if f.item in after
    ]
    if not newly_done <= after:
        audit.misreported.append(f"run {k}: done items the portal never stopped")
    stopped_now = after - before
    unsettled = {i for i, o in now.items() if o in (JournalOutcome.STARTED, JournalOutcome.UNKNOWN)}
    if not stopped_now <= newly_done | unsettled:
        audit.misreported.append(f"run {k}: stopped by the portal, not reported done or unknown")


async def run_scenario(
    scenario: Scenario,
    portal: EmulatedPortal,
    clock: VirtualTime,
    tmp: Path,
    *,
    items: int,
    untouched: int = 20,
    seed_: int = 1,
    concurrency: int = 8,
    max_runs: int = 8,
) -> Audit:
    """Seed, arm the faults, run the job until it reports ok (resuming on its journal), audit everything."""
    olds, news = seed(portal, items, untouched)
    configure(portal, scenario, seed_)
    journal = tmp / f"{scenario.name}.jsonl"
    audit = Audit()
    now: dict[str, JournalOutcome] = {}
    for k in range(1, max_runs + 1):
        before = {wid for wid, _, _ in portal.state.stop_log}
        was = now
        if k == max_runs:  # the operator's last rerun, once the storm is over
            portal.faults.clear()
        report = await run_once(portal, scenario, clock, journal, concurrency)
        after = {wid for wid, _, _ in portal.state.stop_log}
        audit.runs = k
        audit.requests += report.requests or 0
        audit.outcomes.update(report.counts)
        now = _journal(journal)
        audit_run(k, report, (was, now), (before, after), audit)
        if report.ok:
            break
    stops = Counter(wid for wid, _, _ in portal.state.stop_log)
    audit.lost = sorted(olds - set(stops))
    audit.twice += sorted(w for w, n in stops.items() if n > 1)
    audit.touched = sorted(set(stops) - olds - news)
    audit.journal = sorted(f"{i}: {now.get(i)}" for i in olds if now.get(i) is not JournalOutcome.DONE)
    audit.lost_answers = portal.counters.lost_answers
    audit.touched += sorted(news & set(stops))
    return audit
