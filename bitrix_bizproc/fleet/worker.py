"""Fleet jobs on arq workers (extra ``worker``): every portal's job runs on whichever worker is free.

Each worker holds a :class:`Fleet` over a :class:`RedisPortalStore` (tokens, refreshed under each portal's
Redis lock) whose limited portals pace through a :class:`~bitrix_bizproc.redis.RedisBucket` per portal, so
N workers together keep every portal under its own limit. ``bizproc worker`` starts one.

Why killing a worker loses and doubles nothing:

- one arq job per (run, portal), with the job id ``<run_id>:<job>:<member_id>``: enqueuing a run twice
  adds nothing, and arq runs a job id on one worker at a time (its in-progress key);
- a job stays queued until a worker finishes it; if its worker dies, the in-progress key expires
  (``job_timeout`` + 10 s) and another worker runs it again (up to ``max_tries``);
- that rerun resumes the portal's journal, ``<journal_dir>/<run_id>/<member_id>.jsonl`` in a directory
  every worker shares: what was done is skipped, what was in flight is sent again, and the portal answers
  "not found" for any of those it had already done, counted as ``already_gone``, never twice as ``done``.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import attrs
from arq.connections import ArqRedis, RedisSettings
from arq.jobs import Job
from arq.worker import Function, func

from .._client import BizprocClient
from ..jobs import JobAbortedError, JobReport, offboard_employee, terminate_workflows
from ..models.filters import FilterLike
from ..protocol.auth import DEFAULT_TOKEN_URL
from ..protocol.errors import BitrixError
from ..protocol.limits import BucketSpec, LimiterOption
from ..redis import RedisBucket
from ._fleet import Fleet
from .jobs import FleetReport, PortalFailure, failure_of, journal_path
from .redis import RedisPortalStore

__all__ = [
    "AbortedRun",
    "WorkerConfig",
    "collect",
    "enqueue_offboard",
    "enqueue_terminate",
    "worker_settings",
]

DEFAULT_QUEUE = "bizproc:fleet:queue"


@attrs.frozen
class WorkerConfig:
    """What every worker of one fleet shares: Redis, the OAuth app, the journals' directory, the queue."""

    redis_url: str
    client_id: str
    client_secret: str = attrs.field(repr=False)
    token_url: str = DEFAULT_TOKEN_URL
    prefix: str = "bizproc:fleet"
    journal_dir: str = "bizproc-journals"
    plan: LimiterOption = "standard"
    queue_name: str = DEFAULT_QUEUE
    max_jobs: int = 16
    job_timeout: float = 3600.0
    max_tries: int = 5


@attrs.frozen
class AbortedRun:
    """A portal's job that stopped part way: its report so far and why it stopped."""

    report: JobReport
    failure: PortalFailure


def _fleet(ctx: Mapping[str, Any]) -> Fleet:
    fleet: Fleet = ctx["fleet"]
    return fleet


async def _startup(ctx: dict[str, Any]) -> None:
    config: WorkerConfig = ctx["config"]
    redis: ArqRedis = ctx["redis"]
    prefix = config.prefix

    def bucket(member_id: str, spec: BucketSpec) -> RedisBucket:
        return RedisBucket(redis, f"{prefix}:bucket:{member_id}", spec)

    ctx["fleet"] = Fleet(
        RedisPortalStore(redis, prefix),
        client_id=config.client_id,
        client_secret=config.client_secret,
        token_url=config.token_url,
        plan=config.plan,
        shared_bucket=bucket,
    )


async def _shutdown(ctx: dict[str, Any]) -> None:
    fleet = ctx.get("fleet")
    if isinstance(fleet, Fleet):
        await fleet.aclose()


def _journal(ctx: Mapping[str, Any], run_id: str, member_id: str) -> Path | None:
    config: WorkerConfig = ctx["config"]
    return journal_path(Path(config.journal_dir) / run_id, member_id)


async def _on_portal(
    ctx: dict[str, Any],
    member_id: str,
    run_id: str,
    plan: LimiterOption | None,
    job: Callable[[BizprocClient, Path | None], Awaitable[JobReport]],
) -> JobReport | PortalFailure | AbortedRun:
    """Run ``job`` on a leased client of ``member_id`` with the run's journal; failures become results."""
    fleet = _fleet(ctx)
    if plan is not None:
        fleet.set_plan(member_id, plan)
    try:
        async with fleet.lease(member_id) as client:
            return await job(client, _journal(ctx, run_id, member_id))
    except JobAbortedError as exc:  # stopped part way: what it did before still counts
        return AbortedRun(exc.report, failure_of(exc))
    except BitrixError as exc:
        return failure_of(exc)


async def terminate_portal(
    ctx: dict[str, Any],
    member_id: str,
    run_id: str,
    filter: FilterLike,
    mode: Literal["terminate", "kill"] = "terminate",
    status: str | None = None,
    plan: LimiterOption | None = None,
    concurrency: int = 2,
) -> JobReport | PortalFailure | AbortedRun:
    """The arq job: :func:`~bitrix_bizproc.jobs.terminate_workflows` on one portal, with its journal."""

    async def job(client: BizprocClient, journal: Path | None) -> JobReport:
        return await terminate_workflows(
            client, filter=filter, mode=mode, status=status, journal=journal, concurrency=concurrency
        )

    return await _on_portal(ctx, member_id, run_id, plan, job)


