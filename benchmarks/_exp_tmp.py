import asyncio, sys, gc, time, json
sys.path.insert(0, "/work/main/benchmarks")
import bench_session as b
import aiohttp
from bitrix_bizproc import BizprocClient
from bitrix_bizproc._transport import HttpRequest
async def client_shared(url, n):
    async with aiohttp.ClientSession() as http:
        async with BizprocClient.from_webhook(url, limiter="off", http_session=http) as client:
            t=time.perf_counter()
            for _ in range(n): await client.call(b.METHOD, b.PARAMS)
            return time.perf_counter()-t
async def transport_only(url, n):
    async with BizprocClient.from_webhook(url, limiter="off") as client:
        tr = client.session.transport
        body = json.dumps(b.PARAMS).encode()
        t=time.perf_counter()
        for _ in range(n): r = await tr.send(HttpRequest("POST", url + b.METHOD, body)); json.loads(r.body)
        return time.perf_counter()-t
async def run(portal):
    portal.ask("plan", None)
    url = portal.webhook_url
    fns = [b.plain_sequential, b.client_sequential, client_shared, transport_only]
    tot = {f.__name__: 0.0 for f in fns}
    for f in fns: await f(url, 300)
    for i in range(5):
        for f in fns:
            gc.collect(); tot[f.__name__] += await f(url, 1000)
    for k, v in tot.items(): print(k, round(v, 3), round(v / tot["plain_sequential"], 3))
if __name__ == "__main__":
    p = b.PortalProcess()
    try: asyncio.run(run(p))
    finally: p.stop()
