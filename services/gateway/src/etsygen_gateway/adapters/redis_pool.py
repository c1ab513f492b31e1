"""The gateway's Redis client: a bounded, blocking connection pool.

Every request makes a rate-limit call and usually a cache read, so a burst of requests is a burst of Redis
commands. An unbounded pool opens a connection per concurrent command (and redis-py refuses past its
default maximum); a blocking pool of a fixed size makes commands queue briefly for a connection instead,
and gives up after ``wait_s`` (then the limiter fails open and the cache is bypassed).
"""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis

from etsygen_common.settings import RedisSettings


def create_gateway_redis(settings: RedisSettings, *, max_connections: int = 64, wait_s: float = 1.0) -> Redis:
    """An asyncio Redis client on a blocking pool of ``max_connections``."""
    pool = BlockingConnectionPool.from_url(
        settings.url,
        max_connections=max_connections,
        timeout=wait_s,
        socket_connect_timeout=1.0,
        socket_timeout=1.0,
        health_check_interval=30,
    )
    return Redis(connection_pool=pool, decode_responses=False)
