"""1,000 concurrent robot calls answered through a BitrixApp: how many requests reach the portal.

The emulated portal starts N workflows whose template holds the app's robot; each POSTs to the app
(aiohttp adapter, over loopback), whose handler returns a value that ``call.reply`` sends with
``bizproc.event.send``. Concurrent replies to one portal share ``batch`` requests (the app's client
coalesces them for ``reply_window`` seconds, up to 50 a request). Side by side, a baseline of N/10 calls
answered one request each (coalescing off). Prints, for each: calls, requests to the portal (the app's
client's HTTP requests), calls per request, workflows completed, and wall time (informative only).
Target: N=1,000 answered with at most 25 requests.

    .venv/bin/python benchmarks/bench_apps.py              # 1,000 calls (baseline 100)
    .venv/bin/python benchmarks/bench_apps.py --calls 200
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from aiohttp import web

from bitrix_bizproc.apps import BitrixApp, Property, RobotCall, aiohttp_app
from bitrix_bizproc.emulator import EmulatedPortal

DEAL = ("crm", "CCrmDocumentDeal", "DEAL")
TARGET = 25


async def run(calls: int, *, coalesce: bool) -> tuple[int, int, float]:
    """(requests to the portal, workflows completed, seconds) for ``calls`` robot calls."""
    async with EmulatedPortal() as portal:
        app = BitrixApp(
            client_id=portal.oauth_app.client_id,
            client_secret=portal.oauth_app.client_secret,
            handler_url="http://127.0.0.1/",
            token_url=portal.token_url,
            limiter="standard" if coalesce else "off",
        )

        @app.robot(
            "double",
            name="Double",
            properties={"n": Property(name="N", type="int")},
            return_properties={"twice": Property(name="Twice", type="int")},
        )
        async def double(call: RobotCall) -> dict[str, Any]:
            return {"twice": 2 * call.properties["n"]}

        web_app = web.Application()
        web_app.add_subapp("/b24/", aiohttp_app(app))
        runner = web.AppRunner(web_app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        try:
            app.handler_url = f"http://127.0.0.1:{runner.addresses[0][1]}/b24/"
            await portal.robots.install(app.handler_url)
            member = portal.config.member_id
            await app.sync(member)
            client = await app.client_for(member)
            client.auto_batch = coalesce
            before = client.stats.requests
            step = {"activity": "RestActivity", "code": "double", "properties": {"n": "21"}}
            template = portal.state.add_template("doubling", DEAL, tasks=[step])
            started = time.perf_counter()
            for i in range(calls):
                portal.state.start_workflow(template, f"DEAL_{i}", 1)
            async with asyncio.timeout(300):
                while True:  # the workflows complete as the replies arrive
                    if portal.state.counts()["completed"] >= calls:
                        break
                    await asyncio.sleep(0.01)
            seconds = time.perf_counter() - started
            answered = [r for r in portal.robots.runs if str((r.return_values or {}).get("twice")) == "42"]
            assert len(answered) == portal.state.counts()["completed"]
            return client.stats.requests - before, len(answered), seconds
        finally:
            await runner.cleanup()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000)
    args = parser.parse_args()
    rows = [
        ("coalesced (reply_window 0.25 s)", args.calls, *await run(args.calls, coalesce=True)),
        ("baseline (one request a reply)", args.calls // 10, *await run(args.calls // 10, coalesce=False)),
    ]
    print(f"{'way':32} {'calls':>6} {'requests':>9} {'calls/request':>14} {'completed':>10} {'seconds':>8}")
    for name, n, requests, completed, seconds in rows:
        ratio = n / requests if requests else float("inf")
        print(f"{name:32} {n:6d} {requests:9d} {ratio:14.1f} {completed:10d} {seconds:8.2f}")
    coalesced = rows[0]
    verdict = "OK" if coalesced[2] <= TARGET and coalesced[3] == coalesced[1] else "MISSED"
    print(f"target: {coalesced[1]} calls answered with <= {TARGET} requests: {verdict}")


if __name__ == "__main__":
    asyncio.run(main())
