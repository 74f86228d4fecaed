"""The client's own CPU per single call, with no network: what is ours in ``client.call`` and the typed call.

The transport is a stub that answers every request with the bench portal's ``user.get`` answer (user 1, as
``benchmarks/_harness.PortalProcess`` seeds it), so ``time.process_time()`` counts only our work: checks,
encoding, the session, the envelope, the operating budget and, for the typed call, building the ``User``.
``floor`` does what any client must (``json.dumps`` the params, ``json.loads`` the answer) through the same
stub. Load on a shared machine shifts wall time, hardly CPU time; each side runs in interleaved rounds and
the best round is shown.

    python benchmarks/bench_call_cpu.py                     # 3,000 calls a round, 9 rounds
    python benchmarks/bench_call_cpu.py --profile typed     # and the top of a cProfile of the typed call
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import pstats
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bitrix_bizproc import BizprocClient
from bitrix_bizproc._transport import HttpRequest, HttpResponse

METHOD, PARAMS = "user.get", {"FILTER": {"ID": 1}}
# The emulated portal's answer to user.get for its user 1 (bytes as it sends them).
ANSWER = json.dumps(
    {
        "result": [
            {
                "ID": "1", "ACTIVE": True, "NAME": "Anna", "LAST_NAME": "Petrova", "SECOND_NAME": "",
                "EMAIL": "", "LAST_LOGIN": None, "DATE_REGISTER": "2026-11-28T00:20:54+03:00",
                "TIME_ZONE": "", "IS_ONLINE": "N", "TIMESTAMP_X": "28.11.2026 00:20:54",
                "LAST_ACTIVITY_DATE": "", "PERSONAL_GENDER": "", "PERSONAL_WWW": "", "PERSONAL_BIRTHDAY": "",
                "PERSONAL_MOBILE": "", "PERSONAL_CITY": "", "WORK_PHONE": "", "WORK_POSITION": "",
                "UF_EMPLOYMENT_DATE": "", "UF_DEPARTMENT": [1], "USER_TYPE": "employee",
            }
        ],
        "total": 1,
        "time": {
            "start": 1795814454.568578, "finish": 1795814454.569213, "duration": 0.0006349086761474609,
            "processing": 0.0006182139986776747, "date_start": "2026-11-28T00:20:54+03:00",
            "date_finish": "2026-11-28T00:20:54+03:00", "operating_reset_at": 1795815054, "operating": 0.0,
        },
    },
    separators=(",", ":"),
).encode()  # fmt: skip


class StubTransport:
    """Answers every request at once with :data:`ANSWER`."""

    async def send(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(200, ANSWER, {})

    async def aclose(self) -> None:
        return None


async def run(n: int, rounds: int, profile: str | None) -> None:
    stub = StubTransport()
    url = "https://example.bitrix24.ru/rest/1/abcdefgh12345678/"
    async with BizprocClient.from_webhook(url, limiter="off", transport=stub) as client:

        async def floor() -> Any:
            request = HttpRequest("POST", url + METHOD, json.dumps(PARAMS).encode())
            return json.loads((await stub.send(request)).body)["result"]

        async def call() -> Any:
            return (await client.call(METHOD, PARAMS)).result

        async def typed() -> Any:
            return await client.users.get(1)

        sides: dict[str, Callable[[], Awaitable[Any]]] = {"floor": floor, "call": call, "typed": typed}
        for one in sides.values():  # warm up
            for _ in range(300):
                await one()
        if profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(n):
                await sides[profile]()
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
            return
        best = dict.fromkeys(sides, float("inf"))
        for _ in range(rounds):
            for name, one in sides.items():
                gc.collect()
                started = time.process_time()
                for _ in range(n):
                    await one()
                best[name] = min(best[name], (time.process_time() - started) / n * 1e6)
        for name, us in best.items():
            over = us - best["floor"]
            print(f"{name:<6} {us:6.1f} us CPU per call ({over:+.1f} us over the floor; best of {rounds})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--profile", choices=["call", "typed"], help="print a cProfile of one more round")
    args = parser.parse_args()
    asyncio.run(run(args.calls, args.rounds, args.profile))


if __name__ == "__main__":
    main()