async def offboard_portal(
    ctx: dict[str, Any],
    member_id: str,
    run_id: str,
    user: int | str,
    action: Literal["terminate", "kill", "delegate"] = "terminate",
    to_user: int | None = None,
    plan: LimiterOption | None = None,
    concurrency: int = 2,
) -> JobReport | PortalFailure | AbortedRun:
    """The arq job: :func:`~bitrix_bizproc.jobs.offboard_employee` on one portal, with its journal."""

    async def job(client: BizprocClient, journal: Path | None) -> JobReport:
        return await offboard_employee(
            client, user=user, action=action, to_user=to_user, journal=journal, concurrency=concurrency
        )

    return await _on_portal(ctx, member_id, run_id, plan, job)


def worker_settings(config: WorkerConfig, **overrides: Any) -> dict[str, Any]:
    """Keyword arguments for one ``arq.worker.Worker`` serving the fleet's jobs (a new dict per worker:
    arq keeps ``ctx`` as given, and each worker's fleet lives in it)."""
    functions: list[Function] = [
        func(job, name=job.__name__, timeout=config.job_timeout, max_tries=config.max_tries)
        for job in (terminate_portal, offboard_portal)
    ]
    settings: dict[str, Any] = {
        "functions": functions,
        "redis_settings": RedisSettings.from_dsn(config.redis_url),
        "queue_name": config.queue_name,
        "max_jobs": config.max_jobs,
        "job_timeout": config.job_timeout,
        "max_tries": config.max_tries,
        "on_startup": _startup,
        "on_shutdown": _shutdown,
        "ctx": {"config": config},
        "keep_result": 24 * 3600,
    }
    settings.update(overrides)
    return settings


async def _enqueue(
    pool: ArqRedis, function: str, job_id: str, args: tuple[Any, ...], kwargs: Mapping[str, Any], queue: str
) -> Job:
    queued = await pool.enqueue_job(function, *args, _job_id=job_id, _queue_name=queue, **kwargs)
    return queued if queued is not None else Job(job_id, pool, _queue_name=queue)


async def enqueue_terminate(
    pool: ArqRedis,
    members: Iterable[str],
    *,
    run_id: str,
    filter: FilterLike,
    mode: Literal["terminate", "kill"] = "terminate",
    plans: Mapping[str, LimiterOption] | None = None,
    queue_name: str = DEFAULT_QUEUE,
) -> dict[str, Job]:
    """One ``terminate_portal`` job per portal (an existing job of the same run is reused, not doubled)."""
    plans = plans or {}
    jobs: dict[str, Job] = {}
    for member_id in dict.fromkeys(members):
        jobs[member_id] = await _enqueue(
            pool,
            "terminate_portal",
            f"{run_id}:terminate:{member_id}",
            (member_id, run_id, filter),
            {"mode": mode, "plan": plans.get(member_id)},
            queue_name,
        )
    return jobs


async def enqueue_offboard(
    pool: ArqRedis,
    users: Mapping[str, int | str],
    *,
    run_id: str,
    action: Literal["terminate", "kill", "delegate"] = "terminate",
    to_users: Mapping[str, int] | None = None,
    plans: Mapping[str, LimiterOption] | None = None,
    queue_name: str = DEFAULT_QUEUE,
) -> dict[str, Job]:
    """One ``offboard_portal`` job per portal in ``users``."""
    to_users, plans = to_users or {}, plans or {}
    jobs: dict[str, Job] = {}
    for member_id, user in users.items():
        kwargs = {"action": action, "to_user": to_users.get(member_id), "plan": plans.get(member_id)}
        job_id = f"{run_id}:offboard:{member_id}"
        jobs[member_id] = await _enqueue(
            pool, "offboard_portal", job_id, (member_id, run_id, user), kwargs, queue_name
        )
    return jobs


async def collect(
    jobs: Mapping[str, Job],
    *,
    job: str = "terminate_workflows",
    wait: float | None = None,
    poll_delay: float = 0.2,
) -> FleetReport:
    """Wait (each up to ``wait`` seconds) for every job; their reports or failures as one report."""
    report = FleetReport(job=job)
    for member_id, queued in jobs.items():
        try:
            outcome = await queued.result(timeout=wait, poll_delay=poll_delay)
        except Exception as exc:  # the job failed on the worker (or timed out here)
            report.failures[member_id] = failure_of(exc)
            continue
        if isinstance(outcome, AbortedRun):
            report.portals[member_id] = outcome.report
            report.failures[member_id] = outcome.failure
            report.elapsed = max(report.elapsed, outcome.report.elapsed)
        elif isinstance(outcome, JobReport):
            report.portals[member_id] = outcome
            report.elapsed = max(report.elapsed, outcome.elapsed)
        elif isinstance(outcome, PortalFailure):
            report.failures[member_id] = outcome
        else:
            report.failures[member_id] = PortalFailure("UnexpectedResult", "", repr(outcome)[:200])
    return report


def default_journal_dir() -> str:
    """``$BIZPROC_JOURNAL_DIR``, or ``bizproc-journals`` in the working directory."""
    return os.environ.get("BIZPROC_JOURNAL_DIR", "bizproc-journals")
