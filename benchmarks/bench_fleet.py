"""A fleet of emulated portals: fleet-wide termination in one process, then on 4 arq workers with a kill -9.

(a) One process: ``--portals`` emulated portals (default 1,000), ``--per-portal`` running workflows each
    (default 100), every portal's bucket sped up or slowed alike (``--rate`` drain/s, ``--burst``; the
    client's limiter shaped the same). ``terminate_fleet`` terminates them all with one shared connection
    pool. Reported: rejections per portal (target 0 on every one), and the aggregate paced request rate
    against the sum of the portals' ceilings: sum over portals of (requests - capacity) / wall time, over
    portals x rate (target >= 0.95; the capacity is what a portal may send at once before pacing).
(b) Memory per idle portal client: the fleet opens a client per portal and makes one call on each; the
    bytes tracemalloc sees freed when the idle clients are closed, per client (target <= 50 KB).
(c) The same work on ``--workers`` arq worker processes (default 4; ``bizproc worker``) over a private
    redis-server, with per-portal Redis buckets and token stores; one worker is killed with SIGKILL once
    ``--kill-at`` of the workflows are terminated. Its jobs run again on the others after arq's in-progress
    key expires (job timeout + 10 s). Reported: the same totals, rejections, and per item: terminated once,
    never recorded ``done`` twice.

The portals run in a child process (their own core, as real portals would be). The machine this was
written on has 2 cores shared with other work: use ``--portals``/``--arq-portals`` to scale down.

Run: ``python benchmarks/bench_fleet.py`` (or ``--portals 200 --arq-portals 200`` for a quick run).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing as mp
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bitrix_bizproc import BucketSpec
from bitrix_bizproc.emulator import EmulatedFleet, Plan, PortalConfig
from bitrix_bizproc.fleet import Fleet, MemoryPortalStore, terminate_fleet
from bitrix_bizproc.jobs import instance_filter
from bitrix_bizproc.protocol.auth import parse_token_response

DEAL = ("crm", "CCrmDocumentDeal", "DEAL")
FILTER = instance_filter(started_before="2100-01-01")
ROOT = Path(__file__).resolve().parents[1]


# -- the portals, in a child process ------------------------------------------------------------------
def _setup(fleet: EmulatedFleet, arg: dict[str, Any]) -> dict[str, Any]:
    for member_id in list(fleet):
        fleet.remove_portal(member_id)
    plan = Plan.custom(arg["rate"], arg["burst"], None)
    answers = {}
    for i in range(arg["portals"]):
        member_id = f"{arg['prefix']}{i:05d}"
        portal = fleet.add_portal(member_id, PortalConfig(plan=plan))
        portal.state.add_template("cleanup", DEAL)
        portal.state.add_instances(arg["per_portal"])
        answers[member_id] = fleet.issue_tokens(member_id)
    app = fleet.app
    return {"client_id": app.client_id, "client_secret": app.client_secret, "token_url": fleet.token_url,
            "tokens": answers}


def _counters(fleet: EmulatedFleet) -> dict[str, Any]:
    out = {}
    for member_id in fleet:
        portal = fleet.portal(member_id)
        out[member_id] = {
            "requests": portal.counters.requests,
            "rejections": portal.counters.rejections["QUERY_LIMIT_EXCEEDED"],
            "terminate_commands": portal.counters.methods["bizproc.workflow.terminate"],
            "terminated": portal.state.terminated_count,
            "running": portal.state.running_count,
            "refreshes": portal.counters.token_refreshes,
        }
    return out


async def _serve(conn: Connection) -> None:
    loop = asyncio.get_running_loop()
    async with EmulatedFleet() as fleet:
        conn.send(fleet.base_url)
        while True:
            command, arg = await loop.run_in_executor(None, conn.recv)
            if command == "stop":
                conn.send(None)
                return
            if command == "setup":
                conn.send(_setup(fleet, arg))
            elif command == "counters":
                conn.send(_counters(fleet))
            elif command == "terminated":
                conn.send(sum(fleet.portal(m).state.terminated_count for m in fleet))


def _main(conn: Connection) -> None:
    asyncio.run(_serve(conn))


class FleetProcess:
    """The emulated fleet in a child process, driven over a pipe."""

    def __init__(self) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_main, args=(child,), daemon=True)
        self._proc.start()
        child.close()
        self.base_url: str = self._conn.recv()

    def ask(self, command: str, arg: Any = None) -> Any:
        self._conn.send((command, arg))
        return self._conn.recv()

    def stop(self) -> None:
        self.ask("stop")
        self._proc.join(timeout=10)


def tokens_of(answer: dict[str, Any]):  # type: ignore[no-untyped-def]
    return parse_token_response(200, json.dumps(answer).encode(), now=time.time())


# -- (a) one process ----------------------------------------------------------------------------------
async def one_process(setup: dict[str, Any], spec: BucketSpec, portals_at_once: int) -> tuple[Any, float]:
    store = MemoryPortalStore()
    for member_id, answer in setup["tokens"].items():
        await store.save(member_id, tokens_of(answer), domain=f"{member_id}.bitrix24.local")
    async with Fleet(
        store, client_id=setup["client_id"], client_secret=setup["client_secret"],
        token_url=setup["token_url"], plan=spec, idle_timeout=None,
    ) as fleet:
        started = time.perf_counter()
        report = await terminate_fleet(fleet, filter=FILTER, portals_at_once=portals_at_once)
        wall = time.perf_counter() - started
    return report, wall


def summarise(
    name: str, counters: dict[str, Any], wall: float, spec: BucketSpec, per_portal: int
) -> dict[str, Any]:
    portals = len(counters)
    paced = sum(max(0, c["requests"] - spec.burst) for c in counters.values())  # a first burst takes it all
    ceiling = portals * spec.rate
    rejected = [m for m, c in counters.items() if c["rejections"]]
    wrong = [m for m, c in counters.items() if c["terminated"] != per_portal or c["running"]]
    line = {
        "run": name,
        "portals": portals,
        "terminated": sum(c["terminated"] for c in counters.values()),
        "expected": portals * per_portal,
        "portals_with_rejections": len(rejected),
        "portals_not_matching": len(wrong),
        "requests": sum(c["requests"] for c in counters.values()),
        "wall_s": round(wall, 2),
        "paced_rate": round(paced / wall, 1),
        "sum_of_ceilings": ceiling,
        "ratio": round(paced / wall / ceiling, 3),
    }
    return line


# -- (b) memory per idle client -------------------------------------------------------------------------
async def memory_per_client(setup: dict[str, Any], spec: BucketSpec) -> dict[str, Any]:
    store = MemoryPortalStore()
    for member_id, answer in setup["tokens"].items():
        await store.save(member_id, tokens_of(answer), domain=f"{member_id}.bitrix24.local")
    members = await store.members()
    now = [0.0]
    async with Fleet(
        store, client_id=setup["client_id"], client_secret=setup["client_secret"],
        token_url=setup["token_url"], plan=spec, idle_timeout=60.0, idle_clock=lambda: now[0],
    ) as fleet:
        await (await fleet.client(members[0])).call("user.get")  # the shared pool and imports: not per client
        gc.collect()
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        for member_id in members[1:]:
            await (await fleet.client(member_id)).call("user.get")
        gc.collect()
        opened = tracemalloc.get_traced_memory()[0]
        now[0] += 120.0
        closed = await fleet.close_idle()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
    n = len(members) - 1
    return {"clients": n, "closed": closed, "bytes_per_open_client": round((opened - base) / n),
            "bytes_freed_per_closed_client": round((opened - after) / n)}


# -- (c) arq workers ----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis(binary: str, port: int) -> subprocess.Popen[bytes]:
    """A throwaway redis-server on ``port`` (no persistence)."""
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL)


def start_workers(command: list[str], env: dict[str, str], workers: int) -> list[subprocess.Popen[bytes]]:
    """``workers`` worker processes running ``command``."""
    return [subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL) for _ in range(workers)]


def audit_journals(journals: Path) -> tuple[int, int, Counter[str]]:
    """Items recorded done more than once, portals whose job ran more than once, each item's last outcome."""
    done_twice = retried = 0
    finals: Counter[str] = Counter()
    for path in journals.glob("bench/*.jsonl"):
        seen: Counter[str] = Counter()
        last: dict[str, str] = {}
        runs = 0
        for raw in path.read_text().splitlines():
            try:
                r = json.loads(raw)
            except ValueError:
                continue
            runs += r.get("event") == "run_start"
            if "item" in r:
                last[r["item"]] = r["outcome"]
                seen[r["item"]] += r["outcome"] == "done"
        done_twice += sum(1 for n in seen.values() if n > 1)
        retried += runs > 1
        finals.update(last.values())
    return done_twice, retried, finals


