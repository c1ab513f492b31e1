"""The database goes away under a consumer and comes back: nothing is lost, retried or dead-lettered.

The consumer's pool reaches the real PostgreSQL through a TCP proxy that the test cuts (open connections
dropped, new ones refused) while records keep arriving. The outage says nothing about the records, so the
consumer rewinds and pauses until the database answers again; every record is then handled exactly once and
none went to a retry or dead-letter topic. The handler has a ``prepare`` step, so the batch's first database
read (which records are already handled) is one of the things that fails during the outage.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import msgspec
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from prometheus_client import REGISTRY

from etsygen_common import contracts
from etsygen_common.envelope import wrap
from etsygen_common.kafka import retry_topic
from etsygen_common.testing.consumers import ConsumerGroup, consumer_schema
from etsygen_common.testing.netfault import TcpProxy, through
from etsygen_common.testing.plugin import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOPIC = contracts.RESEARCH_REQUESTED
SERVICE = "test-db-outage"


@dataclass
class Harness(ConsumerGroup):
    proxy: TcpProxy | None = None
    direct_url: str = ""
    schema: str = ""

    async def send(self, job_ids: list[str]) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.settings.kafka.bootstrap_servers)
        await producer.start()
        try:
            for number, job_id in enumerate(job_ids):
                envelope = wrap(
                    contracts.ResearchRequested(job_id=job_id, owner_id="o", keywords=["mug"]), source="t"
                )
                await producer.send_and_wait(
                    self.settings.kafka.topic(TOPIC),
                    envelope.payload,
                    key=job_id.encode(),
                    partition=number % 3,
                    headers=[(k, v.encode()) for k, v in envelope.headers.items()],
                )
        finally:
            await producer.stop()

    async def applied(self) -> list[str]:
        # Read directly, not through the proxy: the test's own view must not depend on the outage.
        conn = await asyncpg.connect(self.direct_url)
        try:
            rows = await conn.fetch(f"SELECT job_id FROM {self.schema}.effects ORDER BY job_id")
        finally:
            await conn.close()
        return [row["job_id"] for row in rows]


@pytest.fixture
async def harness(make_settings: Any, schema: str) -> AsyncIterator[Harness]:
    direct = make_settings()
    target = urlsplit(direct.postgres.url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
    await proxy.start()
    postgres = msgspec.structs.replace(direct.postgres, url=through(proxy, direct.postgres.url))
    kafka = msgspec.structs.replace(direct.kafka, batch_records=20, partition_concurrency=3)
    settings = msgspec.structs.replace(direct, postgres=postgres, kafka=kafka)
    try:
        async with consumer_schema(
            settings, schema, "CREATE TABLE effects (job_id text NOT NULL, event_id text NOT NULL)"
        ) as pool:
            h = Harness(
                settings=settings, pool=pool, proxy=proxy, direct_url=direct.postgres.url, schema=schema
            )
            yield h
            await h.stop()
    finally:
        await proxy.close()


def _pauses(cause: str) -> float:
    return (
        REGISTRY.get_sample_value("etsygen_consumer_pauses_total", {"service": SERVICE, "cause": cause})
        or 0.0
    )


async def _end_offsets(bootstrap: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        if not partitions:
            return 0
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in partitions])
        return sum(ends.values())
    finally:
        await consumer.stop()


async def test_an_unreachable_database_pauses_the_consumer_and_loses_nothing(harness: Harness) -> None:
    prepared: list[str] = []

    class Handler:
        async def prepare(self, event: contracts.ResearchRequested) -> str:
            prepared.append(event.job_id)
            return event.job_id

        async def __call__(self, ctx: Any, event: contracts.ResearchRequested) -> None:
            await ctx.conn.execute("INSERT INTO effects VALUES ($1, $2)", event.job_id, ctx.headers["ce_id"])

    before = [f"a-{i:03d}" for i in range(30)]
    during = [f"b-{i:03d}" for i in range(30)]
    paused_before = _pauses("database")
    await harness.start(
        TOPIC, contracts.ResearchRequested, Handler(), service=SERVICE, retry_delays=(0.2, 0.2)
    )
    await harness.send(before)

    async def first_applied() -> bool:
        return len(await harness.applied()) == len(before)

    await wait_until(first_applied, timeout=90, what="the records sent before the outage")

    assert harness.proxy is not None
    await harness.proxy.cut()
    await harness.send(during)  # they arrive while the database cannot be reached

    await wait_until(lambda: _pauses("database") > paused_before, timeout=30, what="the consumer to pause")
    assert len(await harness.applied()) == len(before)  # nothing could be applied meanwhile
    await harness.proxy.restore()

    async def all_applied() -> bool:
        return len(await harness.applied()) >= len(before) + len(during)

    await wait_until(all_applied, timeout=90, what="every record after the database came back")
    assert await harness.applied() == sorted(before + during), "each record applied exactly once"

    bootstrap = harness.settings.kafka.bootstrap_servers
    for attempt in (1, 2):
        retries = harness.settings.kafka.topic(retry_topic(TOPIC, harness.group, attempt))
        assert await _end_offsets(bootstrap, retries) == 0, "an outage is not the record's fault"
    dead = harness.settings.kafka.topic(contracts.DEADLETTER)
    assert await _end_offsets(bootstrap, dead) == 0
