"""Redis client factory (asyncio)."""

from __future__ import annotations

from redis.asyncio import Redis

from etsygen_common.settings import RedisSettings


def create_redis(settings: RedisSettings) -> Redis:
    """Create an asyncio Redis client with short timeouts: Redis is an accelerator, never the source of
    truth, so callers must be able to give up quickly and degrade."""
    client: Redis = Redis.from_url(
        settings.url,
        socket_connect_timeout=1.0,
        socket_timeout=1.0,
        health_check_interval=30,
        decode_responses=False,
    )
    return client
