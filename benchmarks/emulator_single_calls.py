"""Single-call throughput of the emulated portal with limits off: N sequential webhook calls over loopback.

Run: ``.venv/bin/python benchmarks/emulator_single_calls.py [N] [METHOD]`` (default 5000 calls of
``bizproc.workflow.instances`` on a portal seeded with 1,000 instances). Client and portal share one
process and one event loop, so the figure is a floor for what a client sees.
"""

from __future__ import annotations

import asyncio
import sys
import time

import aiohttp

from bitrix_bizproc.emulator import EmulatedPortal


async def measure(n: int, method: str) -> None:
    """Print requests/s for ``n`` sequential calls of ``method``."""
    async with EmulatedPortal() as portal, aiohttp.ClientSession() as http:
        try:
            from bitrix_bizproc.emulator.seed import seed

            seed(portal.state, instances=1000)
        except ImportError:  # an unseeded portal still answers
            pass
        url = portal.webhook_url + method
        payload = {"select": ["ID", "TEMPLATE_ID"], "order": {"ID": "ASC"}}
        for _ in range(200):  # warm up
            async with http.post(url, json=payload) as response:
                await response.read()
        started = time.perf_counter()
        for _ in range(n):
            async with http.post(url, json=payload) as response:
                await response.read()
                assert response.status == 200, await response.text()
        elapsed = time.perf_counter() - started
        print(f"{n} sequential calls of {method}: {elapsed:.2f} s, {n / elapsed:,.0f} requests/s")
        print(f"counters: {portal.counters.snapshot()['commands']} commands")


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    name = sys.argv[2] if len(sys.argv) > 2 else "bizproc.workflow.instances"
    asyncio.run(measure(count, name))