async def on_workers(
    proc: FleetProcess, setup: dict[str, Any], spec: BucketSpec, workers: int, kill_at: float,
    per_portal: int, job_timeout: int, max_jobs: int,
) -> dict[str, Any]:
    from arq.connections import RedisSettings, create_pool

    from bitrix_bizproc.fleet.redis import RedisPortalStore
    from bitrix_bizproc.fleet.worker import collect, enqueue_terminate

    binary = shutil.which("redis-server")
    if binary is None:
        return {"skipped": "redis-server is not installed"}
    port = free_port()
    redis = start_redis(binary, port)
    journals = Path(tempfile.mkdtemp(prefix="bench-fleet-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        await asyncio.sleep(0.5)
        pool = await create_pool(RedisSettings(host="127.0.0.1", port=port))
        store = RedisPortalStore(pool)
        for member_id, answer in setup["tokens"].items():
            await store.save(member_id, tokens_of(answer), domain=f"{member_id}.bitrix24.local")
        env = {**os.environ, "PYTHONPATH": str(ROOT), "BITRIX24_CLIENT_ID": setup["client_id"],
               "BITRIX24_CLIENT_SECRET": setup["client_secret"], "BITRIX24_TOKEN_URL": setup["token_url"]}
        command = [sys.executable, "-m", "bitrix_bizproc.cli", "worker", "--redis",
                   f"redis://127.0.0.1:{port}/0", "--journal-dir", str(journals), "--plan", "off",
                   "--max-jobs", str(max_jobs), "--job-timeout", str(job_timeout)]
        procs = start_workers(command, env, workers)
        members = list(setup["tokens"])
        started = time.perf_counter()
        jobs = await enqueue_terminate(pool, members, run_id="bench", filter=FILTER,
                                       plans=dict.fromkeys(members, spec))
        total = len(members) * per_portal
        killed_at = None
        while killed_at is None:
            done = proc.ask("terminated")
            if done >= kill_at * total:
                procs[0].send_signal(signal.SIGKILL)
                procs[0].wait()
                killed_at = done
            else:
                await asyncio.sleep(0.05)
        report = await collect(jobs, wait=job_timeout * 4, poll_delay=0.5)
        wall = time.perf_counter() - started
        counters = proc.ask("counters")
        line = summarise(f"{workers} arq workers", counters, wall, spec, per_portal)
        done_twice, retried, finals = audit_journals(journals)
        line.update(
            killed_after_terminated=killed_at,
            portal_jobs_ok=len(report.portals) - sum(not r.ok for r in report.portals.values()),
            portal_jobs_failed=len(report.failures),
            portals_resumed_after_the_kill=retried,
            journal_final_outcomes=dict(finals),
            items_recorded_done_twice=done_twice,
            terminate_commands=sum(c["terminate_commands"] for c in counters.values()),
            wall_includes_the_in_progress_expiry_s=job_timeout + 10,
        )
        await pool.aclose()
        return line
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        redis.terminate()
        redis.wait()
        shutil.rmtree(journals, ignore_errors=True)


async def main(args: argparse.Namespace) -> None:
    spec = BucketSpec(rate=args.rate, burst=args.burst, jitter_allowance=args.jitter)
    proc = FleetProcess()
    try:
        base = {"rate": args.rate, "burst": args.burst, "per_portal": args.per_portal}
        setup = proc.ask("setup", {**base, "portals": args.portals, "prefix": "a"})
        report, wall = await one_process(setup, spec, args.portals_at_once)
        line = summarise("one process", proc.ask("counters"), wall, spec, args.per_portal)
        line.update(report_ok=report.ok, report_done=report.counts.get("done", 0))
        print(json.dumps(line))
        print(json.dumps({"run": "memory per idle client", **await memory_per_client(setup, spec)}))
        if args.arq_portals:
            setup = proc.ask("setup", {**base, "portals": args.arq_portals, "prefix": "b"})
            line = await on_workers(proc, setup, spec, args.workers, args.kill_at, args.per_portal,
                                    args.job_timeout, args.max_jobs)
            print(json.dumps(line))
    finally:
        proc.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--portals", type=int, default=1000)
    parser.add_argument("--per-portal", type=int, default=100)
    parser.add_argument("--rate", type=float, default=0.5, help="each portal's drain, requests/s")
    parser.add_argument("--burst", type=int, default=2, help="each portal's burst")
    parser.add_argument("--jitter", type=float, default=0.05, help="the client's jitter allowance, s")
    parser.add_argument("--portals-at-once", type=int, default=1000)
    parser.add_argument("--arq-portals", type=int, default=1000, help="0: skip the arq run")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--kill-at", type=float, default=0.3, help="share terminated when one worker dies")
    parser.add_argument("--job-timeout", type=int, default=45)
    parser.add_argument("--max-jobs", type=int, default=250, help="portal jobs at once per worker")
    asyncio.run(main(parser.parse_args()))
