"""Fleet jobs on arq workers over a real redis-server: shared tokens and buckets, and a worker killed -9."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("arq", reason="arq is not installed (pip install 'bitrix_bizproc[worker]')")
pytest.importorskip("redis", reason="redis-py is not installed (pip install 'bitrix_bizproc[worker]')")

from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.constants import in_progress_key_prefix
from arq.worker import Worker
from jobs._seed import CUTOFF, seed_dismissed_employee, seed_instances
from redis_shared.conftest import redis_port  # noqa: F401  (the session's redis-server)

from bitrix_bizproc import BucketSpec
from bitrix_bizproc.emulator import EmulatedFleet, FaultKind, Plan, PortalConfig
from bitrix_bizproc.fleet.redis import RedisPortalStore
from bitrix_bizproc.fleet.worker import (
    WorkerConfig,
    collect,
    enqueue_offboard,
    enqueue_terminate,
    worker_settings,
)
from bitrix_bizproc.jobs import JobReport, instance_filter

from .conftest import tokens_of

pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning")  # arq 0.28

OLD_ONLY = instance_filter(started_before=CUTOFF)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def pool(redis_port: int) -> Any:  # noqa: F811
    """An arq connection pool on the session's redis-server (database 2, emptied before and after)."""
    arq = await create_pool(RedisSettings(host="127.0.0.1", port=redis_port, database=2))
    await arq.flushdb()
    yield arq
    await arq.flushdb()
    await arq.aclose()


def config(emulated: EmulatedFleet, redis_port: int, journals: Path, **options: Any) -> WorkerConfig:  # noqa: F811
    return WorkerConfig(
        redis_url=f"redis://127.0.0.1:{redis_port}/2",
        client_id=emulated.app.client_id,
        client_secret=emulated.app.client_secret,
        token_url=emulated.token_url,
        journal_dir=str(journals),
        plan="off",
        **options,
    )


async def installed(emulated: EmulatedFleet, pool: ArqRedis, sizes: dict[str, int], plan: Plan) -> None:
    store = RedisPortalStore(pool)
    for member_id, n in sizes.items():
        portal = emulated.add_portal(member_id, PortalConfig(plan=plan))
        seed_instances(portal, n)
        await store.save(member_id, tokens_of(emulated.issue_tokens(member_id)), domain=portal.config.domain)


async def run_burst_workers(cfg: WorkerConfig, n: int) -> None:
    """``n`` arq workers in this process, each with its own settings (and so its own fleet), until idle."""
    workers = [
        Worker(**worker_settings(cfg), burst=True, handle_signals=False, poll_delay=0.05) for _ in range(n)
    ]
    try:
        await asyncio.gather(*(w.async_run() for w in workers))
    finally:
        for w in workers:
            await w.close()


async def test_two_workers_share_the_portals_and_stay_under_each_limit(
    pool: ArqRedis,
    redis_port: int,  # noqa: F811
    tmp_path: Path,
) -> None:
    sizes = {"p1": 120, "p2": 60, "p3": 5, "p4": 0}
    async with EmulatedFleet() as emulated:
        await installed(emulated, pool, sizes, Plan.custom(20.0, 3, None))
        for member_id in ("p1", "p2"):  # expired: each portal refreshes once, whichever worker runs it
            emulated.portal(member_id).auth.expire_access_tokens()
        spec = BucketSpec(rate=20.0, burst=3, jitter_allowance=0.05)
        jobs = await enqueue_terminate(
            pool, sizes, run_id="run-1", filter=OLD_ONLY, plans=dict.fromkeys(sizes, spec)
        )
        again = await enqueue_terminate(pool, sizes, run_id="run-1", filter=OLD_ONLY)  # no doubles
        assert {j.job_id for j in again.values()} == {j.job_id for j in jobs.values()}
        await run_burst_workers(config(emulated, redis_port, tmp_path), 2)
        report = await collect(jobs, wait=30)
        assert report.ok, str(report)
        for member_id, n in sizes.items():
            portal = emulated.portal(member_id)
            assert report.portals[member_id].counts["done"] == n
            assert portal.state.terminated_count == n and portal.state.running_count == 0
            assert portal.counters.rejections["QUERY_LIMIT_EXCEEDED"] == 0
            assert portal.counters.token_refreshes == (1 if member_id in ("p1", "p2") else 0)
        assert report.total()["counts"] == {"done": 185}
        stored = await RedisPortalStore(pool).load("p1")
        assert stored is not None and emulated.portal("p1").auth.holds("refresh_token", stored.refresh_token)


