"""Kafka wiring on FastStream: broker factory, acknowledged publishing, topics, and reliable consumers.

Consumers never use FastStream's default acknowledgement: every subscriber is registered with
``AckPolicy.MANUAL`` and :class:`EventConsumer` commits the offset only after the handler's database
transaction (inbox insert first, effects, outbox rows) has committed, or after a failed record was handed to
a retry topic or the dead-letter topic and the broker acknowledged that publish.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import asyncpg
import msgspec
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from fast_depends.msgspec import MsgSpecSerializer
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from opentelemetry import trace

from etsygen_common import contracts
from etsygen_common.contracts import deadletter as dlh
from etsygen_common.contracts.keywords import Stage
from etsygen_common.db import is_unavailable
from etsygen_common.envelope import Envelope, InvalidEnvelopeError, headers_of, require_id, wrap
from etsygen_common.logging import bind, get_logger, log_context
from etsygen_common.messaging_spans import SendSpans, consumer_span, note_handoff
from etsygen_common.metrics import (
    CONSUMER_LAG,
    CONSUMER_PAUSES,
    DEADLETTERS,
    EVENTS_CONSUMED,
    HANDLER_SECONDS,
    RETRIES,
)
from etsygen_common.outbox import enqueue
from etsygen_common.settings import KafkaSettings
from etsygen_common.topology import durability_of, topic_configs
from etsygen_common.waiting import WaitingNotices

log = get_logger(__name__)
E = TypeVar("E", bound=contracts.Event)

RETRY_DELAYS_S: tuple[float, ...] = (5.0, 10.0, 20.0)
"""Delay of each retry topic: ``<topic>.<group>.retry.1`` waits 5 s, ``.2`` 10 s, ``.3`` 20 s."""
RETRY_DUE = "x-retry-due-ms"
RETRY_ATTEMPT = "x-retry-attempt"
STACK_LIMIT = 4000
BATCH_WAIT_MS = 100
"""How long a consumer's fetch waits for records when none are buffered."""
GROUP_RECORDS = 50
"""Most prepared records of one partition applied in one transaction."""
GROUP_LINGER_S = 0.05
"""A group is applied once its first record has waited this long (slow ``prepare`` steps, such as AI calls,
then get a transaction each instead of holding finished work back)."""
DATABASE_PAUSE_S = 2.0
"""While the database cannot be reached, the consumer rewinds and pauses for this long, then tries again: an
outage says nothing about the records, so none of them is retried or dead-lettered for it."""


def create_broker(settings: KafkaSettings, *, client_id: str, graceful_timeout: float = 20.0) -> KafkaBroker:
    """Create a FastStream Kafka broker whose producer waits for every in-sync replica (``KAFKA_ACKS``, all).

    Idempotence stays off: Tansu (the development broker) has no idempotent producer; duplicates that
    retries may cause are removed by the consumers' inbox.
    """
    return KafkaBroker(
        settings.bootstrap_servers.split(","),
        acks=settings.producer_acks,
        enable_idempotence=False,
        client_id=client_id,
        request_timeout_ms=settings.request_timeout_ms,
        serializer=MsgSpecSerializer(),
        # How long stopping a subscriber waits for the record in hand (graceful shutdown).
        graceful_timeout=graceful_timeout,
        logger=None,
    )


class KafkaPublisher:
    """Publishes envelopes and returns only when the broker acknowledged each of them (``KAFKA_ACKS``, all).

    It drives its own aiokafka producer rather than ``broker.publish``: records arrive already encoded
    (outbox rows, failed records), and FastStream's per-call publish path halved the relay's throughput in
    ``bench/bench_outbox.py``. The producer starts on first use; :meth:`close` stops it.
    """

    def __init__(
        self, broker: KafkaBroker | None, settings: KafkaSettings, *, client_id: str = "etsygen"
    ) -> None:
        del broker  # kept in the signature: consumers and publishers are built side by side
        self._settings = settings
        self._client_id = client_id
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def _started(self) -> AIOKafkaProducer:
        if self._producer is None:
            async with self._lock:
                if self._producer is None:
                    producer = AIOKafkaProducer(
                        bootstrap_servers=self._settings.bootstrap_servers.split(","),
                        acks=self._settings.producer_acks,
                        enable_idempotence=False,  # Tansu has no idempotent producer; the inbox dedups
                        client_id=self._client_id,
                        request_timeout_ms=self._settings.request_timeout_ms,
                        linger_ms=5,
                    )
                    await producer.start()
                    self._producer = producer
        return self._producer

    async def publish_batch(self, records: Sequence[Envelope]) -> None:
        """Send every record, then wait for all acknowledgements; raise if any failed."""
        producer = await self._started()
        topic = self._settings.topic
        sends = SendSpans(records, topic)
        try:
            futures = [
                await producer.send(topic(r.topic), r.payload, key=r.key, headers=headers)
                for r, headers in zip(records, sends.headers, strict=True)
            ]
            acks = await asyncio.gather(*futures)
        except Exception as exc:
            sends.failed(exc)
            raise
        sends.acknowledged(acks)

    async def close(self) -> None:
        """Flush and stop the producer."""
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()

    async def publish(self, record: Envelope) -> None:
        """Send one record and wait for its acknowledgement."""
        await self.publish_batch([record])


