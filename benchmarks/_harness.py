"""The emulated portal in a child process, driven over a pipe: the server the benchmarks measure against.

A portal in the benchmark's own process shares its event loop with the client, so every request waits
for client work before the portal even sees it (and the client's CPU is charged for the server's). In a
child process both get a core and the portal sees requests when they arrive, as a real one does.

    with PortalProcess() as portal:               # plan "unlimited" until told otherwise
        portal.plan(rate=100.0, burst=50)         # also empties the bucket and zeroes the counters
        ids = portal.add_instances(10_000)
        ...                                       # drive portal.webhook_url
        portal.counters()["rejections"], portal.counters()["peak_level"]

``peak_level`` is the fullest the portal's request bucket has been since the last reset (the margin a
client's limiter left below the burst, as the portal itself saw it) and ``first_arrival`` the wall-clock
time it counted the first request (against a client's send time: the first request's lag).
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import re
import subprocess
import sys
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any

from bitrix_bizproc.emulator import EmulatedPortal, Plan, PortalConfig
from bitrix_bizproc.emulator.limits import LeakyBucket

__all__ = ["PortalProcess", "callgrind_instructions", "gated_gather"]

DEAL = ("crm", "CCrmDocumentDeal", "DEAL")


def callgrind_instructions(script: str, *args: str) -> int:
    """Instructions valgrind's callgrind counts for ``python script *args`` (a figure load does not move)."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, script]
    done = subprocess.run([*command, *args], capture_output=True, text=True)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise SystemExit(f"callgrind gave no count for {args}:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def gated_gather(n: int) -> tuple[asyncio.Future[None], asyncio.Future[list[bool]]]:
    """``n`` coroutines gathered, each waiting on the gate after its first step: asyncio's own start-up work.

    Set the gate's result to let them finish, then await the gathering. The probes of what asyncio alone
    costs before an awaits-based path can send (time, collections, instructions) all start these.
    """
    gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def one() -> bool:
        await gate
        return True

    return gate, asyncio.gather(*(one() for _ in range(n)))


class _PeakBucket(LeakyBucket):
    """The portal's bucket, remembering its highest level and its first request."""

    def __init__(self) -> None:
        super().__init__()
        self.peak = 0.0
        self.first: float | None = None

    def admit(self, now: float, rate: float, burst: int) -> bool:
        if self.first is None:
            self.first = now
        admitted = super().admit(now, rate, burst)
        self.peak = max(self.peak, self.level(now, rate))
        return admitted

    def reset(self) -> None:
        super().reset()
        self.peak = 0.0
        self.first = None


def _handle(portal: EmulatedPortal, bucket: _PeakBucket, command: str, arg: Any) -> Any:
    """Run one command of the parent's in the child's portal."""
    if command == "plan":
        rate, burst = arg
        portal.config.plan = Plan.custom(rate, burst, None) if rate else Plan.named("unlimited")
        portal.reset_limits()
        portal.counters.reset()
        return None
    if command == "counters":
        return {**portal.counters.snapshot(), "peak_level": bucket.peak, "first_arrival": bucket.first}
    if command == "add_instances":
        n, name = arg if isinstance(arg, tuple) else (arg, "bench")
        templates = {t.name: t.id for t in portal.state.templates}
        template_id = templates.get(name) or portal.state.add_template(name, DEAL).id
        return [w.id for w in portal.state.add_instances(n, template_id=template_id)]
    if command == "template_id":
        return next(t.id for t in portal.state.templates if t.name == arg)
    if command == "latency":
        portal.faults.set_latency(base=arg)
        return None
    raise ValueError(f"unknown command {command!r}")


async def _serve(conn: Connection) -> None:
    loop = asyncio.get_running_loop()
    async with EmulatedPortal(PortalConfig(plan=Plan.named("unlimited"))) as portal:
        bucket = portal.bucket = _PeakBucket()
        if 1 not in portal.state.users:  # a real portal's user 1 is its administrator: user.get finds a row
            portal.state.add_user("Anna", "Petrova", id=1, is_admin=True)
        conn.send(portal.webhook_url)
        while True:
            command, arg = await loop.run_in_executor(None, conn.recv)
            if command == "stop":
                conn.send(None)
                return
            try:
                conn.send(("ok", _handle(portal, bucket, command, arg)))
            except Exception as exc:  # the parent raises it
                conn.send(("error", repr(exc)))


def _main(conn: Connection) -> None:
    asyncio.run(_serve(conn))


class PortalProcess:
    """Start, configure, seed and read an emulated portal that runs in a child process."""

    def __init__(self) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_main, args=(child,), daemon=True)
        self._proc.start()
        child.close()
        self.webhook_url: str = self._conn.recv()

    def _ask(self, command: str, arg: Any = None) -> Any:
        self._conn.send((command, arg))
        status, value = self._conn.recv()
        if status != "ok":
            raise RuntimeError(f"the portal process failed on {command!r}: {value}")
        return value

    def plan(self, rate: float | None = None, burst: int = 0) -> None:
        """Set the bucket (``rate=None``: no limits), empty it and zero the counters."""
        self._ask("plan", (rate, burst))

    def counters(self) -> dict[str, Any]:
        """The portal's counters (requests, rejections by code, ...) and the bucket's ``peak_level``."""
        result: dict[str, Any] = self._ask("counters")
        return result

    def add_instances(self, n: int, template: str = "bench") -> list[str]:
        """Seed ``n`` running workflow instances (of the deal template named ``template``); their IDs."""
        ids: list[str] = self._ask("add_instances", (n, template))
        return ids

    def template_id(self, name: str) -> int:
        """The ID of the seeded template named ``name``."""
        template_id: int = self._ask("template_id", name)
        return template_id

    def latency(self, seconds: float) -> None:
        """Delay every answer by ``seconds`` (0: none)."""
        self._ask("latency", seconds)

    def stop(self) -> None:
        """Stop the child (politely, then for sure)."""
        if self._proc.is_alive():
            try:
                self._conn.send(("stop", None))
                self._conn.recv()
            except (EOFError, OSError):
                pass
            self._proc.join(timeout=10)
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(timeout=5)
        self._conn.close()

    def __enter__(self) -> PortalProcess:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
