"""Test support: one :class:`~etsygen_common.kafka.EventConsumer` group over a throw-away schema.

Integration tests of the consumer's guarantees (retries, dead letters, shared transactions) each need a
schema with the inbox and outbox, a pool, a broker with the consumer attached, and the same teardown.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from etsygen_common import contracts
from etsygen_common.db import create_pool
from etsygen_common.kafka import EventConsumer, KafkaPublisher, create_broker, ensure_topics
from etsygen_common.migrations import common_migrations_dir, migrate
from etsygen_common.settings import CommonSettings


@dataclass
class ConsumerGroup:
    """A consumer group under test: its settings, pool and, once started, its broker and publisher."""

    settings: CommonSettings
    pool: Any
    group: str = field(default_factory=lambda: f"g-{uuid.uuid4().hex[:8]}")
    broker: Any = None
    publisher: Any = None

    async def start(
        self,
        topic: str,
        body: type[contracts.Event],
        handler: Any,
        *,
        service: str,
        retry_delays: Sequence[float],
    ) -> EventConsumer:
        """Subscribe ``handler`` to ``topic``, create the topics and start consuming."""
        self.broker = create_broker(self.settings.kafka, client_id=f"test-{self.group}")
        self.publisher = KafkaPublisher(self.broker, self.settings.kafka)
        consumer = EventConsumer(
            self.broker,
            self.pool,
            self.settings.kafka,
            service=service,
            group=self.group,
            publisher=self.publisher,
            retry_delays=retry_delays,
        )
        consumer.subscribe(topic, body, handler)
        await ensure_topics(self.settings.kafka, consumer.topics)
        consumer.attach()
        await self.broker.start()
        return consumer

    async def stop(self) -> None:
        """Stop consuming and close the publisher (idempotent)."""
        broker, self.broker = self.broker, None
        publisher, self.publisher = self.publisher, None
        if broker is not None:
            await broker.stop()
        if publisher is not None:
            await publisher.close()


def running_consumers(broker: Any) -> list[Any]:
    """The running aiokafka consumers behind a FastStream broker's subscribers."""
    return [subscriber.consumer for subscriber in broker.subscribers if subscriber.consumer is not None]


@asynccontextmanager
async def consumer_schema(settings: CommonSettings, schema: str, *setup_sql: str) -> AsyncIterator[Any]:
    """A schema with the shared migrations (inbox, outbox) and ``setup_sql``, and a pool on it; the schema
    is dropped afterwards."""
    url = settings.postgres.url
    await migrate(url, schema, {"common": common_migrations_dir()})
    pool = await create_pool(settings.postgres, schema)
    try:
        async with pool.acquire() as conn:
            for statement in setup_sql:
                await conn.execute(statement)
        yield pool
    finally:
        await pool.close()
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        finally:
            await conn.close()
