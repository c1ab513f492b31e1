"""Records applied together against a real broker and database.

Consecutive records of a partition share one transaction; a record whose handler fails in it is isolated
(the others are applied once, its handler ran once for the delivery, it goes on to the dead-letter topic).
Handlers that declare ``locks`` get them in one order in every transaction, so partitions handled at once
and transactions holding several records never deadlock over them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import msgspec
import pytest
from aiokafka import AIOKafkaProducer

from etsygen_common import contracts
from etsygen_common.envelope import wrap
from etsygen_common.kafka import FatalError
from etsygen_common.testing.consumers import ConsumerGroup, consumer_schema
from etsygen_common.testing.plugin import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOPIC = contracts.RESEARCH_REQUESTED
START: dict[str, Any] = {"service": "test-groups", "retry_delays": (0.5, 0.5, 0.5)}


@dataclass
class Harness(ConsumerGroup):
    calls: Counter[str] = field(default_factory=Counter)

    async def send(self, job_ids: list[str], partition_of: Any) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.settings.kafka.bootstrap_servers, linger_ms=20)
        await producer.start()
        try:
            futures = []
            for job_id in job_ids:
                envelope = wrap(
                    contracts.ResearchRequested(job_id=job_id, owner_id="o", keywords=["mug"]), source="t"
                )
                futures.append(
                    await producer.send(
                        self.settings.kafka.topic(TOPIC),
                        envelope.payload,
                        key=job_id.encode(),
                        partition=partition_of(job_id),
                        headers=[(k, v.encode()) for k, v in envelope.headers.items()],
                    )
                )
            for future in futures:
                await future
        finally:
            await producer.stop()

    async def fetch(self, query: str) -> list[Any]:
        async with self.pool.acquire() as conn:
            return list(await conn.fetch(query))


@pytest.fixture
async def harness(make_settings: Any, schema: str) -> AsyncIterator[Harness]:
    settings = make_settings()
    # Large fetches, so one batch holds records of several partitions, handled at once.
    kafka = msgspec.structs.replace(settings.kafka, batch_records=1000, partition_concurrency=3)
    settings = msgspec.structs.replace(settings, kafka=kafka)
    async with consumer_schema(
        settings,
        schema,
        "CREATE TABLE effects (job_id text NOT NULL, txid bigint NOT NULL)",
        "CREATE TABLE counters (key text PRIMARY KEY, n integer NOT NULL)",
        "INSERT INTO counters VALUES ('k1', 0), ('k2', 0), ('k3', 0)",
    ) as pool:
        h = Harness(settings=settings, pool=pool)
        yield h
        await h.stop()


async def test_records_share_transactions_and_a_failing_one_is_isolated(harness: Harness) -> None:
    async def handler(ctx: Any, event: contracts.ResearchRequested) -> None:
        harness.calls[event.job_id] += 1
        await ctx.conn.execute("INSERT INTO effects VALUES ($1, txid_current())", event.job_id)
        if event.job_id == "r-025":
            raise FatalError("a record this handler can never apply")

    job_ids = [f"r-{i:03d}" for i in range(80)]
    await harness.send(job_ids, lambda _: 0)  # one partition: the records come in order, many per fetch
    await harness.start(TOPIC, contracts.ResearchRequested, handler, **START)

    async def all_applied() -> bool:
        return len(await harness.fetch("SELECT 1 FROM effects")) >= len(job_ids) - 1

    await wait_until(all_applied, timeout=60, what="every record but the failing one applied")
    rows = await harness.fetch("SELECT job_id, txid FROM effects ORDER BY job_id")
    assert [r["job_id"] for r in rows] == [j for j in job_ids if j != "r-025"], "each applied once"
    # Fewer transactions than records: consecutive records were applied together.
    assert len({r["txid"] for r in rows}) < len(rows) / 2
    # The failing record's handler ran once for its delivery (not again when the others were re-applied).
    assert harness.calls["r-025"] == 1
    inbox = {r["event_id"] for r in await harness.fetch("SELECT event_id FROM inbox")}
    assert len(inbox) == len(job_ids) - 1


async def test_declared_locks_keep_concurrent_partitions_and_groups_free_of_deadlocks(
    harness: Harness,
) -> None:
    orders = {0: ["k1", "k2", "k3"], 1: ["k3", "k2", "k1"], 2: ["k2", "k3", "k1"]}

    class Handler:
        def locks(self, event: contracts.ResearchRequested) -> list[str]:
            return orders[int(event.job_id.split("-")[1])]

        async def __call__(self, ctx: Any, event: contracts.ResearchRequested) -> None:
            harness.calls[event.job_id] += 1
            # Row locks in a different order per partition: without the declared locks, transactions of
            # different partitions (each holding several records) would wait on each other in a cycle.
            for key in orders[int(event.job_id.split("-")[1])]:
                await ctx.conn.execute("UPDATE counters SET n = n + 1 WHERE key = $1", key)

    job_ids = [f"p-{p}-{i:03d}" for p in range(3) for i in range(60)]
    await harness.send(job_ids, lambda job_id: int(job_id.split("-")[1]))
    await harness.start(TOPIC, contracts.ResearchRequested, Handler(), **START)

    async def all_counted() -> bool:
        rows = await harness.fetch("SELECT n FROM counters")
        return all(r["n"] == len(job_ids) for r in rows)

    await wait_until(all_counted, timeout=60, what="every record counted on every key")
    assert set(harness.calls.values()) == {1}, "no handler ran twice: no deadlock, no retry"
    assert len(harness.calls) == len(job_ids)
