"""While Kafka refuses the relay's batches, the backlog gauges show the rows waiting and the oldest's age."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from prometheus_client import REGISTRY

from etsygen_common import contracts
from etsygen_common.db import create_pool
from etsygen_common.envelope import Envelope, wrap
from etsygen_common.migrations import common_migrations_dir, migrate
from etsygen_common.outbox import OutboxRelay, enqueue
from etsygen_common.settings import OutboxSettings, PostgresSettings
from etsygen_common.testing.plugin import wait_until

pytestmark = pytest.mark.integration


class KafkaDown:
    async def publish_batch(self, records: Sequence[Envelope]) -> None:
        raise ConnectionError("no broker")


async def test_the_age_of_the_oldest_pending_row_grows_while_nothing_is_published(
    pg_url: str, schema: str
) -> None:
    await migrate(pg_url, schema, {"common": common_migrations_dir()})
    pool = await create_pool(PostgresSettings(url=pg_url, pool_min=1, pool_max=3), schema)
    relay = OutboxRelay(pool, schema, KafkaDown(), OutboxSettings(), service=schema)
    try:
        async with pool.acquire() as conn, conn.transaction():
            event = contracts.ResearchRequested(job_id="j-1", owner_id="o-1", keywords=["mug"])
            await enqueue(conn, [wrap(event, source="test")])
            await conn.execute("UPDATE outbox SET created_at = now() - interval '400 seconds'")
        relay.start()

        def oldest() -> float:
            return (
                REGISTRY.get_sample_value("etsygen_outbox_oldest_pending_seconds", {"service": schema}) or 0.0
            )

        await wait_until(lambda: oldest() >= 400, timeout=10, what="the relay to measure its backlog")
        assert REGISTRY.get_sample_value("etsygen_outbox_pending", {"service": schema}) == 1
        async with pool.acquire() as conn:
            await conn.execute("UPDATE outbox SET sent_at = now()")
        await relay.measure_backlog()
        assert oldest() == 0
        assert REGISTRY.get_sample_value("etsygen_outbox_pending", {"service": schema}) == 0
    finally:
        await relay.stop(flush=False)
        await pool.close()