async def test_a_worker_killed_mid_run_loses_nothing_and_terminates_nothing_twice(
    pool: ArqRedis,
    redis_port: int,  # noqa: F811
    tmp_path: Path,
) -> None:
    sizes = {"victim": 150, "bystander": 40}
    async with EmulatedFleet() as emulated:
        await installed(emulated, pool, sizes, Plan.named("unlimited"))
        victim = emulated.portal("victim")
        # Every batch of the first run hangs a moment (the listing's, if any, and the three chunks'), so the
        # kill below lands while terminations are on their way, however late this process sees the journal.
        victim.faults.inject(FaultKind.SLOW, method="batch", delay=1.0, times=4)
        jobs = await enqueue_terminate(pool, ["victim"], run_id="run-k", filter=OLD_ONLY)
        cfg = config(emulated, redis_port, tmp_path)
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "BITRIX24_CLIENT_ID": cfg.client_id,
            "BITRIX24_CLIENT_SECRET": cfg.client_secret,
            "BITRIX24_TOKEN_URL": cfg.token_url,
        }
        command = [
            sys.executable,
            "-m",
            "bitrix_bizproc.cli",
            "worker",
            "--redis",
            cfg.redis_url,
            "--journal-dir",
            cfg.journal_dir,
            "--plan",
            "off",
            "--job-timeout",
            "60",
        ]
        worker = await asyncio.create_subprocess_exec(*command, env=env, stderr=asyncio.subprocess.PIPE)
        journal = tmp_path / "run-k" / "victim.jsonl"
        try:
            while b'"outcome":"started"' not in (journal.read_bytes() if journal.exists() else b""):
                assert worker.returncode is None, await worker.stderr.read()  # type: ignore[union-attr]
                await asyncio.sleep(0.02)
        finally:
            worker.send_signal(signal.SIGKILL)
            await worker.wait()
        assert victim.state.running_count > 0  # killed mid-run
        # The killed worker's in-progress key would expire after job_timeout + 10 s; expire it now.
        await pool.delete(in_progress_key_prefix + jobs["victim"].job_id)
        jobs |= await enqueue_terminate(pool, ["bystander"], run_id="run-k", filter=OLD_ONLY)
        await run_burst_workers(cfg, 1)
        report = await collect(jobs, wait=30)
        assert report.ok, str(report)
        for member_id, n in sizes.items():
            portal = emulated.portal(member_id)
            assert portal.state.terminated_count == n and portal.state.running_count == 0
        # The journal: every item ended done or already_gone, and none was recorded done twice.
        records = [json.loads(line) for line in journal.read_text().splitlines()]
        finals: dict[str, str] = {}
        done: Counter[str] = Counter()
        for r in records:
            if "item" in r:
                finals[r["item"]] = r["outcome"]
                done[r["item"]] += r["outcome"] == "done"
        assert len(finals) == 150 and set(finals.values()) <= {"done", "already_gone"}
        assert max(done.values()) == 1
        rerun = report.portals["victim"]
        assert isinstance(rerun, JobReport) and rerun.remaining == 0


async def test_offboarding_runs_on_workers_and_an_unknown_portal_is_a_failure_not_a_retry(
    pool: ArqRedis,
    redis_port: int,  # noqa: F811
    tmp_path: Path,
) -> None:
    async with EmulatedFleet() as emulated:
        await installed(emulated, pool, {"p1": 0}, Plan.named("unlimited"))
        employee = seed_dismissed_employee(emulated.portal("p1"), 4)
        jobs = await enqueue_offboard(pool, {"p1": employee.user_id, "nobody": 5}, run_id="run-o")
        await run_burst_workers(config(emulated, redis_port, tmp_path), 1)
        report = await collect(jobs, job="offboard_employee", wait=30)
        assert report.portals["p1"].counts["done"] == 4
        assert emulated.portal("p1").state.terminated_count == 4
        assert report.failures["nobody"].code == "PORTAL_NOT_FOUND"


