"""Redis client factory (asyncio)."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis

from etsygen_common.settings import RedisSettings


def create_redis(settings: RedisSettings, *, max_connections: int = 50) -> Redis:
    """Create an asyncio Redis client with short timeouts: Redis is an accelerator, never the source of
    truth, so callers must be able to give up quickly and degrade. The pool is bounded: under load callers
    wait (up to the timeout) for a free connection instead of opening connections without limit."""
    pool = BlockingConnectionPool.from_url(
        settings.url,
        max_connections=max_connections,
        timeout=1.0,
        socket_connect_timeout=1.0,
        socket_timeout=1.0,
        health_check_interval=30,
    )
    return Redis(connection_pool=pool)
