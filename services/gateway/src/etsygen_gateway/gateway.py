"""The gateway's parts, as ``bootstrap.build_gateway`` built them.

The API (``api.app.create_app``) hands each route the parts it uses, the projections take the cache, and
tests reach the pool and the passwords through it. Nothing here builds anything: the composition root is
``bootstrap``. The Postgres pool, the Redis client and the live hub exist only once the gateway started, so
they are :class:`etsygen_common.late.Late` holders that ``bootstrap.start_gateway`` binds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from etsygen_common.late import Late
from etsygen_gateway.adapters.cache import ReadCache
from etsygen_gateway.adapters.limiter import RateLimiter
from etsygen_gateway.adapters.passwords import Passwords
from etsygen_gateway.domain.network import Network
from etsygen_gateway.domain.ratelimit import Tiers
from etsygen_gateway.service_layer.authentication import Authenticator
from etsygen_gateway.service_layer.catalog import Catalog
from etsygen_gateway.service_layer.jobs import Jobs
from etsygen_gateway.service_layer.operations import Health
from etsygen_gateway.settings import GatewaySettings

SCHEMA: Final = "gateway"


@dataclass(frozen=True, kw_only=True)
class Gateway:
    """The parts a request, a projection or a lifecycle hook of the gateway is given."""

    settings: GatewaySettings
    schema: str
    pool: Late
    """The asyncpg pool (bound at start)."""
    redis: Late
    """The asyncio Redis client (bound at start)."""
    live: Late
    """The :class:`~etsygen_gateway.adapters.live.LiveHub` (bound at start when the gateway listens)."""
    passwords: Passwords
    auth: Authenticator
    limiter: RateLimiter
    cache: ReadCache
    tiers: Tiers
    trusted_proxies: tuple[Network, ...]
    health: Health
    catalog: Catalog
    jobs: Jobs
    opened: list[Any] = field(default_factory=list)
    """Clients ``start_gateway`` opened itself, closed by ``stop_gateway``."""
