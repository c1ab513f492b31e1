"""Pytest plugin: fixtures for the real services the integration tests talk to.

- PostgreSQL: a fresh database per test session (dropped afterwards) on the server named by
  ``ETSYGEN_TEST_DATABASE_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``); a unique schema
  name per test through :func:`unique_name`.
- Redis: ``ETSYGEN_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``) with a unique key prefix per test;
  the test's keys are deleted afterwards.
- Kafka: ``KAFKA_BOOTSTRAP_SERVERS`` if set, else a Tansu broker started on a free port for the session;
  unique topic prefix per test.
- ``--testcontainers``: start PostgreSQL, Redis and Kafka containers instead (needs a Docker engine).
- Etsy: ``etsy_openapi`` is the pinned Etsy OpenAPI document (``ETSY_OPENAPI_PATH``, default the copy the
  repository pins beside the simulator); a missing document fails the tests that need it, saying where
  it was looked for.
- Traces: ``recorded_spans`` turns tracing on for one test (every span, asyncpg, Redis and httpx
  instrumented) into an in-memory exporter, and off again afterwards.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from etsygen_common.devstack import TansuBroker
from etsygen_common.settings import (
    CommonSettings,
    KafkaSettings,
    OutboxSettings,
    PostgresSettings,
    RedisSettings,
    ServiceSettings,
    TelemetrySettings,
)

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
ETSY_OPENAPI_FILE = "etsy-openapi-3.0.0.json"
PINNED_ETSY_OPENAPI = f"tools/simulators/src/etsygen_simulators/etsy/{ETSY_OPENAPI_FILE}"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--testcontainers",
        action="store_true",
        default=False,
        help="start PostgreSQL, Redis and Kafka in Docker containers (needs a Docker engine)",
    )


def unique_name(prefix: str = "t") -> str:
    """A short unique identifier safe for schema, topic and key names."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


class _Containers:
    """Containers started with --testcontainers (lazy: only what the session asks for)."""

    def __init__(self) -> None:
        self.started: list[Any] = []

    def postgres(self) -> str:
        from testcontainers.postgres import PostgresContainer

        c = PostgresContainer("postgres:16-alpine", driver=None)
        c.start()
        self.started.append(c)
        url: str = c.get_connection_url()
        return url

    def redis(self) -> str:
        from testcontainers.redis import RedisContainer

        c = RedisContainer("redis:7-alpine")
        c.start()
        self.started.append(c)
        return f"redis://{c.get_container_host_ip()}:{c.get_exposed_port(6379)}/0"

    def kafka(self) -> str:
        from testcontainers.kafka import KafkaContainer

        c = KafkaContainer().with_kraft()
        c.start()
        self.started.append(c)
        server: str = c.get_bootstrap_server()
        return server

    def stop(self) -> None:
        for c in reversed(self.started):
            c.stop()


@pytest.fixture(scope="session")
def _containers(request: pytest.FixtureRequest) -> Iterator[_Containers | None]:
    if not request.config.getoption("--testcontainers"):
        yield None
        return
    containers = _Containers()
    yield containers
    containers.stop()


@pytest.fixture(scope="session")
def pg_server_url(_containers: _Containers | None) -> str:
    """DSN of a database on the PostgreSQL server under test (used to create the session database)."""
    if _containers is not None:
        return _containers.postgres()
    return os.environ.get("ETSYGEN_TEST_DATABASE_URL", DEFAULT_PG)


