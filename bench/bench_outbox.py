"""Outbox relay throughput against a raw aiokafka producer, in the same run (issue 2).

    uv run --no-sync python bench/bench_outbox.py [--events 20000] [--batch-size 500]

Writes ``--events`` envelopes (``wrap`` of a ``ResearchRequested``) with ``outbox.enqueue`` into a fresh
schema migrated with the common migrations, then times the library's ``OutboxRelay`` (``KafkaPublisher`` over
``create_broker``, acks=all) from start until every row is marked sent. Baseline: one ``AIOKafkaProducer``
(acks=all) sending the same payloads, keys and headers with ``send()`` and waiting for every future. For
information it also times ``KafkaPublisher.publish_batch`` alone (no database), which splits the relay's cost
into publishing and bookkeeping. Target: relay rate >= 0.3 x baseline rate.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Sequence
from typing import Any

from _support import (
    Result,
    bench_database,
    common_settings,
    emit_result,
    quiet_logging,
    tansu_broker,
    unique,
    wait_until,
)
from aiokafka import AIOKafkaProducer

from etsygen_common import contracts
from etsygen_common.db import create_pool
from etsygen_common.envelope import Envelope, wrap
from etsygen_common.kafka import KafkaPublisher, create_broker, ensure_topics
from etsygen_common.migrations import common_migrations_dir, migrate
from etsygen_common.outbox import OutboxRelay, enqueue
from etsygen_common.settings import OutboxSettings

TARGET_RATIO = 0.3
WARMUP = 200
INSERT_CHUNK = 1000
KEYWORDS = ["personalized dog collar", "minimalist gold necklace", "boho wall art", "funny cat mug"]


def make_envelopes(count: int) -> list[Envelope]:
    """``count`` research requests as the gateway would wrap them (distinct jobs, so distinct keys)."""
    return [
        wrap(
            contracts.ResearchRequested(
                job_id=f"job-{index:06d}",
                owner_id=f"owner-{index % 50}",
                keywords=KEYWORDS,
                listing_budget=100,
            ),
            source="gateway",
        )
        for index in range(count)
    ]


class TimedPublisher:
    """The relay's publisher, timing each ``publish_batch`` (where the relay's time goes)."""

    def __init__(self, inner: KafkaPublisher) -> None:
        self._inner = inner
        self.seconds = 0.0
        self.batches = 0

    async def publish_batch(self, records: Sequence[Envelope]) -> None:
        started = time.perf_counter()
        await self._inner.publish_batch(records)
        self.seconds += time.perf_counter() - started
        self.batches += 1


async def raw_producer_rate(bootstrap: str, topic: str, envelopes: Sequence[Envelope]) -> float:
    """Events/s of a bare AIOKafkaProducer(acks=all): send() everything, then wait for every future."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False)
    await producer.start()
    try:

        async def send_all(records: Sequence[Envelope]) -> None:
            futures = [
                await producer.send(
                    topic,
                    r.payload,
                    key=r.key,
                    headers=[(name, value.encode()) for name, value in r.headers.items()],
                )
                for r in records
            ]
            await asyncio.gather(*futures)

        await send_all(envelopes[:WARMUP])
        started = time.perf_counter()
        await send_all(envelopes)
        return len(envelopes) / (time.perf_counter() - started)
    finally:
        await producer.stop()


async def publisher_only_rate(publisher: KafkaPublisher, envelopes: Sequence[Envelope], batch: int) -> float:
    """Events/s of ``KafkaPublisher.publish_batch`` in relay-sized batches, with no database (information)."""
    started = time.perf_counter()
    for start in range(0, len(envelopes), batch):
        await publisher.publish_batch(envelopes[start : start + batch])
    return len(envelopes) / (time.perf_counter() - started)


