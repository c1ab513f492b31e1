"""The read cache: one recomputation for a stampede, invalidation wins races, early refresh, bypass."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from prometheus_client import REGISTRY

from etsygen_common.devstack import RedisServer
from etsygen_common.settings import RedisSettings
from etsygen_common.testing.plugin import wait_until
from etsygen_gateway.adapters.cache import ReadCache
from etsygen_gateway.adapters.redis_pool import create_gateway_redis

pytestmark = pytest.mark.integration


def sample(name: str, cache: str) -> float:
    return REGISTRY.get_sample_value(name, {"service": "gateway", "cache": cache}) or 0.0


@pytest.fixture
async def redis(redis_url: str, redis_prefix: str) -> AsyncIterator[Any]:
    client = create_gateway_redis(RedisSettings(url=redis_url, key_prefix=redis_prefix))
    yield client
    await client.aclose()


async def test_500_concurrent_reads_of_a_cold_key_compute_it_once(redis: Any, redis_prefix: str) -> None:
    # Two cache objects stand for two gateway processes: they share Redis, not memory.
    caches = [ReadCache(lambda: redis, redis_prefix), ReadCache(lambda: redis, redis_prefix)]
    calls = 0
    waiting = 0

    async def load() -> dict[str, int]:
        nonlocal calls
        calls += 1
        await wait_until(lambda: waiting == 500, timeout=10, what="all 500 readers to wait")
        return {"answer": 42}

    async def read(i: int) -> bytes:
        nonlocal waiting
        waiting += 1
        return await caches[i % 2].get_or_set("trends", "owner-1", "one:t1", 60, load)

    before = sample("etsygen_gateway_cache_recomputes_total", "trends")
    results = await asyncio.gather(*(read(i) for i in range(500)))
    assert calls == 1
    assert sample("etsygen_gateway_cache_recomputes_total", "trends") == before + 1
    assert {msgspec.json.decode(r)["answer"] for r in results} == {42}


async def test_a_hit_does_not_recompute(redis: Any, redis_prefix: str) -> None:
    cache = ReadCache(lambda: redis, redis_prefix, beta=0)
    calls = 0

    async def load() -> list[int]:
        nonlocal calls
        calls += 1
        return [calls]

    assert await cache.get_or_set("jobs", "o", "k", 60, load) == b"[1]"
    hits = (
        REGISTRY.get_sample_value(
            "etsygen_gateway_cache_requests_total", {"service": "gateway", "cache": "jobs", "result": "hit"}
        )
        or 0
    )
    assert await cache.get_or_set("jobs", "o", "k", 60, load) == b"[1]"
    assert calls == 1
    assert (
        REGISTRY.get_sample_value(
            "etsygen_gateway_cache_requests_total", {"service": "gateway", "cache": "jobs", "result": "hit"}
        )
        == hits + 1
    )


async def test_invalidation_drops_every_key_of_the_owner_only(redis: Any, redis_prefix: str) -> None:
    cache = ReadCache(lambda: redis, redis_prefix, beta=0)
    version = {"a": 1, "b": 1}

    def loader(owner: str) -> Any:
        async def load() -> int:
            return version[owner]

        return load

    for key in ("one:1", "list:x"):
        await cache.get_or_set("products", "a", key, 60, loader("a"))
    await cache.get_or_set("products", "b", "one:1", 60, loader("b"))
    version.update(a=2, b=2)
    await cache.invalidate("products", "a")
    assert await cache.get_or_set("products", "a", "one:1", 60, loader("a")) == b"2"
    assert await cache.get_or_set("products", "a", "list:x", 60, loader("a")) == b"2"
    assert await cache.get_or_set("products", "b", "one:1", 60, loader("b")) == b"1"


async def test_a_value_computed_before_an_invalidation_is_not_stored(redis: Any, redis_prefix: str) -> None:
    cache = ReadCache(lambda: redis, redis_prefix, beta=0)
    release = asyncio.Event()
    entered = asyncio.Event()

    async def slow_old_read() -> str:
        entered.set()
        await release.wait()
        return "old"

    reader = asyncio.create_task(cache.get_or_set("jobs", "o", "one:j", 60, slow_old_read))
    await entered.wait()
    await cache.invalidate("jobs", "o")  # an event committed while the reader was computing
    release.set()
    assert await reader == b'"old"'  # the reader itself gets what it computed

    async def fresh() -> str:
        return "new"

    assert await cache.get_or_set("jobs", "o", "one:j", 60, fresh) == b'"new"'


async def test_early_refresh_recomputes_before_expiry(redis: Any, redis_prefix: str) -> None:
    cache = ReadCache(lambda: redis, redis_prefix, beta=1e9)  # every hit is "about to expire"
    values = iter([1, 2])

    async def load() -> int:
        await asyncio.sleep(0.001)  # a measurable compute time: XFetch scales with it
        return next(values)

    assert await cache.get_or_set("trends", "o", "k", 60, load) == b"1"
    refreshes = (
        REGISTRY.get_sample_value(
            "etsygen_gateway_cache_requests_total",
            {"service": "gateway", "cache": "trends", "result": "early_refresh"},
        )
        or 0
    )
    assert await cache.get_or_set("trends", "o", "k", 60, load) == b"2"
    assert (
        REGISTRY.get_sample_value(
            "etsygen_gateway_cache_requests_total",
            {"service": "gateway", "cache": "trends", "result": "early_refresh"},
        )
        == refreshes + 1
    )


async def test_without_redis_reads_bypass_the_cache(tmp_path: Path, redis_prefix: str) -> None:
    server = RedisServer(tmp_path / "redis").start()
    client = create_gateway_redis(RedisSettings(url=server.url, key_prefix=redis_prefix))
    cache = ReadCache(lambda: client, redis_prefix)
    server.stop()
    calls = 0

    async def load() -> int:
        nonlocal calls
        calls += 1
        return calls

    try:
        before = (
            REGISTRY.get_sample_value(
                "etsygen_gateway_cache_requests_total",
                {"service": "gateway", "cache": "jobs", "result": "bypass"},
            )
            or 0
        )
        assert await cache.get_or_set("jobs", "o", "k", 60, load) == b"1"
        assert await cache.get_or_set("jobs", "o", "k", 60, load) == b"2"
        await cache.invalidate("jobs", "o")  # best effort: no error
    finally:
        await client.aclose()
    after = REGISTRY.get_sample_value(
        "etsygen_gateway_cache_requests_total", {"service": "gateway", "cache": "jobs", "result": "bypass"}
    )
    assert after == before + 2


async def test_the_near_cache_serves_repeats_and_forgets_on_invalidation(
    redis: Any, redis_prefix: str
) -> None:
    near = ReadCache(lambda: redis, redis_prefix, beta=0, local_ttl_s=60)
    other_process = ReadCache(lambda: redis, redis_prefix, beta=0, local_ttl_s=60)
    version = 1

    async def load() -> int:
        return version

    assert await near.get_or_set("trends", "o", "k", 60, load) == b"1"
    before = (
        REGISTRY.get_sample_value(
            "etsygen_gateway_cache_requests_total",
            {"service": "gateway", "cache": "trends", "result": "local_hit"},
        )
        or 0
    )
    assert await near.get_or_set("trends", "o", "k", 60, load) == b"1"
    after = REGISTRY.get_sample_value(
        "etsygen_gateway_cache_requests_total",
        {"service": "gateway", "cache": "trends", "result": "local_hit"},
    )
    assert after == before + 1

    version = 2
    await other_process.invalidate("trends", "o")  # Redis is clean now, but this process still remembers
    assert await near.get_or_set("trends", "o", "k", 60, load) == b"1"
    near.drop_local("trends", "o")  # what the NOTIFY of the change does in every process
    assert await near.get_or_set("trends", "o", "k", 60, load) == b"2"
