"""Retryable failures against a real broker: a failing record moves through the group's retry topics, never
before it is due, while the rest of its source partition flows on; after the last retry it is dead-lettered.

Delays are shortened with ``retry_delays`` (the defaults are checked in ``unit/test_failure_policy.py``).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from etsygen_common import contracts
from etsygen_common.contracts import deadletter as dlh
from etsygen_common.envelope import headers_of, wrap
from etsygen_common.kafka.policy import (
    RETRY_ATTEMPT,
    RETRY_DUE,
    retry_topic,
)
from etsygen_common.testing.consumers import ConsumerGroup, consumer_schema
from etsygen_common.testing.plugin import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOPIC = contracts.RESEARCH_REQUESTED


class Unavailable(ConnectionError):
    """A dependency that is down for now: retryable."""


@dataclass
class Call:
    job_id: str
    at: float
    headers: dict[str, str]


@dataclass
class Harness(ConsumerGroup):
    """One consumer group over a per-test topic prefix and schema, and what its handler saw."""

    calls: list[Call] = field(default_factory=list)
    fail_times: dict[str, int] = field(default_factory=dict)
    """How many times each job id fails before it succeeds (absent: never fails)."""

    def calls_of(self, job_id: str) -> list[Call]:
        return [c for c in self.calls if c.job_id == job_id]

    async def handler(self, ctx: Any, event: contracts.ResearchRequested) -> None:
        self.calls.append(Call(event.job_id, time.time(), dict(ctx.headers)))
        # The effect is written before the failure: a failed attempt's transaction must roll it back.
        await ctx.conn.execute("INSERT INTO effects (job_id) VALUES ($1)", event.job_id)
        if len(self.calls_of(event.job_id)) <= self.fail_times.get(event.job_id, 0):
            raise Unavailable(f"dependency down while handling {event.job_id}")

    async def start_consuming(self, delays: tuple[float, ...]) -> None:
        await self.start(
            TOPIC, contracts.ResearchRequested, self.handler, service="test-retries", retry_delays=delays
        )

    async def effects(self) -> dict[str, int]:
        async with self.pool.acquire() as conn:
            rows = await conn.fetch("SELECT job_id, count(*) AS n FROM effects GROUP BY job_id")
        return {r["job_id"]: r["n"] for r in rows}

    async def send(self, job_id: str, *, partition: int) -> Any:
        """Publish one event to ``partition`` of the source topic; returns its record metadata."""
        envelope = wrap(
            contracts.ResearchRequested(job_id=job_id, owner_id="o", keywords=["mug"]),
            source="test",
            extra_headers={"traceparent": f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"},
        )
        producer = AIOKafkaProducer(bootstrap_servers=self.settings.kafka.bootstrap_servers)
        await producer.start()
        try:
            return await producer.send_and_wait(
                self.settings.kafka.topic(TOPIC),
                envelope.payload,
                key=job_id.encode(),
                partition=partition,
                headers=[(k, v.encode()) for k, v in envelope.headers.items()],
            )
        finally:
            await producer.stop()

    async def read(self, logical_topic: str) -> list[ConsumerRecord[bytes, bytes]]:
        kafka = self.settings.kafka
        return await read_topic(kafka.bootstrap_servers, kafka.topic(logical_topic), kafka.partitions)

    async def committed(self) -> dict[str, dict[int, int]]:
        """The group's committed offsets of the source and retry topics, by topic and partition."""
        kafka = self.settings.kafka
        topics = [kafka.topic(TOPIC)] + [kafka.topic(retry_topic(TOPIC, self.group, n)) for n in (1, 2, 3)]
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
        await admin.start()
        try:
            offsets = await admin.list_consumer_group_offsets(
                self.group, partitions=[TopicPartition(t, p) for t in topics for p in range(kafka.partitions)]
            )
        finally:
            await admin.close()
        out: dict[str, dict[int, int]] = defaultdict(dict)
        for tp, meta in offsets.items():
            out[tp.topic][tp.partition] = meta.offset
        return out


async def read_topic(bootstrap: str, topic: str, partitions: int) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record currently in ``topic`` (no consumer group, so no group join)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        records: list[ConsumerRecord[bytes, bytes]] = []
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            batch = await consumer.getmany(timeout_ms=500)
            for recs in batch.values():
                records.extend(recs)
        return records
    finally:
        await consumer.stop()


