"""The gateway's parts, built once by ``bootstrap.build_app`` and handed to the API and the projections.

The Postgres pool and the Redis client exist only after the service started (the runtime creates them), so
the parts that need them take getters and :meth:`Gateway.start` attaches the real clients.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec

from etsygen_gateway.adapters.cache import ReadCache
from etsygen_gateway.adapters.limiter import RateLimiter
from etsygen_gateway.adapters.live import LiveHub, LiveNotice
from etsygen_gateway.adapters.passwords import Passwords
from etsygen_gateway.adapters.redis_pool import create_gateway_redis
from etsygen_gateway.domain.network import Network, parse_networks
from etsygen_gateway.domain.ratelimit import Tier
from etsygen_gateway.service_layer.accounts import Authenticator
from etsygen_gateway.service_layer.budgets import AUTH_FAILURES_ACCOUNT
from etsygen_gateway.settings import GatewaySettings

SCHEMA: Final = "gateway"

Check = Callable[[], Awaitable[object]]


class Tiers(msgspec.Struct, frozen=True, kw_only=True):
    """The configured rate-limit tiers."""

    auth: Tier
    """Every request to an auth route, per client IP: the flood limit."""
    auth_failures_ip: Tier
    """Failed sign-up/login attempts per client IP."""
    auth_failures_account: Tier
    """Failed sign-up/login attempts per account (e-mail address)."""
    api: Tier
    ai: Tier
    replay: Tier

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> Tiers:
        """Tiers from ``GATEWAY_RATE_*``."""
        r = settings.rate
        return cls(
            auth=Tier(name="auth", limit=r.auth_requests_limit, window_s=r.auth_requests_window_s),
            auth_failures_ip=Tier(name="auth-failures-ip", limit=r.auth_limit, window_s=r.auth_window_s),
            auth_failures_account=Tier(
                name=AUTH_FAILURES_ACCOUNT, limit=r.auth_limit, window_s=r.auth_window_s
            ),
            api=Tier(name="api", limit=r.api_limit, window_s=r.api_window_s),
            ai=Tier(name="ai", limit=r.ai_limit, window_s=r.ai_window_s),
            replay=Tier(name="replay", limit=r.replay_limit, window_s=r.replay_window_s),
        )


@dataclass
class Gateway:
    """Everything a request or a projection needs, in one explicit object."""

    settings: GatewaySettings
    schema: str = SCHEMA
    live: LiveHub | None = None
    kafka_check: Check | None = None
    stopping: bool = False
    passwords: Passwords = field(init=False)
    auth: Authenticator = field(init=False)
    limiter: RateLimiter = field(init=False)
    cache: ReadCache = field(init=False)
    tiers: Tiers = field(init=False)
    trusted_proxies: tuple[Network, ...] = field(init=False)
    _pool_source: Callable[[], Any] = field(init=False, default=lambda: None)
    _redis_source: Callable[[], Any] = field(init=False, default=lambda: None)
    _own_redis: Any = field(init=False, default=None)
    _ttls: dict[str, int] = field(init=False, default_factory=dict)

    @property
    def pool(self) -> Any:
        """The asyncpg pool (None before start)."""
        return self._pool_source()

    @property
    def redis(self) -> Any:
        """The asyncio Redis client (None before start)."""
        return self._redis_source()

    def bind(self, pool: Callable[[], Any], redis: Callable[[], Any]) -> None:
        """Take the pool and Redis client from their owner (the service runtime) whenever they exist."""
        self._pool_source = pool
        self._redis_source = redis

    def __post_init__(self) -> None:
        s = self.settings
        g = s.gateway
        self.passwords = Passwords(
            time_cost=g.argon2_time_cost, memory_kib=g.argon2_memory_kib, parallelism=g.argon2_parallelism
        )
        self.auth = Authenticator(lambda: self.pool, g.auth_cache_s)
        prefix = s.common.redis.key_prefix
        # Late-bound: start() replaces the source. (Not via the redis property: one call less per decision.)
        self.limiter = RateLimiter(lambda: self._redis_source(), prefix, enabled=s.rate.enabled)  # noqa: PLW0108
        self.cache = ReadCache(
            lambda: self.redis,
            prefix,
            enabled=s.cache.enabled,
            beta=s.cache.early_refresh_beta,
            lock_ttl_ms=s.cache.lock_ttl_ms,
            local_ttl_s=s.cache.local_ttl_s,
        )
        self.tiers = Tiers.from_settings(s)
        self.trusted_proxies = parse_networks(g.trusted_proxies)
        c = s.cache
        self._ttls = {"trends": c.trends_ttl_s, "products": c.products_ttl_s, "jobs": c.jobs_ttl_s}

    def ttl(self, namespace: str) -> int:
        """Cache lifetime of a namespace (trends 30 min, products 1 h, jobs 10 min by default)."""
        return self._ttls[namespace]

    async def start(self, pool: Any = None, redis: Any = None, *, listen: bool = True) -> None:
        """Attach the clients and start listening for live updates.

        Without ``redis`` the gateway opens its own client on a bounded pool (see ``adapters.redis_pool``)
        and closes it on :meth:`stop`.
        """
        if pool is not None:
            self._pool_source = lambda: pool
        if redis is None:
            redis = self._own_redis = create_gateway_redis(
                self.settings.common.redis, max_connections=self.settings.gateway.redis_max_connections
            )
        self._redis_source = lambda: redis
        if listen:
            self.live = LiveHub(self.settings.common.postgres.url, self.schema, self.on_notice)
            await self.live.start()

    async def stop(self) -> None:
        """Stop listening (the runtime closes the pool and Redis)."""
        self.stopping = True
        if self.live is not None:
            await self.live.stop()
        await self.limiter.close()
        if self._own_redis is not None:
            await self._own_redis.aclose()
            self._own_redis = None

    async def on_notice(self, notice: LiveNotice) -> None:
        """After a projection committed: drop the owner's cached reads it affected."""
        for namespace in notice.namespaces:
            await self.cache.invalidate(namespace, notice.owner_id)
