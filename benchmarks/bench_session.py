"""The session against the emulated portal, side by side with plain aiohttp + json, in one run.

(a) N sequential calls with limits off: this client vs plain ``aiohttp`` + ``json`` (ratio, target <= 1.15x).
(b) M concurrent callers against a bucket shaped like the standard one but 50x faster (burst 50, drain
    100/s, the same on both sides; the client's jitter allowance sped up alike): rejections seen by the
    portal (target 0), the fullest its bucket got, and efficiency = ideal time ((M - burst) / drain) /
    measured time (target >= 0.95). Plain aiohttp, which has no limiter, is shown for contrast.

The portal runs in a child process, so client and baseline get the same CPU and the same server.

Run: ``.venv/bin/python benchmarks/bench_session.py`` (10,000 and 2,000) or ``--quick`` (2,000 and 500).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from _harness import PortalProcess

from bitrix_bizproc import BizprocClient, BucketSpec

METHOD = "user.get"
PARAMS: dict[str, Any] = {"FILTER": {"ID": 1}}
BURST, DRAIN = 50, 100.0
JITTER = 1.5 / 50  # the client's default jitter allowance, sped up like the bucket
SPEC = BucketSpec(rate=DRAIN, burst=BURST, jitter_allowance=JITTER)


# -- (a) sequential calls ------------------------------------------------------------------------
Timing = tuple[float, float]  # wall seconds, CPU seconds of this (the client's) process


async def _timed(calls: int, one: Callable[[], Awaitable[object]]) -> Timing:
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        await one()
    return time.perf_counter() - wall, time.process_time() - cpu


async def sequential(portal: PortalProcess, n: int, rounds: int) -> tuple[Timing, Timing]:
    """Plain aiohttp + json vs this client (limits off), interleaved in short rounds to cancel drift."""
    portal.plan(None)
    url = portal.webhook_url
    target, headers = url + METHOD, {"Content-Type": "application/json"}
    async with aiohttp.ClientSession() as http, BizprocClient.from_webhook(url, limiter="off") as client:

        async def plain() -> object:  # POST the JSON body, read and decode the answer, check for an error
            async with http.post(target, data=json.dumps(PARAMS), headers=headers) as resp:
                data = json.loads(await resp.read())
                if "error" in data:
                    raise RuntimeError(data["error"])
                return data["result"]

        async def ours() -> object:
            return (await client.call(METHOD, PARAMS)).result

        await _timed(200, plain)  # warm up both sides
        await _timed(200, ours)
        totals = {plain: [0.0, 0.0], ours: [0.0, 0.0]}
        for i in range(rounds):
            for side in (plain, ours) if i % 2 == 0 else (ours, plain):
                wall, cpu = await _timed(n // rounds, side)
                totals[side][0] += wall
                totals[side][1] += cpu
    return (totals[plain][0], totals[plain][1]), (totals[ours][0], totals[ours][1])


# -- (b) concurrent callers against the bucket --------------------------------------------------
async def client_concurrent(url: str, n: int) -> float:
    async with BizprocClient.from_webhook(url, limiter=SPEC) as client:
        started = time.perf_counter()
        await asyncio.gather(*(client.call(METHOD, PARAMS) for _ in range(n)))
        return time.perf_counter() - started


async def plain_concurrent(url: str, n: int) -> float:
    async with aiohttp.ClientSession() as http:

        async def one() -> None:
            async with http.post(url + METHOD, json=PARAMS) as resp:
                await resp.read()

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(n)))
        return time.perf_counter() - started


async def main(quick: bool) -> None:
    n_seq, n_conc = (2_000, 500) if quick else (10_000, 2_000)
    portal = PortalProcess()
    try:
        (plain, plain_cpu), (ours, ours_cpu) = await sequential(portal, n_seq, rounds=20)
        print(f"(a) {n_seq:,} sequential calls of {METHOD}, limits off (portal in a child process)")
        for name, wall, cpu in (
            ("plain aiohttp + json", plain, plain_cpu),
            ("BizprocClient", ours, ours_cpu),
        ):
            print(f"    {name:21s}: {wall:6.2f} s  {n_seq / wall:7,.0f} calls/s  client CPU {cpu:5.2f} s")
        print(
            f"    ratio client/plain   : {ours / plain:.3f}x wall (target <= 1.15x), "
            f"{ours_cpu / plain_cpu:.3f}x client CPU"
        )

        ideal = (n_conc - BURST) / DRAIN
        print(f"(b) {n_conc:,} concurrent callers, bucket burst {BURST} drain {DRAIN:g}/s on both sides")
        portal.plan(DRAIN, BURST)
        measured = await client_concurrent(portal.webhook_url, n_conc)
        counters = portal.counters()
        rejected = counters["rejections"].get("QUERY_LIMIT_EXCEEDED", 0)
        print(
            f"    BizprocClient        : {measured:6.2f} s  rejections {rejected}  "
            f"efficiency {ideal / measured:.3f}   (targets: 0 and >= 0.95; ideal {ideal:.2f} s)\n"
            f"    portal bucket peak   : {counters['peak_level']:.1f} pending (it refuses above {BURST}); "
            f"client capacity {SPEC.capacity} by send time, {BURST} by answer"
        )
        portal.plan(DRAIN, BURST)
        plain_time = await plain_concurrent(portal.webhook_url, n_conc)
        counters = portal.counters()
        rejected = counters["rejections"].get("QUERY_LIMIT_EXCEEDED", 0)
        print(
            f"    plain aiohttp        : {plain_time:6.2f} s  rejections {rejected} of {n_conc} (no limiter)"
        )
    finally:
        portal.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 sequential calls and 500 callers")
    asyncio.run(main(parser.parse_args().quick))