@pytest.fixture
async def harness(make_settings: Any, pg_url: str, schema: str) -> AsyncIterator[Harness]:
    settings = make_settings()
    async with consumer_schema(settings, schema, "CREATE TABLE effects (job_id text NOT NULL)") as pool:
        h = Harness(settings=settings, pool=pool)
        yield h
        await h.stop()


async def test_a_failing_record_is_retried_when_due_without_blocking_its_partition(harness: Harness) -> None:
    delays = (3.0, 2.0, 20.0)
    harness.fail_times["flaky"] = 2
    await harness.start_consuming(delays)

    flaky = await harness.send("flaky", partition=0)
    # Other keys behind it on the same partition, and records on the other partitions.
    same_partition = [f"p0-{i}" for i in range(15)]
    others = [f"p{p}-{i}" for p in (1, 2) for i in range(5)]
    for job_id in same_partition:
        await harness.send(job_id, partition=0)
    for job_id in others:
        await harness.send(job_id, partition=int(job_id[1]))

    everything = ["flaky", *same_partition, *others]
    await wait_until(
        lambda: _has_all(harness, everything), timeout=60, what="every record's effect, the flaky one's too"
    )

    first, second, third = harness.calls_of("flaky")
    # The first retry came from retry.1, the second from retry.2, each no earlier than its due time.
    assert RETRY_ATTEMPT not in first.headers
    assert second.headers[RETRY_ATTEMPT] == "1"
    assert third.headers[RETRY_ATTEMPT] == "2"
    assert second.at * 1000 >= int(second.headers[RETRY_DUE])
    assert third.at * 1000 >= int(third.headers[RETRY_DUE])
    assert second.at >= first.at + delays[0]
    assert third.at >= second.at + delays[1]
    for retried in (second, third):
        assert retried.headers[dlh.ORIGINAL_TOPIC] == TOPIC
        assert retried.headers[dlh.ORIGINAL_PARTITION] == "0"
        assert retried.headers[dlh.ORIGINAL_OFFSET] == str(flaky.offset)
        assert retried.headers[dlh.EXCEPTION_TYPE].endswith("Unavailable")
        # The retry continues the record's trace, as a child of the failed attempt's span.
        assert _trace_id(retried.headers) == _trace_id(first.headers)
    assert second.headers[dlh.ATTEMPTS] == "1"
    assert third.headers[dlh.ATTEMPTS] == "2"
    assert second.headers[dlh.FIRST_FAILURE] == third.headers[dlh.FIRST_FAILURE]

    # The source partition was not held up by the failing record: everything behind it was handled before
    # its first retry.
    rest = [c for c in harness.calls if c.job_id != "flaky"]
    assert max(c.at for c in rest) < second.at
    assert {c.job_id for c in rest} == set(same_partition + others)

    # Exactly once: three invocations of the flaky record, one effect; one of everything else.
    assert len(rest) == len(same_partition) + len(others)
    assert await harness.effects() == dict.fromkeys(everything, 1)

    # The record travelled retry.1 → retry.2 once each, and never reached retry.3 or the dead letters.
    hops = [await harness.read(retry_topic(TOPIC, harness.group, n)) for n in (1, 2, 3)]
    assert [[r.key for r in hop] for hop in hops] == [[b"flaky"], [b"flaky"], []]
    assert hops[0][0].value == hops[1][0].value == await _source_value(harness, flaky)
    assert await harness.read(contracts.DEADLETTER) == []


