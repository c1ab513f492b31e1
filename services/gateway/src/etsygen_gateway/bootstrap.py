"""The gateway's composition root: the service runtime, the API, the projections and the dead-letter store."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from etsygen_common import contracts
from etsygen_common.broker_watch import BrokerLoss
from etsygen_common.late import Late
from etsygen_common.logging import get_logger
from etsygen_common.runtime import ServiceRuntime
from etsygen_gateway.adapters.cache import ReadCache
from etsygen_gateway.adapters.limiter import RateLimiter
from etsygen_gateway.adapters.live import LiveHub, LiveNotice
from etsygen_gateway.adapters.passwords import Passwords
from etsygen_gateway.adapters.redis_pool import create_gateway_redis
from etsygen_gateway.api.app import create_app
from etsygen_gateway.domain.network import parse_networks
from etsygen_gateway.domain.ratelimit import Tier, Tiers
from etsygen_gateway.gateway import SCHEMA, Gateway
from etsygen_gateway.handlers import (
    GROUP,
    DeadLetterStore,
    Projections,
    subscribe_dead_letters,
    subscribe_projections,
)
from etsygen_gateway.metrics import SERVICE
from etsygen_gateway.service_layer.authentication import Authenticator
from etsygen_gateway.service_layer.budgets import AUTH_FAILURES_ACCOUNT
from etsygen_gateway.service_layer.catalog import Catalog
from etsygen_gateway.service_layer.jobs import Jobs
from etsygen_gateway.service_layer.operations import Check, Health
from etsygen_gateway.service_layer.reads import CachedReads
from etsygen_gateway.service_layer.stalls import pace_of, redrive_after_broker_loss, sweep_stalled
from etsygen_gateway.settings import GatewaySettings

log = get_logger(__name__)

DEFAULT_PORT = 8000
MIGRATIONS = Path(__file__).parent / "migrations"
HEALTH_GAUGE_S = 15.0
"""How often the health score gauge is refreshed without a /v1/health request (a scrape interval)."""


def load_settings() -> GatewaySettings:
    """Read the gateway's settings from the environment."""
    return GatewaySettings.from_env()


def tiers_of(settings: GatewaySettings) -> Tiers:
    """The rate-limit tiers from ``GATEWAY_RATE_*``."""
    r = settings.rate
    return Tiers(
        auth=Tier(name="auth", limit=r.auth_requests_limit, window_s=r.auth_requests_window_s),
        auth_failures_ip=Tier(name="auth-failures-ip", limit=r.auth_limit, window_s=r.auth_window_s),
        auth_failures_account=Tier(name=AUTH_FAILURES_ACCOUNT, limit=r.auth_limit, window_s=r.auth_window_s),
        api=Tier(name="api", limit=r.api_limit, window_s=r.api_window_s),
        ai=Tier(name="ai", limit=r.ai_limit, window_s=r.ai_window_s),
        replay=Tier(name="replay", limit=r.replay_limit, window_s=r.replay_window_s),
    )


def build_gateway(
    settings: GatewaySettings,
    *,
    schema: str = SCHEMA,
    pool: Late | None = None,
    kafka_check: Check | None = None,
) -> Gateway:
    """Build the gateway's parts (nothing connects yet; :func:`start_gateway` binds the clients).

    Args:
        settings: the gateway's settings.
        schema: its Postgres schema (tests give each gateway its own).
        pool: the late-bound pool to use, the service runtime's; else one :func:`start_gateway` binds.
        kafka_check: pings the broker for readiness and health (None without Kafka).
    """
    g, c = settings.gateway, settings.cache
    pool = pool or Late("Postgres pool")
    redis = Late("Redis client")
    prefix = settings.common.redis.key_prefix
    cache = ReadCache(
        redis.get,
        prefix,
        enabled=c.enabled,
        beta=c.early_refresh_beta,
        lock_ttl_ms=c.lock_ttl_ms,
        local_ttl_s=c.local_ttl_s,
    )
    tiers = tiers_of(settings)
    return Gateway(
        settings=settings,
        schema=schema,
        pool=pool,
        redis=redis,
        live=Late("live hub"),
        passwords=Passwords(
            time_cost=g.argon2_time_cost, memory_kib=g.argon2_memory_kib, parallelism=g.argon2_parallelism
        ),
        auth=Authenticator(pool, g.auth_cache_s),
        limiter=RateLimiter(redis.get, prefix, enabled=settings.rate.enabled),
        cache=cache,
        tiers=tiers,
        trusted_proxies=parse_networks(g.trusted_proxies),
        health=Health(pool, redis, kafka_check),
        catalog=Catalog(
            pool,
            trends=CachedReads(cache, "trends", c.trends_ttl_s),
            products=CachedReads(cache, "products", c.products_ttl_s),
        ),
        jobs=Jobs(pool, CachedReads(cache, "jobs", c.jobs_ttl_s), tiers.ai),
    )


