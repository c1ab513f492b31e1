"""A record held back for a known reason tells the gateway why: one ``KeywordWaiting`` on a real broker,
however often the consumer re-pauses on it; records that name no keyword tell nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import msgspec
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from etsygen_common import contracts
from etsygen_common.db import create_pool
from etsygen_common.envelope import wrap
from etsygen_common.kafka import EventConsumer, KafkaPublisher, PauseConsumption, create_broker, ensure_topics
from etsygen_common.migrations import common_migrations_dir, migrate
from etsygen_common.testing.plugin import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PAUSE_S = 0.3


class Budgeted:
    """A stage whose Etsy budget is used up until ``down`` is cleared."""

    def __init__(self) -> None:
        self.down = True
        self.prepare_calls = 0
        self.handled: list[str] = []

    async def prepare(self, event: Any) -> None:
        self.prepare_calls += 1
        if self.down:
            raise PauseConsumption(PAUSE_S, "Etsy daily budget used up", cause="daily_budget")

    async def __call__(self, ctx: Any, event: Any) -> None:
        self.handled.append(event.job_id)


@pytest.fixture
async def pool(make_settings: Any, pg_url: str, schema: str) -> AsyncIterator[Any]:
    await migrate(pg_url, schema, {"common": common_migrations_dir()})
    pool = await create_pool(make_settings().postgres, schema)
    yield pool
    await pool.close()
    conn = await asyncpg.connect(pg_url)
    await conn.execute(f"DROP SCHEMA {schema} CASCADE")
    await conn.close()


async def _read_all(kafka: Any, topic: str) -> list[Any]:
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(kafka.topic(topic), p) for p in range(kafka.partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        records: list[Any] = []
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            for batch in (await consumer.getmany(*tps, timeout_ms=1000)).values():
                records.extend(batch)
        return records
    finally:
        await consumer.stop()


async def test_a_paused_record_publishes_one_keyword_waiting_event(make_settings: Any, pool: Any) -> None:
    kafka = make_settings().kafka
    stage, whole_job = Budgeted(), Budgeted()
    broker = create_broker(kafka, client_id="test-waiting")
    publisher = KafkaPublisher(broker, kafka)
    consumer = EventConsumer(
        broker,
        pool,
        kafka,
        service="test-waiting",
        group=f"g-{uuid.uuid4().hex[:8]}",
        publisher=publisher,
        waiting_stage="scrape",
    )
    consumer.subscribe(contracts.KEYWORD_SCRAPE_REQUESTED, contracts.KeywordScrapeRequested, stage)
    consumer.subscribe(contracts.RESEARCH_REQUESTED, contracts.ResearchRequested, whole_job)
    await ensure_topics(kafka, consumer.topics)
    consumer.attach()
    await broker.start()
    try:
        started = datetime.now(UTC)
        keyword = contracts.KeywordScrapeRequested(job_id="job-1", owner_id="owner-1", keyword="soy candle")
        job = contracts.ResearchRequested(job_id="job-2", owner_id="owner-1", keywords=["mug"])
        for event in (keyword, job):
            envelope = wrap(event, source="test")
            await broker.publish(
                envelope.payload, kafka.topic(envelope.topic), key=envelope.key, headers=envelope.headers
            )
        # The consumer pauses on the records again and again while the budget is used up.
        await wait_until(
            lambda: stage.prepare_calls >= 4 and whole_job.prepare_calls >= 2,
            timeout=30,
            what="several pauses on both records",
        )
        stage.down = whole_job.down = False
        await wait_until(
            lambda: stage.handled == ["job-1"] and whole_job.handled == ["job-2"],
            timeout=30,
            what="both records handled once the budget is back",
        )
        await consumer.flush_notices()
    finally:
        await broker.stop()
        await publisher.close()

    records = await _read_all(kafka, contracts.KEYWORD_WAITING)
    assert len(records) == 1, "one notice per (job, keyword, reason), none for a record naming no keyword"
    notice = msgspec.json.decode(records[0].value, type=contracts.KeywordWaiting)
    assert (notice.job_id, notice.owner_id, notice.keyword) == ("job-1", "owner-1", "soy candle")
    assert notice.stage == "scrape"
    assert notice.reason == "daily_budget"
    assert notice.detail == "Etsy daily budget used up"
    assert started < notice.resume_at < started + timedelta(seconds=30)
