"""The breaker publishes its state to a real Redis hash ``{key_prefix}breaker:{service}:{name}``, which the
gateway's admin API reads: after every transition the hash shows the breaker's current state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from etsygen_common.breaker import Breaker, BreakerOpenError
from etsygen_common.redis_client import create_redis
from etsygen_common.settings import RedisSettings
from etsygen_common.testing.plugin import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
async def redis(redis_url: str, redis_prefix: str) -> AsyncIterator[Any]:
    client = create_redis(RedisSettings(url=redis_url, key_prefix=redis_prefix))
    yield client
    await client.aclose()


async def _hash(redis: Any, key: str) -> dict[str, str]:
    raw = await redis.hgetall(key)
    return {k.decode(): v.decode() for k, v in raw.items()}


async def _published(b: Breaker) -> bool:
    """No state write is still in flight."""
    return not b._tasks


async def test_state_hash_follows_open_half_open_and_closed(redis: Any, redis_prefix: str) -> None:
    b = Breaker("ai-openai", service="generator", fail_max=2, reset_timeout_s=0.3, key_prefix=redis_prefix)
    b.attach_redis(redis)
    key = f"{redis_prefix}breaker:generator:ai-openai"

    async def down() -> None:
        raise ConnectionError("refused")

    async def up() -> str:
        return "ok"

    for _ in range(2):
        with pytest.raises(ConnectionError):
            await b.call(down)
    await wait_until(lambda: _published(b), timeout=5, what="the open state to be written")
    opened = await _hash(redis, key)
    assert opened["state"] == "open"
    assert opened["failures"] == "2"
    assert opened["service"] == "generator"
    assert opened["name"] == "ai-openai"
    assert opened["changed_at"]
    with pytest.raises(BreakerOpenError):
        await b.call(up)

    # The trial call is instant, so "half-open" and "closed" are written back to back; the hash must end
    # with the breaker's real state, not whichever write happened to land last.
    await wait_until(lambda: b.state == "half-open", timeout=5, what="the reset timeout to elapse")
    assert await b.call(up) == "ok"
    await wait_until(lambda: _published(b), timeout=5, what="half-open and closed to be written")
    closed = await _hash(redis, key)
    assert closed["state"] == "closed"
    assert closed["failures"] == "0"
    assert float(closed["updated"]) >= float(opened["updated"])
