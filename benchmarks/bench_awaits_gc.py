"""How much of ``auto_batch`` awaits' start is Python's cyclic garbage collector, against asyncio alone.

From the call of ``asyncio.gather(*(client.workflows.terminate(wf) ...))`` (the calls built inside it, as a
user writes it) to the first batch handed to a transport that answers at once: the time, the part of it
spent in collections, and the full (generation 2) collections among them. The same for 10,000 gathered
empty coroutines (to their first step), and for the awaits with the collector off in that window.

Each live object counts towards the collector's thresholds: a gathered call holds a few of ours (the
call, its parameters, the handle, its future) besides asyncio's own, enough to set off a full collection
of the whole heap before the first request leaves, where empty coroutines set off none.

    python benchmarks/bench_awaits_gc.py
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time
from typing import Any

from _harness import gated_gather
from bench_first_send import URL, InstantTransport

from bitrix_bizproc import BizprocClient
from bitrix_bizproc._transport import HttpRequest, HttpResponse


class FirstSend(InstantTransport):
    """Sets ``sent`` when a request arrives."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = asyncio.Event()

    async def send(self, request: HttpRequest) -> HttpResponse:
        self.sent.set()
        return await super().send(request)


class _Collections:
    """Seconds spent in collections while active, and how many were full ones."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.full = 0
        self._since = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._since = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._since
            self.full += info["generation"] == 2


async def awaits(ids: list[str], collect: bool) -> tuple[float, float, int]:
    transport = FirstSend()
    async with BizprocClient.from_webhook(URL, limiter="off", transport=transport, auto_batch=True) as client:
        await asyncio.gather(*(client.workflows.terminate(wf) for wf in ids[:100]))  # warm: lazy imports
        transport.first = None
        transport.sent.clear()
        gc.collect()
        seen = _Collections()
        gc.callbacks.append(seen)
        if not collect:
            gc.disable()
        started = time.perf_counter()
        gathered = asyncio.gather(*(client.workflows.terminate(wf) for wf in ids))
        await transport.sent.wait()
        gc.enable()
        gc.callbacks.remove(seen)
        await gathered
    assert transport.first is not None
    return transport.first - started, seen.seconds, seen.full


async def empty(n: int) -> tuple[float, float, int]:
    gc.collect()
    seen = _Collections()
    gc.callbacks.append(seen)
    started = time.perf_counter()
    gate, gathered = gated_gather(n)
    await asyncio.sleep(0)  # every coroutine has run its first step
    seconds = time.perf_counter() - started
    gc.callbacks.remove(seen)
    gate.set_result(None)
    await gathered
    return seconds, seen.seconds, seen.full


def _line(name: str, runs: list[tuple[float, float, int]]) -> str:
    return (
        f"{name:<28} {statistics.median(r[0] for r in runs) * 1e3:6.1f} ms, of it collecting "
        f"{statistics.median(r[1] for r in runs) * 1e3:5.1f} ms ({max(r[2] for r in runs)} full)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    ids = [f"{n:014x}.{n:08d}" for n in range(args.items)]
    print(_line("asyncio alone: first steps", [asyncio.run(empty(args.items)) for _ in range(args.runs)]))
    print(_line("awaits -> first send", [asyncio.run(awaits(ids, True)) for _ in range(args.runs)]))
    print(_line("  the same, collector off", [asyncio.run(awaits(ids, False)) for _ in range(args.runs)]))


if __name__ == "__main__":
    main()
