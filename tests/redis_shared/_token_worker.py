"""One worker of the token-race test: starts from the install's first pair on a shared RedisTokenStore.

Usage: ``python _token_worker.py <redis_port> <key> <config-json> <calls>``. The config holds the OAuth app
and the starting pair (already expired, so the first call refreshes). Prints ``ready``, waits for a line
on stdin (every worker starts at once), makes the calls and prints a JSON summary.
"""

from __future__ import annotations

import asyncio
import json
import sys

from redis.asyncio import Redis

from bitrix_bizproc import BizprocClient
from bitrix_bizproc.redis import RedisTokenStore


async def main(port: int, key: str, config: dict[str, str], calls: int) -> None:
    redis = Redis(host="127.0.0.1", port=port)
    client = BizprocClient.from_oauth(
        client_id=config["client_id"],
        client_secret=config["client_secret"],
        token_url=config["token_url"],
        access_token=config["access_token"],
        refresh_token=config["refresh_token"],
        client_endpoint=config["client_endpoint"],
        expires_at=0.0,
        token_store=RedisTokenStore(redis, key),
        limiter="off",
    )
    async with client:
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        outcomes = await asyncio.gather(
            *(client.call("user.get") for _ in range(calls)), return_exceptions=True
        )
        failed = [type(o).__name__ for o in outcomes if isinstance(o, BaseException)]
    await redis.aclose()
    print(json.dumps({"ok": calls - len(failed), "failed": failed}), flush=True)


if __name__ == "__main__":
    port, key, config, calls = sys.argv[1:5]
    asyncio.run(main(int(port), key, json.loads(config), int(calls)))