def retry_topic(topic: str, group: str, attempt: int) -> str:
    """Name of the retry topic for ``attempt`` (1-based) of ``group`` consuming ``topic``."""
    return f"{topic}.{group}.retry.{attempt}"


async def ensure_topics(settings: KafkaSettings, names: Iterable[str]) -> list[str]:
    """Create the physical topics for logical ``names`` with the configured partitions (idempotent).

    Each gets the configs it is declared with (etsygen_common.topology: registry retention,
    min.insync.replicas for ``KAFKA_REPLICATION_FACTOR``, no unclean leader election), so a topic a service
    creates is as durable as one declared by deploy/k8s/components/kafka-topics or compose's kafka-init.
    Existing topics are left as they are.

    Returns:
        The physical names that were created by this call.
    """
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers.split(","),
        request_timeout_ms=settings.request_timeout_ms,
    )
    await admin.start()
    created: list[str] = []
    try:
        existing = set(await admin.list_topics())
        durability = durability_of(settings.replication_factor)
        for logical in names:
            name = settings.topic(logical)
            if name in existing:
                continue
            try:
                await admin.create_topics(
                    [
                        NewTopic(
                            name,
                            num_partitions=settings.partitions,
                            replication_factor=settings.replication_factor,
                            topic_configs=topic_configs(logical, durability),
                        )
                    ]
                )
                created.append(name)
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()
    return created


class FatalError(Exception):
    """A failure that retrying cannot fix (bad data, contract violation): the record goes straight to the
    dead-letter topic."""


class PauseConsumption(Exception):  # noqa: N818 - a signal, not an error
    """Raised by a handler when a dependency is known to be unavailable (an open circuit breaker): the
    record is not failed; the consumer rewinds to it and pauses its partitions for ``seconds``."""

    def __init__(
        self,
        seconds: float,
        reason: str,
        *,
        database: bool = False,
        cause: contracts.WaitingReason = "dependency_unavailable",
    ) -> None:
        super().__init__(reason)
        self.seconds = seconds
        self.reason = reason
        self.database = database
        """True when the consumer itself found the database unreachable (not raised by a handler)."""
        self.cause: contracts.WaitingReason = "database_unavailable" if database else cause
        """What the keyword waits for, as the ``KeywordWaiting`` event names it."""


FATAL_TYPES: tuple[type[BaseException], ...] = (
    FatalError,
    asyncpg.DataError,  # a value the schema rejects is rejected again on every retry
    msgspec.ValidationError,
    msgspec.DecodeError,
    InvalidEnvelopeError,
    UnicodeDecodeError,
)


def is_retryable(exc: BaseException) -> bool:
    """Classify a handler failure: contract and data errors are fatal, everything else is retried."""
    return not isinstance(exc, FATAL_TYPES)


