"""Instructions (counted by valgrind's callgrind) one single call costs, through bench_call_cpu's stub.

Load on a shared machine does not change an instruction count, so before and after can be compared on a
busy one. Each figure is a whole process minus one that stops before the work (``setup``): ``floor`` does
what any client must (``json.dumps`` the params, ``json.loads`` the answer), ``call`` is ``client.call``
and ``typed`` is ``client.users.get(1)``; each is warmed first, as bench_call_cpu's sides are.

    python benchmarks/ir_call.py             # needs valgrind; a minute or two
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
from typing import Any

from _harness import callgrind_instructions
from bench_call_cpu import METHOD, PARAMS, StubTransport

from bitrix_bizproc import BizprocClient
from bitrix_bizproc._transport import HttpRequest

MODES = ("setup", "floor", "call", "typed")
URL = "https://example.bitrix24.ru/rest/1/abcdefgh12345678/"


async def _child(mode: str, n: int) -> None:
    stub = StubTransport()
    async with BizprocClient.from_webhook(URL, limiter="off", transport=stub) as client:

        async def floor() -> Any:
            request = HttpRequest("POST", URL + METHOD, json.dumps(PARAMS).encode())
            return json.loads((await stub.send(request)).body)["result"]

        async def call() -> Any:
            return (await client.call(METHOD, PARAMS)).result

        async def typed() -> Any:
            return await client.users.get(1)

        sides = {"floor": floor, "call": call, "typed": typed}
        for one in sides.values():  # warm: lazy imports, caches, compiled readers
            for _ in range(300):
                await one()
        gc.collect()
        if mode != "setup":
            one = sides[mode]
            for _ in range(n):
                await one()
    os._exit(0)


def _count(mode: str, n: int) -> int:
    return callgrind_instructions(__file__, "--child", mode, "--calls", str(n))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--child", choices=MODES)
    args = parser.parse_args()
    if args.child:
        asyncio.run(_child(args.child, args.calls))
        return
    counts = {mode: _count(mode, args.calls) for mode in MODES}
    per = {mode: (counts[mode] - counts["setup"]) / args.calls for mode in MODES[1:]}
    for mode, ir in per.items():
        over = f" ({(ir - per['floor']) / 1e3:+.1f} k over the floor)" if mode != "floor" else ""
        print(f"{mode:<6} {ir / 1e3:6.1f} k instructions per call{over}")


if __name__ == "__main__":
    main()
