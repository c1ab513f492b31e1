"""Helpers shared by the route modules."""

from __future__ import annotations

from typing import Annotated, Any, Final, TypeAlias

from litestar.connection import ASGIConnection
from litestar.di import Dependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import SkipValidationMarker

from etsygen_common.late import Late
from etsygen_gateway.adapters.limiter import RateLimiter
from etsygen_gateway.adapters.passwords import Passwords
from etsygen_gateway.domain.ratelimit import Tiers
from etsygen_gateway.service_layer.authentication import Authenticator
from etsygen_gateway.service_layer.catalog import Catalog
from etsygen_gateway.service_layer.jobs import Jobs
from etsygen_gateway.service_layer.operations import Health
from etsygen_gateway.settings import GatewaySettings

# The gateway's parts, injected by name by ``api.app.create_app`` (and not validated: they are our own
# objects, not request data); a route takes one as a parameter of that name and type.
Settings: TypeAlias = Annotated[GatewaySettings, Dependency(kind="named"), SkipValidationMarker()]
"""``settings``: the gateway's settings."""
Pool: TypeAlias = Annotated[Late, Dependency(kind="named"), SkipValidationMarker()]
"""``pool``: the Postgres pool."""
Redis: TypeAlias = Annotated[Late, Dependency(kind="named"), SkipValidationMarker()]
"""``redis``: the Redis client."""
LiveHubOf: TypeAlias = Annotated[Late, Dependency(kind="named"), SkipValidationMarker()]
"""``live``: the live hub (unbound when the gateway does not listen)."""
PasswordHasher: TypeAlias = Annotated[Passwords, Dependency(kind="named"), SkipValidationMarker()]
"""``passwords``: the password hasher."""
Auth: TypeAlias = Annotated[Authenticator, Dependency(kind="named"), SkipValidationMarker()]
"""``auth``: the authenticator (its memory is forgotten on logout and revocation)."""
Limiter: TypeAlias = Annotated[RateLimiter, Dependency(kind="named"), SkipValidationMarker()]
"""``limiter``: the rate limiter."""
RateTiers: TypeAlias = Annotated[Tiers, Dependency(kind="named"), SkipValidationMarker()]
"""``tiers``: the rate-limit tiers."""
HealthChecks: TypeAlias = Annotated[Health, Dependency(kind="named"), SkipValidationMarker()]
"""``health``: readiness and the health score."""
CatalogService: TypeAlias = Annotated[Catalog, Dependency(kind="named"), SkipValidationMarker()]
"""``catalog``: trends and products."""
JobService: TypeAlias = Annotated[Jobs, Dependency(kind="named"), SkipValidationMarker()]
"""``jobs``: research jobs."""

CATALOG_STATE: Final = "catalog"
JOBS_STATE: Final = "jobs"
"""Keys in the app's state of the services whose cached reads take them from there (:func:`catalog_of`)."""


def catalog_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Catalog:
    """The catalog service, from the app's state.

    The cached reads take their service this way rather than as a dependency: resolving a dependency costs
    a cache hit more than the rest of the handler does.
    """
    catalog: Catalog = connection.scope["litestar_app"].state[CATALOG_STATE]
    return catalog


def jobs_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Jobs:
    """The job service, from the app's state (for the cached reads, as :func:`catalog_of`)."""
    jobs: Jobs = connection.scope["litestar_app"].state[JOBS_STATE]
    return jobs


_JSON: Final = (b"content-type", b"application/json")


class CachedJson:
    """An ASGI response of JSON bytes from the read cache, sent as they are.

    The bytes were encoded from the documented view when they were cached, so there is nothing left to
    serialise: Litestar's ``Response`` would only rebuild the same two headers through its header
    structures on every hit. Routes returning it document their body with :func:`documented`.
    """

    __slots__ = ("body", "status_code")

    def __init__(self, body: bytes, status_code: int = 200) -> None:
        self.body = body
        self.status_code = status_code

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        body = self.body
        await send(
            {
                "type": "http.response.start",
                "status": self.status_code,
                "headers": [_JSON, (b"content-length", b"%d" % len(body))],
            }
        )
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


def cached_json(data: bytes, status_code: int = 200) -> CachedJson:
    """Serve JSON bytes from the read cache as they are (they were encoded from the documented view)."""
    return CachedJson(data, status_code)


def documented(view: type[Any]) -> dict[int, ResponseSpec]:
    """The OpenAPI entry of a :class:`CachedJson` route's 200 response: its body is a ``view``."""
    return {
        200: ResponseSpec(
            data_container=view, description="Request fulfilled, document follows", generate_examples=False
        )
    }
