"""One portal's rate budget and OAuth tokens shared between processes through Redis (extra ``redis``).

::

    from redis.asyncio import Redis
    from bitrix_bizproc.redis import RedisBucket, RedisTokenStore

    r = Redis.from_url("redis://localhost:6379/0")
    client = BizprocClient.from_oauth(
        client_id=..., client_secret=...,
        token_store=RedisTokenStore(r, key="bizproc:tokens:portal-1"),
        limiter=RedisBucket(r, key="bizproc:bucket:portal-1", spec="standard"),
    )
"""

from __future__ import annotations

try:
    import redis.asyncio  # noqa: F401
    from redis import __version__ as _redis_version
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "bitrix_bizproc.redis needs redis-py >= 5 (redis.asyncio): pip install 'bitrix_bizproc[redis]'"
    ) from exc

if int(_redis_version.split(".")[0]) < 5:  # pragma: no cover - depends on the environment
    raise ImportError(
        f"bitrix_bizproc.redis needs redis-py >= 5, found {_redis_version}: "
        "pip install -U 'bitrix_bizproc[redis]'"
    )

from ._bucket import RedisBucket
from ._lock import RedisLock
from ._tokens import RedisTokenStore

__all__ = ["RedisBucket", "RedisLock", "RedisTokenStore"]
