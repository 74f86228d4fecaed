"""The session against the emulated portal, side by side with plain aiohttp + json, in one run.

(a) N sequential calls with limits off: this client vs plain ``aiohttp`` + ``json`` (ratio, target <= 1.15x).
(b) M concurrent callers against a bucket shaped like the standard one but 50x faster (burst 50, drain
    100/s, the same on both sides): rejections seen by the portal (target 0) and efficiency =
    ideal time ((M - burst) / drain) / measured time (target >= 0.95). Plain aiohttp, which has no
    limiter, is shown for contrast.

The portal runs in a child process, so client and baseline get the same CPU and the same server.

Run: ``.venv/bin/python benchmarks/bench_session.py`` (10,000 and 2,000) or ``--quick`` (2,000 and 500).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing as mp
import time
from multiprocessing.connection import Connection
from typing import Any

import aiohttp

from bitrix_bizproc import BizprocClient, BucketSpec
from bitrix_bizproc.emulator import EmulatedPortal, Plan, PortalConfig

METHOD = "user.get"
PARAMS: dict[str, Any] = {"FILTER": {"ID": 1}}
BURST, DRAIN = 50, 100.0


# -- the portal, in a child process -------------------------------------------------------------
async def _serve(conn: Connection) -> None:
    loop = asyncio.get_running_loop()
    async with EmulatedPortal(PortalConfig()) as portal:
        conn.send(portal.webhook_url)
        while True:
            command, arg = await loop.run_in_executor(None, conn.recv)
            if command == "plan":
                portal.config.plan = Plan.custom(*arg) if arg else Plan.named("unlimited")
                portal.reset_limits()
                portal.counters.reset()
                conn.send(None)
            elif command == "counters":
                conn.send(portal.counters.snapshot())
            else:
                conn.send(None)
                return


def _portal_process(conn: Connection) -> None:
    asyncio.run(_serve(conn))


class PortalProcess:
    """Start, configure and read the child's portal."""

    def __init__(self) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_portal_process, args=(child,), daemon=True)
        self._proc.start()
        self.webhook_url: str = self._conn.recv()

    def ask(self, command: str, arg: Any = None) -> Any:
        self._conn.send((command, arg))
        return self._conn.recv()

    def stop(self) -> None:
        self.ask("stop")
        self._proc.join(timeout=10)
        if self._proc.is_alive():
            self._proc.terminate()


# -- (a) sequential calls ------------------------------------------------------------------------
async def plain_sequential(url: str, n: int) -> float:
    """Plain aiohttp + json: POST the JSON body, read the answer, decode it, check for an error."""
    async with aiohttp.ClientSession() as http:
        target = url + METHOD
        headers = {"Content-Type": "application/json"}
        started = time.perf_counter()
        for _ in range(n):
            async with http.post(target, data=json.dumps(PARAMS), headers=headers) as resp:
                data = json.loads(await resp.read())
                if "error" in data:
                    raise RuntimeError(data["error"])
        return time.perf_counter() - started


async def client_sequential(url: str, n: int) -> float:
    """This client with limits off."""
    async with BizprocClient.from_webhook(url, limiter="off") as client:
        started = time.perf_counter()
        for _ in range(n):
            await client.call(METHOD, PARAMS)
        return time.perf_counter() - started


async def sequential(portal: PortalProcess, n: int, rounds: int) -> tuple[float, float]:
    """Alternate baseline and client in rounds (warm-up first); total seconds of each."""
    portal.ask("plan", None)
    url = portal.webhook_url
    await plain_sequential(url, 200)
    await client_sequential(url, 200)
    plain = client = 0.0
    per_round = n // rounds
    for _ in range(rounds):
        gc.collect()
        plain += await plain_sequential(url, per_round)
        gc.collect()
        client += await client_sequential(url, per_round)
    return plain, client


# -- (b) concurrent callers against the bucket --------------------------------------------------
async def client_concurrent(url: str, n: int) -> float:
    async with BizprocClient.from_webhook(url, limiter=BucketSpec(rate=DRAIN, burst=BURST)) as client:
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
        plain, client = await sequential(portal, n_seq, rounds=10)
        print(f"(a) {n_seq:,} sequential calls of {METHOD}, limits off (portal in a child process)")
        print(f"    plain aiohttp + json : {plain:6.2f} s  {n_seq / plain:7,.0f} calls/s")
        print(f"    BizprocClient        : {client:6.2f} s  {n_seq / client:7,.0f} calls/s")
        print(f"    ratio client/plain   : {client / plain:.3f}x   (target <= 1.15x)")

        ideal = (n_conc - BURST) / DRAIN
        print(f"(b) {n_conc:,} concurrent callers, bucket burst {BURST} drain {DRAIN:g}/s on both sides")
        portal.ask("plan", (DRAIN, BURST, None))
        measured = await client_concurrent(portal.webhook_url, n_conc)
        counters = portal.ask("counters")
        rejected = counters["rejections"].get("QUERY_LIMIT_EXCEEDED", 0)
        print(f"    BizprocClient        : {measured:6.2f} s  rejections {rejected}  "
              f"efficiency {ideal / measured:.3f}   (targets: 0 and >= 0.95; ideal {ideal:.2f} s)")
        portal.ask("plan", (DRAIN, BURST, None))
        plain_time = await plain_concurrent(portal.webhook_url, n_conc)
        counters = portal.ask("counters")
        rejected = counters["rejections"].get("QUERY_LIMIT_EXCEEDED", 0)
        print(f"    plain aiohttp        : {plain_time:6.2f} s  rejections {rejected} of {n_conc} (no limiter)")
    finally:
        portal.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 sequential calls and 500 callers")
    asyncio.run(main(parser.parse_args().quick))