async def relay_round(
    pool: Any, schema: str, publisher: KafkaPublisher, envelopes: Sequence[Envelope], batch_size: int
) -> tuple[float, float, float]:
    """Enqueue ``envelopes``, then time a fresh relay until all are sent.

    Returns:
        (relay events/s, seconds the relay spent inside ``publish_batch``, enqueue rows/s).
    """
    events = len(envelopes)
    started = time.perf_counter()
    for start in range(0, events, INSERT_CHUNK):
        async with pool.acquire() as conn, conn.transaction():
            await enqueue(conn, envelopes[start : start + INSERT_CHUNK])
    insert_rate = events / (time.perf_counter() - started)

    timed = TimedPublisher(publisher)
    relay = OutboxRelay(
        pool,
        schema,
        timed,
        OutboxSettings(batch_size=batch_size, poll_interval_s=1.0, max_backoff_s=1.0),
        service="bench",
    )

    async def all_sent() -> bool:
        return relay.published >= events

    started = time.perf_counter()
    relay.start()
    try:
        finished = await wait_until(all_sent, timeout=300, what="the relay to send every row", interval=0.005)
    finally:
        await relay.stop(flush=False)
    pending = await relay.pending()
    if pending:
        raise RuntimeError(f"{pending} outbox rows still pending after the relay reported them sent")
    return events / (finished - started), timed.seconds, insert_rate


async def run(events: int, batch_size: int, rounds: int) -> list[Result]:
    envelopes = make_envelopes(events)
    topic_name = contracts.RESEARCH_REQUESTED
    schema = "bench_outbox"
    baselines: list[float] = []
    relays: list[float] = []
    publish_shares: list[float] = []
    publisher_rates: list[float] = []
    insert_rates: list[float] = []
    async with bench_database() as pg_url:
        with tansu_broker() as tansu:
            settings = common_settings(pg_url, tansu.bootstrap, topic_prefix=unique("bo") + ".", pool_max=4)
            kafka = settings.kafka
            await ensure_topics(kafka, [topic_name])
            await migrate(pg_url, schema, {"common": common_migrations_dir()})
            pool = await create_pool(settings.postgres, schema)
            broker = create_broker(kafka, client_id="bench-outbox")
            await broker.start()
            try:
                publisher = KafkaPublisher(broker, kafka)
                await publisher.publish_batch(envelopes[:WARMUP])  # connect, fetch metadata
                print(
                    f"{events:,} events per measurement, relay batch {batch_size}, {rounds} rounds (median)"
                )
                for round_no in range(1, rounds + 1):
                    baseline = await raw_producer_rate(tansu.bootstrap, kafka.topic(topic_name), envelopes)
                    publisher_rate = await publisher_only_rate(publisher, envelopes, batch_size)
                    relay_rate, publish_seconds, insert_rate = await relay_round(
                        pool, schema, publisher, envelopes, batch_size
                    )
                    share = publish_seconds * relay_rate / events
                    print(
                        f"round {round_no}: raw producer {baseline:8,.0f}/s | KafkaPublisher alone "
                        f"{publisher_rate:8,.0f}/s | enqueue {insert_rate:8,.0f} rows/s | "
                        f"relay {relay_rate:8,.0f}/s ({share:.0%} of it inside publish_batch)"
                    )
                    baselines.append(baseline)
                    relays.append(relay_rate)
                    publish_shares.append(share)
                    publisher_rates.append(publisher_rate)
                    insert_rates.append(insert_rate)
            finally:
                await broker.stop()
                await pool.close()
    baseline = statistics.median(baselines)
    relay_rate = statistics.median(relays)
    print(f"baseline, raw AIOKafkaProducer(acks=all), send() + wait all: {baseline:10,.0f} events/s")
    print(f"OutboxRelay, start until every row is marked sent:         {relay_rate:10,.0f} events/s")
    return [
        Result(
            name="outbox relay",
            value=relay_rate,
            unit="events/s",
            baseline=baseline,
            baseline_label="raw AIOKafkaProducer acks=all",
            target_on="ratio",
            op=">=",
            threshold=TARGET_RATIO,
            details={
                "events": events,
                "batch_size": batch_size,
                "rounds": rounds,
                "relay_events_per_s": relays,
                "baseline_events_per_s": baselines,
                "relay_share_in_publish_batch": statistics.median(publish_shares),
                "publisher_only_events_per_s": statistics.median(publisher_rates),
                "enqueue_rows_per_s": statistics.median(insert_rates),
            },
        )
    ]


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    quiet_logging()
    results = asyncio.run(run(args.events, args.batch_size, args.rounds))
    for result in results:
        emit_result(result)
    return [result.to_json() for result in results]


if __name__ == "__main__":
    main()
