"""What the Redis helpers share: argument checks and Redis failures turned into typed errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ..protocol.errors import ConfigurationError, ConfigurationTypeError, TransportError

__all__ = ["check_client", "check_key", "redis_failures"]


def check_client(client: object) -> Redis:
    """``client`` if it is an asyncio Redis client; a :class:`ConfigurationTypeError` otherwise."""
    if not isinstance(client, Redis):
        raise ConfigurationTypeError(
            f"expected a redis.asyncio.Redis client, not {type(client).__module__}.{type(client).__name__}"
        )
    return client


def check_key(key: object, what: str = "key") -> str:
    """``key`` if it is a non-empty string."""
    if not isinstance(key, str) or not key:
        raise ConfigurationError(f"{what} must be a non-empty string, got {key!r}")
    return key


@contextmanager
def redis_failures(doing: str) -> Iterator[None]:
    """Re-raise a Redis failure while ``doing`` something as a :class:`TransportError`."""
    try:
        yield
    except RedisError as exc:
        raise TransportError(
            f"Redis failed while {doing}: {type(exc).__name__}: {exc}", code="REDIS_UNAVAILABLE"
        ) from exc
