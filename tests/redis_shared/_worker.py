"""One worker process of the shared-limit tests: a client of the portal, paced by a shared or a local bucket.

Usage: ``python _worker.py <webhook_url> <redis_port> <key|-> <calls> <rate> <burst>``; ``-`` as the key
means a naive local limiter. Prints ``ready``, waits for a line on stdin (so that every worker starts
at once), makes the calls concurrently and prints a JSON summary.
"""

from __future__ import annotations

import asyncio
import json
import sys

from redis.asyncio import Redis

from bitrix_bizproc import BizprocClient, BucketSpec
from bitrix_bizproc.redis import RedisBucket


async def main(url: str, port: int, key: str, calls: int, rate: float, burst: int) -> None:
    spec = BucketSpec(rate=rate, burst=burst)
    redis = Redis(host="127.0.0.1", port=port)
    limiter = spec if key == "-" else RedisBucket(redis, key, spec)
    async with BizprocClient.from_webhook(url, limiter=limiter) as client:
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        outcomes = await asyncio.gather(
            *(client.call("user.get", {"ID": i}) for i in range(calls)), return_exceptions=True
        )
        failed = [type(o).__name__ for o in outcomes if isinstance(o, BaseException)]
        summary = {"ok": calls - len(failed), "failed": failed, "requests": client.stats.requests}
    await redis.aclose()
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    url, port, key, calls, rate, burst = sys.argv[1:7]
    asyncio.run(main(url, int(port), key, int(calls), float(rate), int(burst)))
