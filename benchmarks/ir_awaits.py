"""Instructions (counted by valgrind's callgrind) that ``auto_batch`` awaits of 10,000 terminations cost.

Load on a shared machine does not change an instruction count, so before and after can be compared on a
busy one. Each figure is a whole process (callgrind counts everything) minus one that stops before the
work; each process ends with ``os._exit`` at its mark:

- ``first``: the calls built in ``gather``'s argument, ``gather``, each call's first step, up to the first
  batch handed to a transport that answers at once;
- ``full``: the whole run, answers delivered and every caller woken;
- ``asyncio``: 10,000 gathered empty coroutines, up to their first step (what asyncio alone costs).

Garbage collections count too: the collector runs when enough objects are alive (see bench_awaits_gc.py).

    python benchmarks/ir_awaits.py            # needs valgrind; a few minutes
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os

from _harness import callgrind_instructions, gated_gather
from bench_first_send import URL, InstantTransport

from bitrix_bizproc import BizprocClient
from bitrix_bizproc._transport import HttpRequest, HttpResponse

MODES = ("setup", "first", "full", "asyncio")


class ExitAtFirst(InstantTransport):
    """Ends the process when the first request arrives (mode ``first``)."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode

    async def send(self, request: HttpRequest) -> HttpResponse:
        if self.mode == "first":
            os._exit(0)
        return await super().send(request)


async def _terminate(ids: list[str], mode: str) -> None:
    transport = ExitAtFirst(mode)
    async with BizprocClient.from_webhook(URL, limiter="off", transport=transport, auto_batch=True) as client:
        gc.collect()
        if mode in ("setup", "asyncio"):
            return
        await asyncio.gather(*(client.workflows.terminate(wf) for wf in ids))


async def _asyncio_alone(n: int) -> None:
    gc.collect()
    _, gathered = gated_gather(n)
    asyncio.get_running_loop().call_soon(os._exit, 0)  # after every coroutine's first step
    await gathered


async def _child(mode: str, n: int) -> None:
    ids = [f"{i:014x}.{i:08d}" for i in range(n)]
    await _terminate(ids[:200], "full")  # warm: lazy imports and caches, in every mode
    await _terminate(ids, mode)
    if mode == "asyncio":
        await _asyncio_alone(n)
    os._exit(0)


def _count(mode: str, n: int) -> int:
    return callgrind_instructions(__file__, "--child", mode, "--items", str(n))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--child", choices=MODES)
    args = parser.parse_args()
    if args.child:
        asyncio.run(_child(args.child, args.items))
        return
    counts = {mode: _count(mode, args.items) for mode in MODES}
    for mode in MODES[1:]:
        work = counts[mode] - counts["setup"]
        print(f"{mode:<8} {work / 1e6:8.1f} M instructions, {work / args.items / 1e3:5.1f} k per item")


if __name__ == "__main__":
    main()
