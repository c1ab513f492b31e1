"""Outbox + inbox: at-least-once delivery, exactly-once effects, across a relay crash and a Kafka restart."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from typing import Any

import asyncpg
import pytest

from etsygen_common import contracts
from etsygen_common.db import create_pool
from etsygen_common.devstack import TansuBroker
from etsygen_common.envelope import wrap
from etsygen_common.kafka import EventConsumer, KafkaPublisher, create_broker, ensure_topics
from etsygen_common.migrations import common_migrations_dir, migrate
from etsygen_common.outbox import enqueue
from etsygen_common.testing.plugin import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BATCH = 100


async def _enqueue_events(pool: Any, n: int, tag: str) -> list[str]:
    job_ids = [f"{tag}-{i:05d}" for i in range(n)]
    async with pool.acquire() as conn, conn.transaction():
        await enqueue(
            conn,
            [
                wrap(
                    contracts.ResearchRequested(job_id=j, owner_id="owner-1", keywords=["mug"]), source="test"
                )
                for j in job_ids
            ],
        )
    return job_ids


def _relay(
    pg_url: str, schema: str, bootstrap: str, prefix: str, kill_after: int = 0
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "etsygen_common.testing.relay_worker",
            "--dsn",
            pg_url,
            "--schema",
            schema,
            "--bootstrap",
            bootstrap,
            "--prefix",
            prefix,
            "--batch-size",
            str(BATCH),
            "--kill-after-publish",
            str(kill_after),
        ]
    )


async def test_every_event_delivered_and_applied_once_across_relay_crash_and_kafka_restart(
    pg_url: str,
    schema: str,
    make_settings: Any,
    tansu: TansuBroker | None,
) -> None:
    if tansu is None:
        pytest.skip("restarting Kafka needs the Tansu broker this test session started")
    settings = make_settings()
    await migrate(pg_url, schema, {"common": common_migrations_dir()})
    pool = await create_pool(settings.postgres, schema)
    async with pool.acquire() as conn:
        await conn.execute(
            "CREATE TABLE effects (job_id text NOT NULL, applied_at timestamptz DEFAULT now())"
        )

    await ensure_topics(settings.kafka, [contracts.RESEARCH_REQUESTED, contracts.DEADLETTER])
    group = f"g-{uuid.uuid4().hex[:6]}"

    async def handler(ctx: Any, event: contracts.ResearchRequested) -> None:
        await ctx.conn.execute("INSERT INTO effects (job_id) VALUES ($1)", event.job_id)

    def start_consumer() -> Any:
        broker = create_broker(settings.kafka, client_id="test-consumer")
        consumer = EventConsumer(
            broker,
            pool,
            settings.kafka,
            service="test",
            group=group,
            publisher=KafkaPublisher(broker, settings.kafka),
        )
        consumer.subscribe(contracts.RESEARCH_REQUESTED, contracts.ResearchRequested, handler)
        consumer.attach()
        return broker

    broker = start_consumer()
    await broker.start()

    async def applied() -> int:
        async with pool.acquire() as conn:
            n: int = await conn.fetchval("SELECT count(DISTINCT job_id) FROM effects")
            return n

    relays: list[subprocess.Popen[bytes]] = []
    try:
        expected = await _enqueue_events(pool, 400, "a")
        crashing = _relay(pg_url, schema, tansu.bootstrap, settings.kafka.topic_prefix, kill_after=2)
        relays.append(crashing)
        await asyncio.get_running_loop().run_in_executor(None, crashing.wait, 60)
        assert crashing.returncode == -9, "the relay should have been killed between publish and mark"
        async with pool.acquire() as conn:
            unmarked = await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
        assert unmarked >= 400 - BATCH, "the killed batch was published but must still be pending"

        relays.append(_relay(pg_url, schema, tansu.bootstrap, settings.kafka.topic_prefix))
        await wait_until(lambda: _eq(applied(), 400), timeout=90, what="first 400 events applied")

        # Kafka goes away: new events wait in the outbox, nothing is lost.
        tansu.stop()
        expected += await _enqueue_events(pool, 300, "b")
        await asyncio.sleep(3)
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 300
        # Tansu's memory storage starts empty, and a producer that reaches it first auto-creates the topic,
        # which Tansu then resets when the topic is created properly (records acknowledged in between are
        # gone). A real Kafka keeps its topics. So the relay is held (SIGSTOP) across the restart until the
        # topics exist again, as a deployment's topic job would ensure; it resumes its backoff afterwards.
        relay = relays[-1]
        os.kill(relay.pid, signal.SIGSTOP)
        tansu.start()
        await ensure_topics(settings.kafka, [contracts.RESEARCH_REQUESTED, contracts.DEADLETTER])
        os.kill(relay.pid, signal.SIGCONT)
        # Tansu also forgot the logs and the group's offsets, so the consumer's fetch positions point past the
        # end of the new, empty logs; Apache Kafka keeps both and its consumers resume by themselves. A new
        # consumer (as after a service restart) starts from the earliest record. The relay, a producer,
        # recovers without help.
        await broker.stop()
        broker = start_consumer()
        await broker.start()
        expected += await _enqueue_events(pool, 300, "c")

        await wait_until(lambda: _eq(applied(), 1000), timeout=300, what="all 1000 events applied")
        async with pool.acquire() as conn:
            per_event = await conn.fetch("SELECT job_id, count(*) AS n FROM effects GROUP BY job_id")
            inbox_rows = await conn.fetchval("SELECT count(*) FROM inbox")
            pending = await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
        counts = {r["job_id"]: r["n"] for r in per_event}
        assert set(counts) == set(expected)
        assert all(n == 1 for n in counts.values()), "an effect was applied twice"
        assert inbox_rows == 1000
        assert pending == 0
        consumed = _consumed_total()
        assert consumed["duplicate"] >= 1, (
            "the crashed batch's re-publication must reach the consumer as duplicates"
        )
    finally:
        for proc in relays:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(10)
        await broker.stop()
        await pool.close()
        conn = await asyncpg.connect(pg_url)
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        await conn.close()


async def _eq(value: Any, target: int) -> bool:
    return bool(await value == target)


def _consumed_total() -> dict[str, float]:
    from etsygen_common.metrics import EVENTS_CONSUMED

    out = {"ok": 0.0, "duplicate": 0.0}
    for metric in EVENTS_CONSUMED.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total") and sample.labels["service"] == "test":
                out[sample.labels["outcome"]] = out.get(sample.labels["outcome"], 0) + sample.value
    return out
