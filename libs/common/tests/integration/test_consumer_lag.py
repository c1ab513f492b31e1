"""A consumer reports its own lag per partition: what was behind it while it worked through a backlog, and 0
once it caught up (real broker, real PostgreSQL)."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import pytest
from prometheus_client import REGISTRY

from etsygen_common import contracts
from etsygen_common.db import create_pool
from etsygen_common.envelope import wrap
from etsygen_common.kafka import EventConsumer, KafkaPublisher, create_broker, ensure_topics
from etsygen_common.migrations import common_migrations_dir, migrate
from etsygen_common.testing.plugin import wait_until

pytestmark = pytest.mark.integration

RECORDS = 40


async def test_lag_is_the_backlog_behind_the_group_and_drops_to_zero_once_it_caught_up(
    pg_url: str, schema: str, make_settings: Any
) -> None:
    base = make_settings()
    settings = msgspec.structs.replace(base, kafka=msgspec.structs.replace(base.kafka, batch_records=5))
    await migrate(pg_url, schema, {"common": common_migrations_dir()})
    pool = await create_pool(settings.postgres, schema)
    await ensure_topics(settings.kafka, [contracts.RESEARCH_REQUESTED, contracts.DEADLETTER])
    group = f"g-{uuid.uuid4().hex[:6]}"
    labels = {"service": schema, "group": group, "topic": contracts.RESEARCH_REQUESTED}
    handled: list[str] = []
    seen: list[float] = []

    def lag() -> float:
        return sum(
            s.value
            for f in REGISTRY.collect()
            if f.name == "etsygen_consumer_lag"
            for s in f.samples
            if labels.items() <= s.labels.items()
        )

    async def handler(ctx: Any, event: contracts.ResearchRequested) -> None:
        seen.append(lag())  # as the previous batch left it
        handled.append(event.job_id)

    broker = create_broker(settings.kafka, client_id="lag-test")
    publisher = KafkaPublisher(broker, settings.kafka)
    # One key: every record in one partition, fetched 5 at a time, so the group is behind for a while.
    await publisher.publish_batch(
        [
            wrap(
                contracts.ResearchRequested(job_id=f"j-{i}", owner_id="o", keywords=["mug"]),
                source="test",
                key=b"same-key",
            )
            for i in range(RECORDS)
        ]
    )
    consumer = EventConsumer(broker, pool, settings.kafka, service=schema, group=group, publisher=publisher)
    consumer.subscribe(contracts.RESEARCH_REQUESTED, contracts.ResearchRequested, handler)
    consumer.attach()
    await broker.start()
    try:
        await wait_until(lambda: len(handled) == RECORDS, timeout=60, what="every record handled")
        await wait_until(lambda: lag() == 0, timeout=10, what="the lag to drop to 0")
        assert max(seen) >= RECORDS - 2 * 5, f"the backlog was never reported: {seen}"
    finally:
        await broker.stop()
        await publisher.close()
        await pool.close()