@dataclass(slots=True)
class HandlerContext:
    """What a handler gets besides the event: its transaction's connection and an outbox to emit into."""

    conn: Any
    headers: dict[str, str]
    topic: str
    source: str
    emitted: list[Envelope] = field(default_factory=list)
    prepared: Any = None
    """What the handler's ``prepare`` step returned (external I/O done before the transaction opened)."""
    committed: list[Callable[[], None]] = field(default_factory=list)
    """Callbacks run once the handler's transaction has committed (see :meth:`on_commit`)."""
    shared: dict[Any, Any] = field(default_factory=dict)
    """State shared by the records applied in the same transaction (several records of a partition can
    share one): e.g. a note that a transaction-scoped lock is already held."""

    def emit(self, event: contracts.Event, *, event_id: str | None = None, key: bytes | None = None) -> None:
        """Queue an event for the outbox; it is written in the handler's transaction."""
        self.emitted.append(wrap(event, source=self.source, event_id=event_id, key=key))

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` after the transaction commits (never if it rolls back): e.g. to let an
        in-process cache learn what the transaction stored."""
        self.committed.append(callback)

    @property
    def event_id(self) -> str:
        """``ce_id`` of the record being handled."""
        return self.headers["ce_id"]


Handler = Callable[[HandlerContext, E], Awaitable[None]]


@dataclass(slots=True)
class _Batch:
    """One fetched batch in progress: where to commit, whether a pause stopped it, when to stop."""

    consumer: Any
    deadline: float
    handled: set[str]
    commits: dict[TopicPartition, int] = field(default_factory=dict)
    paused: bool = False


@dataclass(slots=True)
class _Ready:
    """A record decoded and prepared, waiting for its transaction."""

    record: Any
    tp: TopicPartition
    headers: dict[str, str]
    route: _Route[Any]
    attempt: int
    event_id: str
    event: Any
    prepared: Any
    span: Any
    log_fields: dict[str, str]
    locks: list[str]
    """Keys the handler serialises on (its ``locks`` step), taken before it runs."""
    work_s: float
    """Seconds spent on this record so far (decoding, prepare, handler), for the handler-duration metric."""


async def take_locks(conn: Any, keys: list[str]) -> None:
    """Take the transaction-scoped advisory locks of ``keys``, in one order for every transaction (sorted),
    so transactions that need several never wait on each other in a cycle."""
    if keys:
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(key, 0)) "
            "FROM (SELECT DISTINCT unnest($1::text[]) AS key ORDER BY 1) AS keys",
            keys,
        )


def _database_pause(exc: BaseException) -> PauseConsumption:
    return PauseConsumption(DATABASE_PAUSE_S, f"database unavailable: {exc!r}", database=True)


def _offset_after(group: list[_Ready | int], finished: int, done: int | None) -> int | None:
    """The offset to commit once the first ``finished`` entries of ``group`` are finished."""
    if finished == 0:
        return done
    last = group[finished - 1]
    return (last.record.offset if isinstance(last, _Ready) else last) + 1


@dataclass(slots=True)
class _Route(Generic[E]):
    """A logical topic, its body type and its handler."""

    topic: str
    body: type[E]
    handler: Handler[E]


class EventConsumer:
    """Registers reliable subscribers for one consumer group on a FastStream broker.

    For each logical topic it subscribes to the topic itself and to the group's three retry topics. A record
    is applied in a transaction: inbox insert ``(group, ce_id)`` first (a duplicate is skipped), then the
    handler, then the handler's outbox rows; the offset is committed after that transaction commits.
    Consecutive records of a partition may share one transaction (see ``_process_partition``); each keeps its
    own inbox and outbox rows, and a failing record is isolated and retried alone.

    A handler is ``async (ctx, event) -> None`` and may have two optional methods:

    * ``async prepare(event)``: slow external work (HTTP calls) run before any transaction; its result is
      ``ctx.prepared``. It is skipped for an event already in the inbox.
    * ``locks(event) -> Iterable[str]``: keys the handler's transaction must hold exclusively (advisory
      locks), taken at the start of the transaction in a fixed order, so records sharing a transaction
      cannot deadlock with other transactions over them.
    """

    def __init__(
        self,
        broker: KafkaBroker,
        pool: Any,
        settings: KafkaSettings,
        *,
        service: str,
        group: str,
        publisher: KafkaPublisher,
        retry_delays: Sequence[float] = RETRY_DELAYS_S,
        waiting_stage: Stage | None = None,
    ) -> None:
        self._broker = broker
        self._pool = pool
        self._settings = settings
        self.service = service
        self.group = group
        self._publisher = publisher
        self._delays = tuple(retry_delays)
        self._routes: list[_Route[Any]] = []
        self._by_topic: dict[str, tuple[_Route[Any], int]] = {}
        self._attached = False
        self._inflight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._resume_handles: list[asyncio.TimerHandle] = []
        self._stopping = False
        # Only pipeline stages tell the gateway why a keyword waits; tests and benchmarks leave it off.
        self._waiting = (
            WaitingNotices(publisher, service=service, stage=waiting_stage) if waiting_stage else None
        )

    @property
    def routes(self) -> list[_Route[Any]]:
        """The logical topics this group handles, with their body types and handlers."""
        return list(self._routes)

    @property
    def topics(self) -> list[str]:
        """Every logical topic this consumer reads or writes for failures (for topic creation)."""
        names: list[str] = [contracts.DEADLETTER]
        if self._waiting is not None:
            names.append(contracts.KEYWORD_WAITING)
        for r in self._routes:
            names.append(r.topic)
            names.extend(retry_topic(r.topic, self.group, i + 1) for i in range(len(self._delays)))
        return names

    def subscribe(
        self, topic: str, body: type[E], handler: Handler[E], *, replay_redrives: bool = False
    ) -> None:
        """Handle ``topic`` (a logical name) with ``handler`` in this consumer group.

        ``replay_redrives`` marks a pipeline stage keyed by ``(job_id, keyword)``: its output is stored, and a
        re-drive of a keyword it already finished is answered from that output (``etsygen_common.redrive``).
        """
        if self._attached:
            raise RuntimeError("subscribe() must come before attach()")
        if replay_redrives:
            from etsygen_common.redrive import ReplayOnRedrive

            handler = ReplayOnRedrive[E](handler, self._pool, group=self.group, service=self.service)
        route = _Route(topic, body, handler)
        self._routes.append(route)
        self._by_topic[self._settings.topic(topic)] = (route, 0)
        for i in range(len(self._delays)):
            self._by_topic[self._settings.topic(retry_topic(topic, self.group, i + 1))] = (route, i + 1)

    def attach(self) -> None:
        """Register one FastStream batch subscriber (one Kafka consumer) for every topic and retry topic of
        the group, before the broker starts. One consumer joins the group once, and pausing a retry partition
        until its record is due leaves every other partition flowing."""
        if self._attached or not self._routes:
            return
        self._attached = True

        async def on_batch(msg: KafkaMessage) -> None:
            records = msg.raw_message
            assert isinstance(records, tuple)  # a batch subscriber hands over a tuple of records
            await self._process_batch(msg.consumer, records)

        self._broker.subscriber(
            *self._by_topic,
            batch=True,
            max_records=self._settings.batch_records,
            batch_timeout_ms=BATCH_WAIT_MS,
            decoder=_raw_body,  # handlers decode each record with msgspec into the route's Struct
            group_id=self.group,
            ack_policy=AckPolicy.MANUAL,
            auto_offset_reset="earliest",
            max_poll_interval_ms=self._settings.max_poll_interval_ms,
            fetch_max_wait_ms=self._settings.fetch_max_wait_ms,
        )(on_batch)

    def stop_taking_records(self) -> None:
        """Shutdown: finish the record in hand, commit, and leave the rest of the batch for the next owner."""
        self._stopping = True

    def resume_taking_records(self) -> None:
        """Take records again after :meth:`drain` (the Kafka clients were restarted, not the service)."""
        self._stopping = False

    async def drain(self, timeout: float) -> bool:
        """Wait until no handler is running (graceful shutdown). Returns False on timeout."""
        self._stopping = True
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def _process_batch(self, consumer: Any, records: Sequence[Any]) -> None:
        """Handle a fetched batch, each partition in offset order (several partitions at once), then commit.

        A partition stops early when one of its records must be read again later (a retry not yet due, an
        open breaker, an unreachable database, a failure that could not be handed on, shutdown, or the
        batch's time budget): the consumer seeks back to that record, and only the records before it are
        committed. Should the batch fail in any other way, every partition is rewound to its first record
        not finished, so nothing fetched is skipped by a later commit.
        """
        if not records:
            return
        self._inflight += 1
        self._idle.clear()
        try:
            by_partition: dict[TopicPartition, list[Any]] = {}
            for record in records:
                by_partition.setdefault(TopicPartition(record.topic, record.partition), []).append(record)
            batch = _Batch(
                consumer=consumer, deadline=time.monotonic() + self._settings.batch_max_s, handled=set()
            )
            try:
                await self._run_batch(batch, records, by_partition)
            except Exception as exc:
                # Whatever stopped the batch, the consumer has already moved past its records: read every
                # record not known to be finished again, or a later commit would skip it.
                self._rewind_unfinished(batch, by_partition, exc)
            await self._commit(consumer, batch.commits)
            self._record_lag(consumer, by_partition, batch.commits)
        finally:
            self._inflight -= 1
            if self._inflight == 0:
                self._idle.set()

    async def _run_batch(
        self, batch: _Batch, records: Sequence[Any], by_partition: dict[TopicPartition, list[Any]]
    ) -> None:
        batch.handled = await self._handled_ids(records)
        lanes = min(self._settings.partition_concurrency, len(by_partition))
        if lanes <= 1:
            for tp, partition_records in by_partition.items():
                await self._run_partition(batch, tp, partition_records)
            return
        # Partitions are independent (ordering holds per partition, per key): overlap their waits on the
        # database and on external services, a bounded number at a time.
        limit = asyncio.Semaphore(lanes)

        async def lane(tp: TopicPartition, partition_records: list[Any]) -> None:
            async with limit:
                await self._run_partition(batch, tp, partition_records)

        # Every lane finishes before the batch ends, even when one of them fails.
        outcomes = await asyncio.gather(
            *(lane(tp, recs) for tp, recs in by_partition.items()), return_exceptions=True
        )
        errors = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
        if errors:
            raise errors[0]

    def _rewind_unfinished(
        self, batch: _Batch, by_partition: dict[TopicPartition, list[Any]], exc: Exception
    ) -> None:
        """Seek every partition of the batch back to its first record not finished, then pause them all."""
        outage = is_unavailable(exc)
        if outage:
            log.warning("database unavailable; batch rewound", extra={"error": repr(exc)})
        else:
            log.error("batch failed; rewound to the first unfinished records", exc_info=exc)
        consumer = batch.consumer
        assigned = consumer.assignment()
        for tp, records in by_partition.items():
            if tp in assigned:
                consumer.seek(tp, batch.commits.get(tp, records[0].offset))
        # An unexpected error pauses for a second too: do not spin on it.
        self._pause_all(batch, DATABASE_PAUSE_S if outage else 1.0, "database" if outage else "error")

    async def _run_partition(self, batch: _Batch, tp: TopicPartition, records: list[Any]) -> None:
        done = await self._process_partition(batch, tp, records)
        if done is not None:
            batch.commits[tp] = done

    async def _process_partition(self, batch: _Batch, tp: TopicPartition, records: list[Any]) -> int | None:
        """Handle one partition's records in order; return the offset to commit (None: nothing done).

        Records are decoded and prepared one by one, and the prepared ones are applied together in one
        transaction (a group) when the group is full, when it has waited long enough, before a record that
        stops the partition, and at the end. Each record keeps its own inbox row and outbox rows; if the
        group's transaction fails, its records are applied again one transaction each, so only the record
        that fails is retried or dead-lettered.
        """
        done: int | None = None
        group: list[_Ready | int] = []  # prepared records, and offsets of records finished without one
        group_started = 0.0
        for record in records:
            if group and (len(group) >= GROUP_RECORDS or time.monotonic() - group_started >= GROUP_LINGER_S):
                finished = await self._apply(batch, group)
                if finished < len(group):
                    return _offset_after(group, finished, done)
                done, group = _offset_after(group, finished, done), []
            # The time budget stops a partition only once it has made progress in this batch: partitions
            # that wait for a free lane behind slow ones must not be rewound batch after batch.
            over_time = record is not records[0] and time.monotonic() > batch.deadline
            if batch.paused or self._stopping or over_time:
                batch.consumer.seek(tp, record.offset)  # read again, by this consumer or the next owner
                break
            route, attempt = self._by_topic[record.topic]
            headers = headers_of(record.headers)
            if attempt > 0 and self._not_yet_due(batch.consumer, tp, record, headers):
                break
            step = await self._ready(batch, tp, record, headers, route, attempt)
            if step is False:
                break  # the partition was rewound to this record
            if not group:
                group_started = time.monotonic()
            group.append(record.offset if step is True else step)
        if group:
            finished = await self._apply(batch, group)
            done = _offset_after(group, finished, done)
        return done

    async def _ready(
        self,
        batch: _Batch,
        tp: TopicPartition,
        record: Any,
        headers: dict[str, str],
        route: _Route[Any],
        attempt: int,
    ) -> _Ready | bool:
        """Decode a record and run its handler's ``prepare`` step (external I/O, before any transaction).

        Returns the prepared record; True when the record is finished without a transaction (a duplicate,
        or a failure handed to a retry or the dead-letter topic); False when the partition was rewound to it.
        """
        started = time.perf_counter()
        span = consumer_span(route.topic, record, headers, self.group)
        token = log_context.set({})
        try:
            # Failures are recorded where their outcome is known (a pause is none; see messaging_spans).
            with trace.use_span(
                span, end_on_exit=False, record_exception=False, set_status_on_exception=False
            ):
                event_id = require_id(headers)
                event = msgspec.json.decode(record.value, type=route.body)
                bind(job_id=getattr(event, "job_id", None), event_id=event_id)
                prepare = getattr(route.handler, "prepare", None)
                prepared = None
                if prepare is not None:
                    # Slow external work (HTTP calls) runs before the transaction, so no connection is held
                    # open meanwhile; a record already handled is skipped without repeating that work.
                    if event_id in batch.handled:
                        self._finish(route, "duplicate", span, started)
                        return True
                    prepared = await prepare(event)
                return _Ready(
                    record=record,
                    tp=tp,
                    headers=headers,
                    route=route,
                    attempt=attempt,
                    event_id=event_id,
                    event=event,
                    prepared=prepared,
                    span=span,
                    log_fields=dict(log_context.get() or {}),
                    locks=list(locks(event)) if (locks := getattr(route.handler, "locks", None)) else [],
                    work_s=time.perf_counter() - started,
                )
        except PauseConsumption as pause:
            self._pause(batch, tp, record, pause)
            self._finish(route, None, span, started)
            return False
        except Exception as exc:
            if is_unavailable(exc):
                self._pause(batch, tp, record, _database_pause(exc))
                self._finish(route, None, span, started)
                return False
            handed_on = await self._fail(record, headers, route, attempt, exc, span=span)
            if not handed_on:
                batch.consumer.seek(tp, record.offset)
                await asyncio.sleep(1.0)  # the broker refused the hand-over: do not spin
            self._finish(route, None, span, started)
            return handed_on
        finally:
            log_context.reset(token)

    async def _apply(self, batch: _Batch, group: list[_Ready | int]) -> int:
        """Apply a group's prepared records; return how many leading entries are finished (the partition is
        rewound to the first that is not).

        When a handler fails inside the group's transaction, the records before it are applied again
        without it, the failing record goes to its retry topic (or the dead-letter topic, or pauses the
        consumer) exactly as it would alone, and the records after it form the next group. Its handler is
        not called a second time for this delivery.
        """
        start = 0
        while True:
            positions = [i for i in range(start, len(group)) if isinstance(group[i], _Ready)]
            if not positions:
                return len(group)
            if len(positions) == 1:
                only = group[positions[0]]
                assert isinstance(only, _Ready)
                return len(group) if await self._apply_alone(batch, only) else positions[0]
            items = [entry for entry in group[start:] if isinstance(entry, _Ready)]
            failure = await self._apply_together(batch, items)
            if failure is None:
                return len(group)
            failed, exc = failure
            if failed is None:  # not one record's fault (the inbox or outbox statement, the commit)
                for position in positions:
                    entry = group[position]
                    assert isinstance(entry, _Ready)
                    if not await self._apply_alone(batch, entry):
                        return position
                return len(group)
            failed_at = positions[failed]
            if failed > 0:
                finished = await self._apply(batch, group[start:failed_at])
                if finished < failed_at - start:
                    return start + finished
            entry = group[failed_at]
            assert isinstance(entry, _Ready)
            if not await self._failed(batch, entry, exc):
                return failed_at
            start = failed_at + 1

    async def _apply_together(
        self, batch: _Batch, items: list[_Ready]
    ) -> tuple[int | None, Exception] | None:
        """One transaction for the group: every inbox row in one statement, each handler, every outbox row.

        Returns None when it committed; otherwise (nothing applied) the index of the record whose handler
        failed (None when the failure was no handler's) and the exception.
        """
        contexts: list[HandlerContext | None] = []
        running: int | None = None
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                await take_locks(conn, [key for item in items for key in item.locks])
                fresh = set(
                    await conn.fetchval(
                        "WITH new AS (INSERT INTO inbox (consumer_group, event_id, topic) "
                        "SELECT $1, event_id, topic "
                        "FROM unnest($2::text[], $3::text[]) AS r(event_id, topic) "
                        "ON CONFLICT DO NOTHING RETURNING event_id) "
                        "SELECT coalesce(array_agg(event_id), '{}') FROM new",
                        self.group,
                        [item.event_id for item in items],
                        [item.route.topic for item in items],
                    )
                )
                shared: dict[Any, Any] = {}
                for position, item in enumerate(items):
                    if item.event_id not in fresh:
                        contexts.append(None)
                        continue
                    fresh.discard(item.event_id)  # the same event twice in a group: the second is a duplicate
                    running = position
                    contexts.append(await self._call_handler(conn, item, shared))
                    running = None
                await enqueue(conn, [e for ctx in contexts if ctx is not None for e in ctx.emitted])
        except Exception as exc:
            if running is None:
                log.info(
                    "group transaction failed; applying its records one at a time",
                    extra={"records": len(items), "error": repr(exc)},
                )
            return running, exc
        for item, ctx in zip(items, contexts, strict=True):
            self._committed(batch, item, ctx)
        return None

    async def _apply_alone(self, batch: _Batch, item: _Ready) -> bool:
        """One transaction for one record: True when finished, False when the partition was rewound to it."""
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                await take_locks(conn, item.locks)
                fresh = await conn.fetchval(
                    "INSERT INTO inbox (consumer_group, event_id, topic) VALUES ($1, $2, $3) "
                    "ON CONFLICT DO NOTHING RETURNING true",
                    self.group,
                    item.event_id,
                    item.route.topic,
                )
                ctx = await self._call_handler(conn, item, {}) if fresh else None
                if ctx is not None:
                    await enqueue(conn, ctx.emitted)
        except Exception as exc:
            return await self._failed(batch, item, exc)
        self._committed(batch, item, ctx)
        return True

    async def _failed(self, batch: _Batch, item: _Ready, exc: Exception) -> bool:
        """A prepared record's transaction failed: pause for an open breaker or an unreachable database (the
        record is not at fault), otherwise hand the record to its next retry topic or the dead-letter topic.
        True when finished, False when rewound to it."""
        if isinstance(exc, PauseConsumption) or is_unavailable(exc):
            pause = exc if isinstance(exc, PauseConsumption) else _database_pause(exc)
            self._pause(batch, item.tp, item.record, pause)
            self._finish(item.route, None, item.span, None, item.work_s)
            return False
        token = log_context.set(dict(item.log_fields))
        try:
            handed_on = await self._fail(
                item.record, item.headers, item.route, item.attempt, exc, span=item.span
            )
        finally:
            log_context.reset(token)
        if not handed_on:
            batch.consumer.seek(item.tp, item.record.offset)
            await asyncio.sleep(1.0)  # the broker refused the hand-over: do not spin
        self._finish(item.route, None, item.span, None, item.work_s)
        return handed_on

    async def _call_handler(self, conn: Any, item: _Ready, shared: dict[Any, Any]) -> HandlerContext:
        """Run the route's handler for one prepared record in the open transaction."""
        ctx = HandlerContext(
            conn=conn,
            headers=item.headers,
            topic=item.route.topic,
            source=self.service,
            prepared=item.prepared,
            shared=shared,
        )
        started = time.perf_counter()
        token = log_context.set(dict(item.log_fields))
        try:
            with trace.use_span(
                item.span, end_on_exit=False, record_exception=False, set_status_on_exception=False
            ):
                await item.route.handler(ctx, item.event)
        finally:
            log_context.reset(token)
            item.work_s += time.perf_counter() - started
        return ctx

    def _committed(self, batch: _Batch, item: _Ready, ctx: HandlerContext | None) -> None:
        """After the transaction committed: the handler's callbacks, metrics, the span."""
        if ctx is None:
            log.info("duplicate event skipped", extra={"topic": item.route.topic, "event_id": item.event_id})
            self._finish(item.route, "duplicate", item.span, None, item.work_s)
            return
        for callback in ctx.committed:
            callback()
        batch.handled.add(item.event_id)  # the same event again in this batch: prepare is not repeated
        self._finish(item.route, "ok", item.span, None, item.work_s)

    def _finish(
        self, route: _Route[Any], outcome: str | None, span: Any, started: float | None, work_s: float = 0.0
    ) -> None:
        if outcome is not None:
            EVENTS_CONSUMED.labels(self.service, route.topic, outcome).inc()
        seconds = time.perf_counter() - started if started is not None else work_s
        HANDLER_SECONDS.labels(self.service, route.topic).observe(seconds)
        span.end()

    def _record_lag(
        self, consumer: Any, by_partition: dict[TopicPartition, list[Any]], commits: dict[TopicPartition, int]
    ) -> None:
        """Lag of each partition of the batch: the high watermark its fetch saw minus where the group is now
        (the committed offset, or the batch's first record when nothing of the partition was committed)."""
        assigned = consumer.assignment()  # after a rebalance aiokafka refuses to answer for other partitions
        for tp, records in by_partition.items():
            highwater = consumer.highwater(tp) if tp in assigned else None
            if highwater is None:
                continue
            route, attempt = self._by_topic[tp.topic]
            topic = retry_topic(route.topic, self.group, attempt) if attempt else route.topic
            position = commits.get(tp, records[0].offset)
            CONSUMER_LAG.labels(self.service, self.group, topic, str(tp.partition)).set(
                max(0, highwater - position)
            )

    async def _commit(self, consumer: Any, offsets: dict[TopicPartition, int]) -> None:
        """Commit after the handlers' transactions committed. A failed commit (a rebalance) is not a handler
        failure: the records will be delivered again and the inbox skips them."""
        if not offsets:
            return
        try:
            await consumer.commit(offsets)
        except Exception as exc:
            log.warning("offset commit failed; records may be redelivered", extra={"error": repr(exc)})

    async def _handled_ids(self, records: Sequence[Any]) -> set[str]:
        """Event ids of the batch already in the inbox, read in one query, for routes with a ``prepare``
        step (their slow external work is skipped for a record already handled)."""
        ids = []
        for record in records:
            route, _ = self._by_topic[record.topic]
            if getattr(route.handler, "prepare", None) is None:
                continue
            for key, value in record.headers or ():
                if key == "ce_id":
                    ids.append(value.decode(errors="replace"))
        if not ids:
            return set()
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT event_id FROM inbox WHERE consumer_group = $1 AND event_id = ANY($2::text[])",
                self.group,
                ids,
            )
        return {row["event_id"] for row in rows}

    def _not_yet_due(self, consumer: Any, tp: TopicPartition, record: Any, headers: dict[str, str]) -> bool:
        """On a retry topic: if the record is not due, rewind to it and pause its partition until it is."""
        due_ms = int(headers.get(RETRY_DUE, "0") or 0)
        wait = due_ms / 1000 - time.time()
        if wait <= 0:
            return False
        consumer.seek(tp, record.offset)
        consumer.pause(tp)
        self._schedule_resume(consumer, [tp], wait)
        if self._waiting is not None:
            attempt = headers.get(RETRY_ATTEMPT, "?")
            error = headers.get(dlh.EXCEPTION_MESSAGE, "")[:300]
            self._waiting.notice(record.value, "retry_pending", f"retry {attempt} after: {error}", wait)
        return True

    def _schedule_resume(self, consumer: Any, partitions: list[TopicPartition], delay: float) -> None:
        loop = asyncio.get_running_loop()

        def resume() -> None:
            assigned = consumer.assignment()
            consumer.resume(*[p for p in partitions if p in assigned])

        now = loop.time()
        self._resume_handles = [h for h in self._resume_handles if h.when() > now and not h.cancelled()]
        self._resume_handles.append(loop.call_later(delay, resume))

    def _pause(self, batch: _Batch, tp: TopicPartition, record: Any, pause: PauseConsumption) -> None:
        """A dependency is down: rewind to the record and pause every partition; the rest of the batch is
        rewound too, as each partition reaches its next record."""
        batch.consumer.seek(tp, record.offset)
        log.warning("consumer paused", extra={"reason": pause.reason, "seconds": pause.seconds})
        if self._waiting is not None:
            self._waiting.notice(record.value, pause.cause, pause.reason, pause.seconds)
        self._pause_all(batch, pause.seconds, "database" if pause.database else "dependency")

    def _pause_all(self, batch: _Batch, seconds: float, cause: str) -> None:
        """Stop the batch and pause every assigned partition for ``seconds`` (counted by ``cause``)."""
        batch.paused = True
        consumer = batch.consumer
        assigned = list(consumer.assignment())
        consumer.pause(*assigned)
        CONSUMER_PAUSES.labels(self.service, cause).inc()
        self._schedule_resume(consumer, assigned, seconds)

    async def _fail(
        self,
        record: Any,
        headers: dict[str, str],
        route: _Route[Any],
        attempt: int,
        exc: BaseException,
        *,
        span: Any = None,
    ) -> bool:
        """Hand a failed record to its next retry topic or to the dead-letter topic. True once the broker
        acknowledged it (the record's offset may be committed); False if the hand-over failed. The record's
        ``span`` (default: the current one) gets an event saying where it went and why."""
        now_ms = int(time.time() * 1000)
        retryable = is_retryable(exc)
        first = headers.get(dlh.FIRST_FAILURE) or _iso(now_ms)
        failure = {
            dlh.ORIGINAL_TOPIC: headers.get(dlh.ORIGINAL_TOPIC, route.topic),
            dlh.ORIGINAL_PARTITION: headers.get(dlh.ORIGINAL_PARTITION, str(record.partition)),
            dlh.ORIGINAL_OFFSET: headers.get(dlh.ORIGINAL_OFFSET, str(record.offset)),
            dlh.ORIGINAL_TIMESTAMP: headers.get(dlh.ORIGINAL_TIMESTAMP, str(record.timestamp)),
            dlh.CONSUMER_GROUP: self.group,
            dlh.EXCEPTION_TYPE: f"{type(exc).__module__}.{type(exc).__qualname__}",
            dlh.EXCEPTION_MESSAGE: str(exc)[:1000],
            dlh.EXCEPTION_STACK: "".join(traceback.format_exception(exc))[-STACK_LIMIT:],
            dlh.ATTEMPTS: str(attempt + 1),
            dlh.FIRST_FAILURE: first,
            dlh.LAST_FAILURE: _iso(now_ms),
        }
        out_headers = {**headers, **failure}
        if retryable and attempt < len(self._delays):
            target, reason = retry_topic(route.topic, self.group, attempt + 1), "retry"
            out_headers[RETRY_DUE] = str(now_ms + int(self._delays[attempt] * 1000))
            out_headers[RETRY_ATTEMPT] = str(attempt + 1)
            RETRIES.labels(self.service, route.topic, str(attempt + 1)).inc()
            log.warning("handler failed; retry scheduled", extra={"error": repr(exc), "retry_topic": target})
        else:
            target = contracts.DEADLETTER
            reason = "exhausted" if retryable else "fatal"
            DEADLETTERS.labels(self.service, route.topic, reason).inc()
            log.error("handler failed; record dead-lettered", extra={"error": repr(exc), "reason": reason})
        out_headers.update(note_handoff(span, target=target, reason=reason, attempt=attempt + 1, exc=exc))
        try:
            await self._publisher.publish(
                Envelope(topic=target, key=record.key, headers=out_headers, payload=record.value or b"")
            )
        except Exception:
            # The failure could not be handed on: do not commit; the record is delivered again.
            log.exception("could not publish failed record; rewinding")
            return False
        EVENTS_CONSUMED.labels(
            self.service, route.topic, "retried" if target != contracts.DEADLETTER else "deadlettered"
        ).inc()
        return True

    def cancel_timers(self) -> None:
        """Cancel pending partition resumes (shutdown)."""
        for handle in self._resume_handles:
            handle.cancel()
        if self._waiting is not None:
            self._waiting.cancel()

    async def flush_notices(self) -> None:
        """Wait until the waiting notices being sent are sent (tests)."""
        if self._waiting is not None:
            await self._waiting.flush()


async def _raw_body(msg: Any) -> Any:
    """FastStream decoder that leaves the body as bytes."""
    return msg.body


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
