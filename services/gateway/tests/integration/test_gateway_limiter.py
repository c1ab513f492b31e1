"""The Redis rate limiter: exact under concurrency, all tiers or none, and failing open without Redis."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from etsygen_common.devstack import RedisServer
from etsygen_common.settings import RedisSettings
from etsygen_common.testing.plugin import wait_until
from etsygen_gateway.adapters.limiter import RateLimiter
from etsygen_gateway.adapters.redis_pool import create_gateway_redis
from etsygen_gateway.domain.ratelimit import Tier, TierResult, gcra, result_from

pytestmark = pytest.mark.integration


@pytest.fixture
async def redis(redis_url: str, redis_prefix: str) -> AsyncIterator[Any]:
    client = create_gateway_redis(RedisSettings(url=redis_url, key_prefix=redis_prefix))
    yield client
    await client.aclose()


async def test_concurrent_requests_admit_exactly_the_limit(redis: Any, redis_prefix: str) -> None:
    limiter = RateLimiter(lambda: redis, redis_prefix)
    tier = Tier(name="api", limit=100, window_s=900)
    decisions = await asyncio.gather(*(limiter.check([(tier, "key:k1")]) for _ in range(200)))
    admitted = [d for d in decisions if d.allowed]
    assert len(admitted) == 100
    assert sorted(d.results[0].remaining for d in admitted) == list(range(100))
    refused = [d for d in decisions if not d.allowed]
    assert all(d.retry_after_s == 9 for d in refused)  # one emission interval of 900 s / 100


async def test_tiers_are_spent_together_or_not_at_all(redis: Any, redis_prefix: str) -> None:
    limiter = RateLimiter(lambda: redis, redis_prefix)
    ai = Tier(name="ai", limit=2, window_s=3600)
    api = Tier(name="api", limit=100, window_s=900)
    for _ in range(2):
        assert (await limiter.check([(ai, "user:u"), (api, "user:u")])).allowed
    refused = await limiter.check([(ai, "user:u"), (api, "user:u")])
    assert not refused.allowed
    assert refused.binding is not None
    assert refused.binding.tier.name == "ai"
    after = await limiter.check([(api, "user:u")])
    assert after.results[0].remaining == 97  # the refused request did not spend the api budget


async def test_identities_have_separate_budgets(redis: Any, redis_prefix: str) -> None:
    limiter = RateLimiter(lambda: redis, redis_prefix)
    tier = Tier(name="api", limit=1, window_s=60)
    assert (await limiter.check([(tier, "ip:1")])).allowed
    assert not (await limiter.check([(tier, "ip:1")])).allowed
    assert (await limiter.check([(tier, "ip:2")])).allowed


async def test_budget_returns_after_the_emission_interval(redis: Any, redis_prefix: str) -> None:
    limiter = RateLimiter(lambda: redis, redis_prefix)
    tier = Tier(name="fast", limit=4, window_s=1)  # one request every 250 ms, bursts of 4
    assert all([(await limiter.check([(tier, "x")])).allowed for _ in range(4)])
    refused = await limiter.check([(tier, "x")])
    assert not refused.allowed
    assert refused.retry_after_s == 1

    async def admitted() -> bool:
        return (await limiter.check([(tier, "x")])).allowed

    await wait_until(admitted, timeout=3, interval=0.05, what="budget to return")


async def test_without_redis_requests_are_admitted_and_counted(tmp_path: Path, redis_prefix: str) -> None:
    server = RedisServer(tmp_path / "redis").start()
    client = create_gateway_redis(RedisSettings(url=server.url, key_prefix=redis_prefix))
    limiter = RateLimiter(lambda: client, redis_prefix)
    tier = Tier(name="api", limit=1, window_s=60)
    try:
        assert (await limiter.check([(tier, "k")])).allowed
        server.stop()
        before = (
            REGISTRY.get_sample_value(
                "etsygen_gateway_ratelimit_fail_open_total", {"service": "gateway", "tier": "api"}
            )
            or 0
        )
        decision = await limiter.check([(tier, "k")])
        after = (
            REGISTRY.get_sample_value(
                "etsygen_gateway_ratelimit_fail_open_total", {"service": "gateway", "tier": "api"}
            )
            or 0
        )
    finally:
        server.stop()
        await client.aclose()
    assert decision.allowed
    assert decision.failed_open
    assert after == before + 1


async def test_a_restarted_redis_is_reconnected_and_given_the_script_again(
    tmp_path: Path, redis_prefix: str
) -> None:
    server = RedisServer(tmp_path / "redis").start()
    client = create_gateway_redis(RedisSettings(url=server.url, key_prefix=redis_prefix))
    limiter = RateLimiter(lambda: client, redis_prefix)
    tier = Tier(name="api", limit=5, window_s=60)
    try:
        assert (await limiter.check([(tier, "k")])).results[0].remaining == 4
        server.stop()
        assert (await limiter.check([(tier, "k")])).failed_open
        server = RedisServer(tmp_path / "redis2", port=server.port).start()  # empty: no script, no budget

        async def decided() -> bool:
            return not (await limiter.check([(tier, "fresh")])).failed_open

        await wait_until(decided, timeout=10, interval=0.1, what="the limiter to reconnect")
    finally:
        server.stop()
        await limiter.close()
        await client.aclose()


async def test_the_script_spends_and_refunds_costs_as_the_reference_does(
    redis: Any, redis_prefix: str
) -> None:
    # A day-long window makes one token 4320 s: the milliseconds between Redis' calls cannot move any
    # figure compared here, so the script and the reference, held at a fixed instant, must agree exactly.
    tier = Tier(name="costly", limit=20, window_s=86_400)
    limiter = RateLimiter(lambda: redis, redis_prefix)
    rng = random.Random(12)
    now = 0.0
    for sequence in range(12):
        tat: float | None = None
        for step in range(12):
            cost = rng.choice([-3, -1, 1, 2, 5, 8, 13, 20])
            ok, new_tat, wait_us = gcra(tat, now, tier, cost=cost)
            reset_us = (new_tat if ok else max(tat or now, now)) - now
            expected = result_from(tier, ok, reset_us, wait_us, cost=cost)
            tat = new_tat
            if cost < 0:
                decision = await limiter.refund([(tier, f"s{sequence}")], -cost)
            else:
                decision = await limiter.check([(tier, f"s{sequence}")], [cost])
            got = decision.results[0]
            assert _figures(got) == _figures(expected), (sequence, step, cost)


def _figures(result: TierResult) -> tuple[bool, int, int, int]:
    return result.allowed, result.remaining, result.reset_s, result.retry_after_s


async def test_concurrent_costly_requests_never_take_more_than_is_left(redis: Any, redis_prefix: str) -> None:
    limiter = RateLimiter(lambda: redis, redis_prefix)
    ai = Tier(name="ai", limit=20, window_s=3600)
    api = Tier(name="api", limit=100, window_s=900)
    decisions = await asyncio.gather(
        *(limiter.check([(ai, "user:u"), (api, "user:u")], [3, 1]) for _ in range(20))
    )
    assert sum(d.allowed for d in decisions) == 6  # 18 of 20 tokens; the 2 left fit no request of 3
    refused = next(d for d in decisions if not d.allowed)
    assert refused.results[0].remaining == 2
    assert (await limiter.check([(api, "user:u")])).results[0].remaining == 100 - 6 - 1


async def test_a_cost_above_the_limit_is_refused_before_it_reaches_redis(
    redis: Any, redis_prefix: str
) -> None:
    limiter = RateLimiter(lambda: redis, redis_prefix)
    ai = Tier(name="ai", limit=20, window_s=3600)
    with pytest.raises(ValueError, match="can never fit"):
        await limiter.check([(ai, "user:u")], [21])
    assert await redis.keys(f"{redis_prefix}*") == []


async def test_a_disabled_limiter_admits_every_spend_and_refund(redis: Any, redis_prefix: str) -> None:
    limiter = RateLimiter(lambda: redis, redis_prefix, enabled=False)
    ai = Tier(name="ai", limit=2, window_s=3600)
    api = Tier(name="api", limit=100, window_s=900)
    for _ in range(3):
        assert (await limiter.check([(ai, "user:u"), (api, "user:u")], [2, 1])).allowed
    refunded = await limiter.refund([(ai, "user:u")], 2)
    assert refunded.allowed
    assert refunded.results == ()
    assert await redis.keys(f"{redis_prefix}*") == []