async def start_gateway(gw: Gateway, pool: Any = None, redis: Any = None, *, listen: bool = True) -> None:
    """Bind the clients and start listening for live updates.

    Without ``pool`` the one the gateway was built with must be bound by its owner (the service runtime).
    Without ``redis`` the gateway opens its own client on a bounded pool (see ``adapters.redis_pool``) and
    :func:`stop_gateway` closes it.
    """
    if pool is not None:
        gw.pool.bind(pool)
    if redis is None:
        redis = create_gateway_redis(
            gw.settings.common.redis, max_connections=gw.settings.gateway.redis_max_connections
        )
        gw.opened.append(redis)
    gw.redis.bind(redis)
    if listen:
        cache = gw.cache

        async def on_notice(notice: LiveNotice) -> None:
            # After a projection committed: drop the owner's cached reads it affected.
            for namespace in notice.namespaces:
                await cache.invalidate(namespace, notice.owner_id)

        hub = LiveHub(gw.settings.common.postgres.url, gw.schema, on_notice)
        gw.live.bind(hub)
        await hub.start()


async def stop_gateway(gw: Gateway) -> None:
    """Stop listening and close what :func:`start_gateway` opened (the pool's owner closes the pool)."""
    gw.health.stopping = True
    hub = gw.live.get()
    if hub is not None:
        await hub.stop()
    await gw.limiter.close()
    while gw.opened:
        await gw.opened.pop().aclose()


def wire(settings: GatewaySettings) -> tuple[ServiceRuntime, Gateway]:
    """Build the runtime and the gateway's parts, wired together (``build_app`` without hiding the parts)."""
    runtime = ServiceRuntime(
        name=SERVICE,
        settings=settings.common,
        migrations_dir=MIGRATIONS,
        default_port=DEFAULT_PORT,
        group=GROUP,
    )

    async def kafka_check() -> None:
        if not await runtime.broker.ping(timeout=2.0):
            raise ConnectionError("Kafka broker did not answer")

    gw = build_gateway(settings, pool=runtime.late_pool, kafka_check=kafka_check)
    assert runtime.consumer is not None
    subscribe_projections(runtime.consumer, Projections(gw.cache))
    subscribe_dead_letters(runtime.broker, settings.common.kafka, DeadLetterStore(gw.pool))
    runtime.extra_topics.extend(
        [
            contracts.RESEARCH_REQUESTED,
            contracts.PUBLISH_REQUESTED,
            contracts.TRENDS_SCORED,
            contracts.DEADLETTER,
        ]
    )

    async def broker_lost_records(loss: BrokerLoss) -> None:
        # Work in flight may be gone with the broker's records: every unfinished keyword is re-driven now,
        # not after the stall timeout; stages that had finished answer from their stored outputs.
        await redrive_after_broker_loss(runtime.pool, loss.explanation)

    runtime.on_broker_loss.append(broker_lost_records)
    runtime.asgi_app = create_app(gw)

    sweeper: list[asyncio.Task[None]] = []

    async def sweep_forever() -> None:
        g = settings.gateway
        while True:
            await asyncio.sleep(g.stall_sweep_s)
            try:
                await sweep_stalled(runtime.pool, pace=pace_of(g), max_redrives=g.stall_max_redrives)
            except Exception as exc:  # the next sweep tries again; a broken sweep must not stop the gateway
                log.warning("stalled-keyword sweep failed", extra={"error": repr(exc)})

    async def score_forever() -> None:
        while True:
            try:
                await gw.health.system_health()  # sets etsygen_gateway_health_score
            except Exception as exc:  # the score is a report; failing to compute it must not stop the gateway
                log.warning("health score refresh failed", extra={"error": repr(exc)})
            await asyncio.sleep(HEALTH_GAUGE_S)

    async def start(_: ServiceRuntime) -> None:
        await start_gateway(gw)
        sweeper.append(asyncio.create_task(sweep_forever(), name="stalled-keyword-sweep"))
        sweeper.append(asyncio.create_task(score_forever(), name="health-score"))

    async def stop(_: ServiceRuntime) -> None:
        for task in sweeper:
            task.cancel()
        await stop_gateway(gw)

    runtime.on_start.append(start)
    runtime.on_stop.append(stop)
    return runtime, gw


def build_app(settings: GatewaySettings) -> ServiceRuntime:
    """Wire the gateway: API (Litestar), projections consumer, dead-letter subscriber, outbox relay."""
    runtime, _ = wire(settings)
    return runtime