@pytest.fixture(scope="session")
async def pg_url(pg_server_url: str) -> AsyncIterator[str]:
    """A fresh database for this test session, dropped afterwards."""
    name = unique_name("etsygen_test")
    admin = await asyncpg.connect(pg_server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base, _, _ = pg_server_url.rpartition("/")
    query = ""
    if "?" in pg_server_url.rpartition("/")[2]:
        query = "?" + pg_server_url.rpartition("?")[2]
    yield f"{base}/{name}{query}"
    admin = await asyncpg.connect(pg_server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def fresh_pg_url(pg_server_url: str) -> AsyncIterator[str]:
    """A database of its own for one test (services use fixed schema names), dropped afterwards."""
    name = unique_name("etsygen_e2e")
    admin = await asyncpg.connect(pg_server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = pg_server_url.rpartition("/")[0]
    yield f"{base}/{name}"
    admin = await asyncpg.connect(pg_server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def pg_conn(pg_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the session database."""
    conn = await asyncpg.connect(pg_url)
    yield conn
    await conn.close()


@pytest.fixture
def schema() -> str:
    """A unique schema name for this test."""
    return unique_name("s")


@pytest.fixture(scope="session")
def redis_url(_containers: _Containers | None) -> str:
    """URL of the Redis server under test."""
    if _containers is not None:
        return _containers.redis()
    return os.environ.get("ETSYGEN_TEST_REDIS_URL", DEFAULT_REDIS)


@pytest.fixture
async def redis_prefix(redis_url: str) -> AsyncIterator[str]:
    """A unique key prefix for this test; every key under it is deleted afterwards."""
    from redis.asyncio import Redis

    prefix = unique_name("etsygen-test") + ":"
    yield prefix
    client = Redis.from_url(redis_url)
    try:
        keys = [k async for k in client.scan_iter(match=f"{prefix}*", count=500)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture(scope="session")
def tansu(_containers: _Containers | None) -> Iterator[TansuBroker | None]:
    """The Tansu broker this session started, or None when Kafka was given by URL or container."""
    if _containers is not None or os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield None
        return
    broker = TansuBroker().start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(tansu: TansuBroker | None, _containers: _Containers | None) -> str:
    """Bootstrap servers of the Kafka-compatible broker under test."""
    if tansu is not None:
        return tansu.bootstrap
    if _containers is not None:
        return _containers.kafka()
    return os.environ["KAFKA_BOOTSTRAP_SERVERS"]


@pytest.fixture
def topic_prefix() -> str:
    """A unique topic prefix for this test."""
    return unique_name("t") + "."


@pytest.fixture
def make_settings(
    pg_url: str, redis_url: str, kafka_bootstrap: str, topic_prefix: str, redis_prefix: str
) -> Any:
    """Factory of :class:`CommonSettings` pointing at the services under test, isolated per test."""

    def make(**overrides: Any) -> CommonSettings:
        values: dict[str, Any] = {
            "postgres": PostgresSettings(url=pg_url, pool_min=1, pool_max=5),
            "redis": RedisSettings(url=redis_url, key_prefix=redis_prefix),
            "kafka": KafkaSettings(
                bootstrap_servers=kafka_bootstrap, topic_prefix=topic_prefix, partitions=3
            ),
            "telemetry": TelemetrySettings(log_level="WARNING"),
            "outbox": OutboxSettings(poll_interval_s=0.2, max_backoff_s=1.0),
            "service": ServiceSettings(port=0, shutdown_grace_s=5.0),
        }
        values.update(overrides)
        return CommonSettings(**values)

    return make


@pytest.fixture(scope="session")
def etsy_openapi(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The pinned Etsy OpenAPI document, parsed.

    The repository pins a copy beside the simulator (``PINNED_ETSY_OPENAPI`` from the repository root);
    ``ETSY_OPENAPI_PATH`` points the tests at another version of it. A missing document is an error, not a
    skip: the contract tests are what hold the client and the simulator to Etsy's contract.
    """
    configured = os.environ.get("ETSY_OPENAPI_PATH")
    path = Path(configured) if configured else request.config.rootpath / PINNED_ETSY_OPENAPI
    if not path.is_file():
        raise FileNotFoundError(
            f"Etsy OpenAPI document not found at {path}; set ETSY_OPENAPI_PATH to its location"
        )
    document: dict[str, Any] = json.loads(path.read_text())
    return document


@pytest.fixture
def recorded_spans() -> Iterator[Any]:
    """Record every span of this test into an ``InMemorySpanExporter`` (the fixture's value)."""
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from etsygen_common.telemetry import disable_tracing, enable_tracing

    exporter = InMemorySpanExporter()
    enable_tracing(SimpleSpanProcessor(exporter))
    try:
        yield exporter
    finally:
        disable_tracing()
        # The processor stays on the process's provider (it has no way to remove one): shut down, the
        # exporter keeps nothing more.
        exporter.shutdown()


async def wait_until(
    predicate: Any, timeout: float = 30.0, interval: float = 0.05, what: str = "condition"
) -> None:
    """Poll an (async or sync) predicate until it is true; fail the test with ``what`` on timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)