async def test_a_record_that_keeps_failing_is_dead_lettered_after_the_third_retry(harness: Harness) -> None:
    delays = (0.5, 1.0, 1.5)
    harness.fail_times["doomed"] = 99
    await harness.start_consuming(delays)

    doomed = await harness.send("doomed", partition=1)
    await harness.send("fine", partition=1)
    dead = await _wait_for_records(harness, contracts.DEADLETTER, 1)
    calls = harness.calls_of("doomed")
    assert len(calls) == 4, "the first attempt and three retries"
    for previous, retried, delay in zip(calls[:-1], calls[1:], delays, strict=True):
        assert retried.at >= previous.at + delay

    (letter,) = dead
    headers = headers_of(letter.headers)
    assert letter.value == await _source_value(harness, doomed)
    assert letter.key == b"doomed"
    assert headers[dlh.ATTEMPTS] == "4"
    assert headers[dlh.ORIGINAL_TOPIC] == TOPIC
    assert headers[dlh.ORIGINAL_PARTITION] == "1"
    assert headers[dlh.ORIGINAL_OFFSET] == str(doomed.offset)
    assert headers[dlh.CONSUMER_GROUP] == harness.group
    assert headers[dlh.EXCEPTION_TYPE] == f"{__name__}.Unavailable"
    assert headers[dlh.EXCEPTION_MESSAGE] == "dependency down while handling doomed"
    assert headers[dlh.FIRST_FAILURE] < headers[dlh.LAST_FAILURE]
    assert headers[dlh.FIRST_FAILURE] == calls[1].headers[dlh.FIRST_FAILURE]
    assert _trace_id(headers) == _trace_id(calls[0].headers)
    assert headers["ce_id"] == calls[0].headers["ce_id"]

    effects = await harness.effects()
    assert "doomed" not in effects, "no failed attempt left an effect behind"
    assert effects == {"fine": 1}
    # Every hop's offset is committed once the next hop was acknowledged (at the end of the batch that
    # handled it, so shortly after the dead letter appears): nothing is handled again.
    kafka = harness.settings.kafka

    async def every_hop_committed() -> bool:
        committed = await harness.committed()
        return committed[kafka.topic(TOPIC)][1] == doomed.offset + 2 and all(
            # -1: nothing committed on a partition that never had a record
            sum(max(0, o) for o in committed[kafka.topic(retry_topic(TOPIC, harness.group, n))].values()) == 1
            for n in (1, 2, 3)
        )

    await wait_until(every_hop_committed, timeout=10, what="the offsets of every hop committed")
    await asyncio.sleep(1.0)
    assert await every_hop_committed(), "committed once, not moved on by a second handling"


async def _has_all(h: Harness, job_ids: list[str]) -> bool:
    return set(await h.effects()) >= set(job_ids)


async def _wait_for_records(h: Harness, topic: str, n: int) -> list[ConsumerRecord[bytes, bytes]]:
    found: list[ConsumerRecord[bytes, bytes]] = []

    async def enough() -> bool:
        nonlocal found
        found = await h.read(topic)
        return len(found) >= n

    await wait_until(enough, timeout=60, interval=0.3, what=f"{n} record(s) on {topic}")
    return found


async def _source_value(h: Harness, metadata: Any) -> bytes:
    records = await h.read(TOPIC)
    (record,) = [r for r in records if r.partition == metadata.partition and r.offset == metadata.offset]
    assert record.value is not None
    return record.value


async def test_a_retry_stays_in_the_records_trace_under_the_failed_attempt(
    harness: Harness, recorded_spans: Any
) -> None:
    harness.fail_times["flaky"] = 1
    await harness.start_consuming((0.3, 0.3, 0.3))
    await harness.send("flaky", partition=0)
    retry = retry_topic(TOPIC, harness.group, 1)

    def processed() -> list[Any]:
        return [s for s in recorded_spans.get_finished_spans() if s.name == f"process {TOPIC}"]

    await wait_until(lambda: len(processed()) == 2, timeout=30, what="the record and its retry processed")
    failed, retried = sorted(processed(), key=lambda s: s.start_time)
    (event,) = [e for e in failed.events if e.name == "etsygen.record.retry"]
    assert dict(event.attributes or {})["etsygen.failure.reason"] == "retry"
    assert dict(event.attributes or {})["messaging.destination.name"] == retry
    (send,) = [s for s in recorded_spans.get_finished_spans() if s.name == f"send {retry}"]
    # process (failed) → send to retry.1 → process (the retry), one trace with the record's first span.
    assert send.parent is not None
    assert send.parent.span_id == failed.context.span_id
    assert retried.parent is not None
    assert retried.parent.span_id == send.context.span_id
    assert failed.context.trace_id == send.context.trace_id == retried.context.trace_id
    assert f"{failed.context.trace_id:032x}" == _trace_id(harness.calls[0].headers)
    assert str((retried.attributes or {})["messaging.destination.name"]).endswith(".retry.1")
    assert retried.status.is_ok


def _trace_id(headers: dict[str, str]) -> str:
    return headers["traceparent"].split("-")[1]