async def test_bizproc_fleet_terminate_queues_every_portal_once_and_waits_for_the_report(
    pool: ArqRedis,
    redis_port: int,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bitrix_bizproc.cli import main

    sizes = {"p1": 3, "p2": 2}
    async with EmulatedFleet() as emulated:
        await installed(emulated, pool, sizes, Plan.named("unlimited"))
        argv = [*_fleet_terminate(redis_port, "cli-1"), "--yes"]
        assert await asyncio.to_thread(main, argv) == 0
        assert await asyncio.to_thread(main, argv) == 0  # the same run again: nothing new queued
        assert await pool.zcard("bizproc:fleet:queue") == 2
        await run_burst_workers(config(emulated, redis_port, tmp_path), 1)
        capsys.readouterr()
        assert await asyncio.to_thread(main, [*argv, "--wait", "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["total"]["counts"] == {"done": 5}
        assert {m: p["counts"]["done"] for m, p in report["portals"].items()} == sizes
        assert await asyncio.to_thread(main, ["fleet", "terminate", "--run-id", "x"]) == 2  # no criteria


class _Terminal(io.StringIO):
    """A stdin that says it is a terminal, holding the user's answer."""

    def isatty(self) -> bool:
        return True


def _fleet_terminate(port: int, run_id: str) -> list[str]:
    """``bizproc fleet terminate`` of the workflows started before 2024 on the test Redis, as ``run_id``."""
    redis = f"redis://127.0.0.1:{port}/2"
    return ["fleet", "terminate", "--redis", redis, "--run-id", run_id, "--started-before", "2024-01-01"]


def _app_env(monkeypatch: pytest.MonkeyPatch, emulated: EmulatedFleet) -> None:
    monkeypatch.setenv("BITRIX24_CLIENT_ID", emulated.app.client_id)
    monkeypatch.setenv("BITRIX24_CLIENT_SECRET", emulated.app.client_secret)
    monkeypatch.setenv("BITRIX24_TOKEN_URL", emulated.token_url)


async def test_bizproc_fleet_terminate_without_a_terminal_or_yes_lists_per_portal_and_exits_4(
    pool: ArqRedis,
    redis_port: int,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bitrix_bizproc.cli import main

    async with EmulatedFleet() as emulated:
        await installed(emulated, pool, {"p1": 3, "p2": 2}, Plan.named("unlimited"))
        _app_env(monkeypatch, emulated)
        argv = _fleet_terminate(redis_port, "cli-2")
        assert await asyncio.to_thread(main, argv) == 4
        captured = capsys.readouterr()
        assert "p1: 3 to terminate" in captured.out and "p2: 2 to terminate" in captured.out
        assert "--yes" in captured.err
        assert await pool.zcard("bizproc:fleet:queue") == 0  # nothing queued
        assert all(emulated.portal(m).state.terminated_count == 0 for m in ("p1", "p2"))


async def test_bizproc_fleet_terminate_dry_run_lists_ids_in_json_and_with_verbose(
    pool: ArqRedis,
    redis_port: int,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bitrix_bizproc.cli import main

    async with EmulatedFleet() as emulated:
        await installed(emulated, pool, {"p1": 3, "p2": 0}, Plan.named("unlimited"))
        ids = sorted(w.id for w in emulated.portal("p1").state.instances)
        _app_env(monkeypatch, emulated)
        argv = [*_fleet_terminate(redis_port, "cli-3"), "--dry-run"]
        assert await asyncio.to_thread(main, [*argv, "--format", "json"]) == 0
        listing = json.loads(capsys.readouterr().out)
        assert listing["dry_run"] is True
        assert sorted(listing["portals"]["p1"]["ids"]) == ids and listing["portals"]["p2"]["count"] == 0
        assert await asyncio.to_thread(main, argv) == 0
        assert ids[0] not in capsys.readouterr().out  # counts only without --verbose
        assert await asyncio.to_thread(main, [*argv, "--verbose"]) == 0
        out = capsys.readouterr().out
        assert all(i in out for i in ids) and "dry run: nothing was queued" in out
        assert await pool.zcard("bizproc:fleet:queue") == 0
        assert emulated.portal("p1").state.terminated_count == 0


async def test_bizproc_fleet_terminate_asks_on_a_terminal(
    pool: ArqRedis,
    redis_port: int,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bitrix_bizproc.cli import main

    async with EmulatedFleet() as emulated:
        await installed(emulated, pool, {"p1": 3, "p2": 2}, Plan.named("unlimited"))
        _app_env(monkeypatch, emulated)
        argv = _fleet_terminate(redis_port, "cli-4")
        monkeypatch.setattr(sys, "stdin", _Terminal("n\n"))
        assert await asyncio.to_thread(main, argv) == 0
        assert "Terminate 5 running workflows on 2 portal(s)?" in capsys.readouterr().err
        assert await pool.zcard("bizproc:fleet:queue") == 0
        monkeypatch.setattr(sys, "stdin", _Terminal("y\n"))
        assert await asyncio.to_thread(main, argv) == 0
        assert await pool.zcard("bizproc:fleet:queue") == 2
