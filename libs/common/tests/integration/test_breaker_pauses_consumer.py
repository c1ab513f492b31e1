"""An open circuit breaker pauses consumption instead of failing records.

The handler's ``prepare`` calls its dependency through a :class:`Breaker` and turns ``BreakerOpenError`` into
``PauseConsumption``, as the services do. While the breaker is open the record is neither handled, retried
nor dead-lettered; once the breaker half-opens the consumer resumes, the trial call succeeds, the breaker
closes and the record is handled exactly once.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import REGISTRY

from etsygen_common import contracts
from etsygen_common.breaker import Breaker, BreakerOpenError
from etsygen_common.db import create_pool
from etsygen_common.envelope import wrap
from etsygen_common.kafka import (
    EventConsumer,
    KafkaPublisher,
    PauseConsumption,
    create_broker,
    ensure_topics,
    retry_topic,
)
from etsygen_common.migrations import common_migrations_dir, migrate
from etsygen_common.testing.plugin import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOPIC = contracts.RESEARCH_REQUESTED
SERVICE = "test-pause"
RESET_S = 4.0


class Enricher:
    """A handler whose external call (in ``prepare``) goes through a circuit breaker."""

    def __init__(self, breaker: Breaker) -> None:
        self.breaker = breaker
        self.prepare_calls = 0
        self.dependency_calls = 0
        self.handled: list[str] = []

    async def dependency(self, job_id: str) -> str:
        self.dependency_calls += 1
        return f"enriched {job_id}"

    async def prepare(self, event: contracts.ResearchRequested) -> str:
        self.prepare_calls += 1
        try:
            return await self.breaker.call(self.dependency, event.job_id)
        except BreakerOpenError as exc:
            raise PauseConsumption(max(exc.retry_after, 0.5), str(exc)) from exc

    async def __call__(self, ctx: Any, event: contracts.ResearchRequested) -> None:
        self.handled.append(event.job_id)
        await ctx.conn.execute(
            "INSERT INTO effects (job_id, note) VALUES ($1, $2)", event.job_id, ctx.prepared
        )


@pytest.fixture
async def pool(make_settings: Any, pg_url: str, schema: str) -> AsyncIterator[Any]:
    await migrate(pg_url, schema, {"common": common_migrations_dir()})
    pool = await create_pool(make_settings().postgres, schema)
    async with pool.acquire() as conn:
        await conn.execute("CREATE TABLE effects (job_id text NOT NULL, note text NOT NULL)")
    yield pool
    await pool.close()
    conn = await asyncpg.connect(pg_url)
    await conn.execute(f"DROP SCHEMA {schema} CASCADE")
    await conn.close()


async def _publish(broker: Any, kafka: Any, job_id: str, *, partition: int) -> None:
    envelope = wrap(contracts.ResearchRequested(job_id=job_id, owner_id="o", keywords=["mug"]), source="test")
    await broker.publish(
        envelope.payload, kafka.topic(TOPIC), key=envelope.key, partition=partition, headers=envelope.headers
    )


def _rejected(b: Breaker) -> float:
    labels = {"service": b.service, "breaker": b.name, "outcome": "rejected"}
    return REGISTRY.get_sample_value("etsygen_circuit_breaker_calls_total", labels) or 0.0


async def _count(bootstrap: str, topic: str, partitions: int) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        ends = await consumer.end_offsets(tps)
        return sum(ends.values())
    finally:
        await consumer.stop()


async def test_an_open_breaker_pauses_the_record_until_a_trial_call_succeeds(
    make_settings: Any, pool: Any
) -> None:
    settings = make_settings()
    kafka = settings.kafka
    breaker = Breaker(f"dep-{uuid.uuid4().hex[:6]}", service=SERVICE, fail_max=2, reset_timeout_s=RESET_S)
    handler = Enricher(breaker)
    group = f"g-{uuid.uuid4().hex[:8]}"
    broker = create_broker(kafka, client_id="test-pause")
    publisher = KafkaPublisher(broker, kafka)
    consumer = EventConsumer(
        broker, pool, kafka, service=SERVICE, group=group, publisher=publisher, retry_delays=(1.0, 1.0, 1.0)
    )
    consumer.subscribe(TOPIC, contracts.ResearchRequested, handler)
    await ensure_topics(kafka, consumer.topics)
    consumer.attach()
    await broker.start()  # returns once the group is joined
    try:
        # The dependency goes down and the breaker opens before the record arrives.
        async def down() -> None:
            raise ConnectionError("dependency unreachable")

        for _ in range(2):
            with pytest.raises(ConnectionError):
                await breaker.call(down)
        assert breaker.state == "open"

        await _publish(broker, kafka, "job-1", partition=0)
        await wait_until(lambda: handler.prepare_calls >= 1, timeout=30, what="the record to reach prepare")
        # Rejected by the open breaker: the dependency was not called and the record was not handled.
        assert _rejected(breaker) >= 1
        assert handler.dependency_calls == 0
        # The whole consumer is paused: a record arriving meanwhile on another partition waits as well.
        await _publish(broker, kafka, "job-2", partition=1)
        assert breaker.state == "open"
        assert handler.handled == []

        await wait_until(lambda: len(handler.handled) == 2, timeout=RESET_S + 20, what="both records handled")
        assert breaker.state == "closed"
        assert handler.dependency_calls == 2, "one successful trial call, then one normal call"
        assert sorted(handler.handled) == ["job-1", "job-2"]
        # Every attempt before the successful ones was a rejection that paused the consumer, not a failure.
        assert _rejected(breaker) == handler.prepare_calls - 2
        async with pool.acquire() as conn:
            rows = await conn.fetch("SELECT job_id, note FROM effects ORDER BY job_id")
        assert [(r["job_id"], r["note"]) for r in rows] == [
            ("job-1", "enriched job-1"),
            ("job-2", "enriched job-2"),
        ]
    finally:
        await broker.stop()
        await publisher.close()

    # Nothing was burnt into the retry topics or the dead letters.
    for topic in [retry_topic(TOPIC, group, n) for n in (1, 2, 3)] + [contracts.DEADLETTER]:
        assert await _count(kafka.bootstrap_servers, kafka.topic(topic), kafka.partitions) == 0, topic
