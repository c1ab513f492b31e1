"""Fixtures of the gateway tests: an isolated gateway (own schema, own Redis key prefix) and clients.

The API runs in the test's event loop through httpx's ASGI transport (``https://testserver``, so Secure
cookies flow); no Kafka is needed because the API only writes the outbox. Tests that need Kafka or several
processes build them explicitly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from gateway_testkit import TestUser, gateway_settings, make_user

from etsygen_common.db import create_pool
from etsygen_common.migrations import migrate_service
from etsygen_common.testing.plugin import unique_name
from etsygen_gateway.api.app import create_app
from etsygen_gateway.bootstrap import MIGRATIONS, build_gateway, start_gateway, stop_gateway
from etsygen_gateway.gateway import Gateway
from etsygen_gateway.settings import GatewaySettings


@pytest.fixture
def settings_factory(pg_url: str, redis_url: str, redis_prefix: str) -> Callable[..., GatewaySettings]:
    """Gateway settings for this test's database, Redis prefix and any overrides."""

    def make(**overrides: Any) -> GatewaySettings:
        return gateway_settings(pg_url, redis_url, redis_prefix, **overrides)

    return make


@pytest.fixture
async def gateway(settings_factory: Callable[..., GatewaySettings], pg_url: str) -> AsyncIterator[Gateway]:
    """A started gateway with default test settings."""
    async with running_gateway(settings_factory(), pg_url) as gw:
        yield gw


class running_gateway:
    """``async with running_gateway(settings, pg_url) as gw``: migrate a fresh schema, start, stop."""

    def __init__(
        self, settings: GatewaySettings, pg_url: str, *, schema: str | None = None, listen: bool = True
    ):
        self.settings = settings
        self.pg_url = pg_url
        self.schema = schema or unique_name("gw")
        self.listen = listen

    async def __aenter__(self) -> Gateway:
        await migrate_service(self.pg_url, self.schema, MIGRATIONS)
        self.pool = await create_pool(
            self.settings.common.postgres, self.schema, application_name="gateway-test"
        )
        self.gw = build_gateway(self.settings, schema=self.schema)
        await start_gateway(self.gw, self.pool, listen=self.listen)
        return self.gw

    async def __aexit__(self, *exc: object) -> None:
        await stop_gateway(self.gw)
        await self.pool.close()


class gateway_with:
    """``async with gateway_with(settings, pg_url) as (gw, client, alice)``: a gateway of its own settings,
    a client of its app, and alice, an operator with an API key."""

    def __init__(self, settings: GatewaySettings, pg_url: str) -> None:
        self.running = running_gateway(settings, pg_url, listen=False)

    async def __aenter__(self) -> tuple[Gateway, httpx.AsyncClient, TestUser]:
        gw = await self.running.__aenter__()
        alice = await make_user(gw, "alice@example.com")
        self.client = asgi_client(create_app(gw))
        return gw, await self.client.__aenter__(), alice

    async def __aexit__(self, *exc: Any) -> None:
        await self.client.__aexit__(*exc)
        await self.running.__aexit__(*exc)


@pytest.fixture
def app(gateway: Gateway) -> Any:
    """The Litestar app of the test gateway."""
    return create_app(gateway)


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app in-process over https://testserver."""
    async with asgi_client(app) as c:
        yield c


def asgi_client(app: Any, client_ip: str = "203.0.113.7") -> httpx.AsyncClient:
    """A client for ``app`` in this event loop (a fresh cookie jar each)."""
    transport = httpx.ASGITransport(app=app, client=(client_ip, 50000))
    return httpx.AsyncClient(transport=transport, base_url="https://testserver", timeout=30)


@pytest.fixture
async def alice(gateway: Gateway) -> TestUser:
    """An operator with an API key holding every scope she has."""
    return await make_user(gateway, "alice@example.com", role="operator")


@pytest.fixture
async def bob(gateway: Gateway) -> TestUser:
    """Another operator: alice's data must stay invisible to him."""
    return await make_user(gateway, "bob@example.com", role="operator")


@pytest.fixture
async def admin(gateway: Gateway) -> TestUser:
    """An admin with an admin-scoped key."""
    return await make_user(gateway, "root@example.com", role="admin")
