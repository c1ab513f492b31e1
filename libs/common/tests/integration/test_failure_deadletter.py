"""Fatal failures against a real broker.

An undecodable body, a schema violation or a FatalError goes straight to ``etsygen.deadletter.v1`` (no
retries) with the failure headers and the body unchanged; the source offset is committed after that publish,
and a restarted consumer does not see the record again.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from etsygen_common import contracts
from etsygen_common.contracts import deadletter as dlh
from etsygen_common.envelope import headers_of, wrap
from etsygen_common.kafka import FatalError
from etsygen_common.kafka.policy import STACK_LIMIT, retry_topic
from etsygen_common.testing.consumers import ConsumerGroup, consumer_schema
from etsygen_common.testing.plugin import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOPIC = contracts.RESEARCH_REQUESTED
KEY = b"one-partition"
PARTITION = 0


@dataclass
class Harness(ConsumerGroup):
    handled: list[str] = field(default_factory=list)

    async def handler(self, ctx: Any, event: contracts.ResearchRequested) -> None:
        self.handled.append(event.job_id)
        if event.job_id == "deep":
            _recurse(60)
        await ctx.conn.execute("INSERT INTO effects (job_id) VALUES ($1)", event.job_id)

    async def start_consuming(self) -> None:
        await self.start(
            TOPIC,
            contracts.ResearchRequested,
            self.handler,
            service="test-deadletter",
            retry_delays=(1.0, 1.0, 1.0),
        )

    async def send_raw(
        self, value: bytes, headers: dict[str, str], *, timestamp_ms: int | None = None
    ) -> Any:
        producer = AIOKafkaProducer(bootstrap_servers=self.settings.kafka.bootstrap_servers)
        await producer.start()
        try:
            return await producer.send_and_wait(
                self.settings.kafka.topic(TOPIC),
                value,
                key=KEY,
                partition=PARTITION,
                timestamp_ms=timestamp_ms,
                headers=[(k, v.encode()) for k, v in headers.items()],
            )
        finally:
            await producer.stop()

    async def send_event(self, job_id: str) -> Any:
        envelope = wrap(
            contracts.ResearchRequested(job_id=job_id, owner_id="o", keywords=["mug"]), source="t"
        )
        return await self.send_raw(envelope.payload, {**envelope.headers, "traceparent": _traceparent()})

    async def effects(self) -> list[str]:
        async with self.pool.acquire() as conn:
            return [r["job_id"] for r in await conn.fetch("SELECT job_id FROM effects ORDER BY job_id")]

    async def read(self, logical: str) -> list[ConsumerRecord[bytes, bytes]]:
        kafka = self.settings.kafka
        topic = kafka.topic(logical)
        consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap_servers, enable_auto_commit=False)
        await consumer.start()
        try:
            tps = [TopicPartition(topic, p) for p in range(kafka.partitions)]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            records: list[ConsumerRecord[bytes, bytes]] = []
            while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
                for recs in (await consumer.getmany(timeout_ms=500)).values():
                    records.extend(recs)
            return records
        finally:
            await consumer.stop()

    async def committed_source_offset(self) -> int:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.settings.kafka.bootstrap_servers)
        await admin.start()
        try:
            tp = TopicPartition(self.settings.kafka.topic(TOPIC), PARTITION)
            offsets = await admin.list_consumer_group_offsets(self.group, partitions=[tp])
        finally:
            await admin.close()
        return int(offsets[tp].offset)


def _recurse(depth: int) -> None:
    if depth == 0:
        raise FatalError("bad data: " + "x" * 3000)
    _recurse(depth - 1)


def _traceparent() -> str:
    return f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"


def _ms(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000


@pytest.fixture
async def harness(make_settings: Any, pg_url: str, schema: str) -> AsyncIterator[Harness]:
    settings = make_settings()
    async with consumer_schema(settings, schema, "CREATE TABLE effects (job_id text NOT NULL)") as pool:
        h = Harness(settings=settings, pool=pool)
        yield h
        await h.stop()


async def test_fatal_records_are_dead_lettered_at_once_with_failure_headers_and_never_seen_again(
    harness: Harness,
) -> None:
    await harness.start_consuming()
    started_ms = time.time() * 1000
    undecodable_headers = {"ce_id": "bad-json", "traceparent": _traceparent()}
    undecodable = await harness.send_raw(b"not json", undecodable_headers, timestamp_ms=1_700_000_000_000)
    violation_body = b'{"job_id": "j-2", "marketplace": "etsy"}'  # owner_id and keywords are required
    violation_headers = {"ce_id": "bad-schema", "traceparent": _traceparent()}
    violation = await harness.send_raw(violation_body, violation_headers)
    deep = await harness.send_event("deep")
    await harness.send_event("ok-1")

    dead: list[ConsumerRecord[bytes, bytes]] = []

    async def three_dead_letters() -> bool:
        nonlocal dead
        dead = await harness.read(contracts.DEADLETTER)
        return len(dead) >= 3

    await wait_until(three_dead_letters, timeout=60, interval=0.3, what="three dead letters")
    await wait_until(lambda: "ok-1" in harness.handled, timeout=30, what="the good record after them")
    by_id = {headers_of(r.headers)["ce_id"]: r for r in dead}
    assert len(dead) == 3

    # The undecodable body: the record as it was, plus why and where it failed.
    letter = by_id["bad-json"]
    h = headers_of(letter.headers)
    assert letter.value == b"not json"
    assert letter.key == KEY
    assert _trace_id(h) == _trace_id(undecodable_headers)
    assert h[dlh.ORIGINAL_TOPIC] == TOPIC
    assert h[dlh.ORIGINAL_PARTITION] == str(PARTITION)
    assert h[dlh.ORIGINAL_OFFSET] == str(undecodable.offset)
    assert h[dlh.ORIGINAL_TIMESTAMP] == "1700000000000"
    assert h[dlh.CONSUMER_GROUP] == harness.group
    assert h[dlh.EXCEPTION_TYPE] == "msgspec.DecodeError"
    assert "malformed" in h[dlh.EXCEPTION_MESSAGE]
    assert "Traceback" in h[dlh.EXCEPTION_STACK]
    assert "DecodeError" in h[dlh.EXCEPTION_STACK]
    assert h[dlh.ATTEMPTS] == "1"
    assert h[dlh.FIRST_FAILURE] == h[dlh.LAST_FAILURE]
    assert started_ms - 1000 <= _ms(h[dlh.FIRST_FAILURE]) <= time.time() * 1000

    # The schema violation: valid JSON that does not decode into the topic's Struct.
    letter = by_id["bad-schema"]
    h = headers_of(letter.headers)
    assert letter.value == violation_body
    assert _trace_id(h) == _trace_id(violation_headers)
    assert h[dlh.ORIGINAL_OFFSET] == str(violation.offset)
    assert h[dlh.ORIGINAL_TIMESTAMP] == str(violation.timestamp)
    assert h[dlh.EXCEPTION_TYPE] == "msgspec.ValidationError"
    assert "missing required field" in h[dlh.EXCEPTION_MESSAGE]
    assert h[dlh.ATTEMPTS] == "1"
    assert h[dlh.FIRST_FAILURE] == h[dlh.LAST_FAILURE]

    # A FatalError from deep in a handler: the message and stack are truncated, the stack keeps its end.
    letter = by_id[next(i for i in by_id if i not in {"bad-json", "bad-schema"})]
    h = headers_of(letter.headers)
    assert msgspec.json.decode(letter.value, type=contracts.ResearchRequested).job_id == "deep"
    assert h[dlh.ORIGINAL_OFFSET] == str(deep.offset)
    assert h[dlh.EXCEPTION_TYPE] == "etsygen_common.kafka.FatalError"
    assert len(h[dlh.EXCEPTION_MESSAGE]) == 1000
    assert len(h[dlh.EXCEPTION_STACK]) == STACK_LIMIT
    assert "_recurse" in h[dlh.EXCEPTION_STACK]
    assert h[dlh.EXCEPTION_STACK].rstrip().endswith("x")

    # No retries were attempted; the handler never saw the undecodable records; only the good one took effect.
    for n in (1, 2, 3):
        assert await harness.read(retry_topic(TOPIC, harness.group, n)) == []
    assert sorted(harness.handled) == ["deep", "ok-1"]
    assert await harness.effects() == ["ok-1"]
    assert await harness.committed_source_offset() == deep.offset + 2

    # A restarted consumer of the same group starts after them: the next record on the same partition is
    # handled, and none of the dead-lettered records is delivered (or dead-lettered) again.
    await harness.stop()
    harness.handled.clear()
    after = await harness.send_event("ok-2")
    await harness.start_consuming()
    await wait_until(lambda: "ok-2" in harness.handled, timeout=60, what="the restarted consumer to catch up")
    assert harness.handled == ["ok-2"]
    assert len(await harness.read(contracts.DEADLETTER)) == 3
    assert await harness.effects() == ["ok-1", "ok-2"]
    await wait_until(
        lambda: _committed_is(harness, after.offset + 1), timeout=10, what="the new record's offset commit"
    )


async def _committed_is(h: Harness, offset: int) -> bool:
    return await h.committed_source_offset() == offset


def _trace_id(headers: dict[str, str]) -> str:
    """The trace a record belongs to (the dead letter continues it as a child of the failed attempt)."""
    return headers["traceparent"].split("-")[1]
