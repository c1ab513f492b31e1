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
from etsygen_common.envelope import Envelope, InvalidEnvelopeError, headers_of, require_id, wrap
from etsygen_common.logging import bind, get_logger, log_context
from etsygen_common.metrics import DEADLETTERS, EVENTS_CONSUMED, HANDLER_SECONDS, RETRIES
from etsygen_common.outbox import enqueue
from etsygen_common.settings import KafkaSettings
from etsygen_common.telemetry import extract_context, tracer

log = get_logger(__name__)
E = TypeVar("E", bound=contracts.Event)

RETRY_DELAYS_S: tuple[float, ...] = (5.0, 10.0, 20.0)
"""Delay of each retry topic: ``<topic>.<group>.retry.1`` waits 5 s, ``.2`` 10 s, ``.3`` 20 s."""
RETRY_DUE = "x-retry-due-ms"
RETRY_ATTEMPT = "x-retry-attempt"
STACK_LIMIT = 4000


def create_broker(settings: KafkaSettings, *, client_id: str, graceful_timeout: float = 20.0) -> KafkaBroker:
    """Create a FastStream Kafka broker whose producer waits for every in-sync replica (acks=all).

    Idempotence stays off: Tansu (the development broker) has no idempotent producer; duplicates that
    retries may cause are removed by the consumers' inbox.
    """
    return KafkaBroker(
        settings.bootstrap_servers.split(","),
        acks="all",
        enable_idempotence=False,
        client_id=client_id,
        request_timeout_ms=settings.request_timeout_ms,
        serializer=MsgSpecSerializer(),
        # How long stopping a subscriber waits for the record in hand (graceful shutdown).
        graceful_timeout=graceful_timeout,
        logger=None,
    )


class KafkaPublisher:
    """Publishes envelopes and returns only when the broker acknowledged each of them (acks=all).

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
                        acks="all",
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
        futures = [
            await producer.send(
                topic(r.topic), r.payload, key=r.key, headers=[(k, v.encode()) for k, v in r.headers.items()]
            )
            for r in records
        ]
        await asyncio.gather(*futures)

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
        wanted = [settings.topic(n) for n in names]
        for name in wanted:
            if name in existing:
                continue
            try:
                await admin.create_topics(
                    [
                        NewTopic(
                            name,
                            num_partitions=settings.partitions,
                            replication_factor=settings.replication_factor,
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

    def __init__(self, seconds: float, reason: str) -> None:
        super().__init__(reason)
        self.seconds = seconds
        self.reason = reason


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

    def emit(self, event: contracts.Event, *, event_id: str | None = None, key: bytes | None = None) -> None:
        """Queue an event for the outbox; it is written in the handler's transaction."""
        self.emitted.append(wrap(event, source=self.source, event_id=event_id, key=key))

    @property
    def event_id(self) -> str:
        """``ce_id`` of the record being handled."""
        return self.headers["ce_id"]


Handler = Callable[[HandlerContext, E], Awaitable[None]]


@dataclass(slots=True)
class _Route(Generic[E]):
    """A logical topic, its body type and its handler."""

    topic: str
    body: type[E]
    handler: Handler[E]


class EventConsumer:
    """Registers reliable subscribers for one consumer group on a FastStream broker.

    For each logical topic it subscribes to the topic itself and to the group's three retry topics. A record
    is handled in one transaction: inbox insert ``(group, ce_id)`` first (a duplicate is skipped), then the
    handler, then the handler's outbox rows; the offset is committed after that transaction commits.
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

    @property
    def routes(self) -> list[_Route[Any]]:
        """The logical topics this group handles, with their body types and handlers."""
        return list(self._routes)

    @property
    def topics(self) -> list[str]:
        """Every logical topic this consumer reads or writes for failures (for topic creation)."""
        names: list[str] = [contracts.DEADLETTER]
        for r in self._routes:
            names.append(r.topic)
            names.extend(retry_topic(r.topic, self.group, i + 1) for i in range(len(self._delays)))
        return names

    def subscribe(self, topic: str, body: type[E], handler: Handler[E]) -> None:
        """Handle ``topic`` (a logical name) with ``handler`` in this consumer group."""
        if self._attached:
            raise RuntimeError("subscribe() must come before attach()")
        route = _Route(topic, body, handler)
        self._routes.append(route)
        self._by_topic[self._settings.topic(topic)] = (route, 0)
        for i in range(len(self._delays)):
            self._by_topic[self._settings.topic(retry_topic(topic, self.group, i + 1))] = (route, i + 1)

    def attach(self) -> None:
        """Register one FastStream subscriber (one Kafka consumer) for every topic and retry topic of the
        group, before the broker starts. One consumer joins the group once, and pausing a retry partition
        until its record is due leaves every other partition flowing."""
        if self._attached or not self._routes:
            return
        self._attached = True

        async def on_message(msg: KafkaMessage) -> None:
            record = msg.raw_message
            assert not isinstance(record, tuple)  # batch subscribers are not used
            route, attempt = self._by_topic[record.topic]
            await self._process(msg, route, attempt)

        self._broker.subscriber(
            *self._by_topic,
            decoder=_raw_body,  # the handler decodes with msgspec into the route's Struct; skip json.loads
            group_id=self.group,
            ack_policy=AckPolicy.MANUAL,
            auto_offset_reset="earliest",
            max_poll_interval_ms=self._settings.max_poll_interval_ms,
        )(on_message)

    async def drain(self, timeout: float) -> bool:
        """Wait until no handler is running (graceful shutdown). Returns False on timeout."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def _process(self, msg: KafkaMessage, route: _Route[Any], attempt: int) -> None:
        record = msg.raw_message
        assert not isinstance(record, tuple)  # batch subscribers are not used
        headers = headers_of(record.headers)
        if attempt > 0 and await self._not_yet_due(msg, record, headers):
            return
        self._inflight += 1
        self._idle.clear()
        token = log_context.set({})
        started = time.perf_counter()
        span_ctx = extract_context(headers)
        with tracer("etsygen.kafka").start_as_current_span(
            f"consume {route.topic}",
            context=span_ctx,
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": record.topic,
                "messaging.consumer.group.name": self.group,
            },
        ) as span:
            try:
                outcome = await self._handle(record, headers, route)
                EVENTS_CONSUMED.labels(self.service, route.topic, outcome).inc()
                await self._commit(msg)
            except PauseConsumption as pause:
                await self._pause(msg, record, pause)
            except Exception as exc:
                span.record_exception(exc)
                await self._fail(msg, record, headers, route, attempt, exc)
            finally:
                HANDLER_SECONDS.labels(self.service, route.topic).observe(time.perf_counter() - started)
                log_context.reset(token)
                self._inflight -= 1
                if self._inflight == 0:
                    self._idle.set()

    async def _commit(self, msg: KafkaMessage) -> None:
        """Commit after the handler's transaction committed. A failed commit (a rebalance) is not a handler
        failure: the record will be delivered again and the inbox skips it."""
        try:
            await msg.ack()
        except Exception as exc:
            log.warning("offset commit failed; the record may be redelivered", extra={"error": repr(exc)})

    async def _handle(self, record: Any, headers: dict[str, str], route: _Route[Any]) -> str:
        event_id = require_id(headers)
        event = msgspec.json.decode(record.value, type=route.body)
        bind(job_id=getattr(event, "job_id", None), event_id=event_id)
        prepare = getattr(route.handler, "prepare", None)
        prepared = None
        if prepare is not None:
            # Slow external work (HTTP calls) runs before the transaction, so no connection is held open
            # meanwhile; a record already handled is skipped without repeating that work.
            if await self._already_handled(event_id):
                return self._skip_duplicate(route)
            prepared = await prepare(event)
        async with self._pool.acquire() as conn, conn.transaction():
            fresh = await conn.fetchval(
                "INSERT INTO inbox (consumer_group, event_id, topic) VALUES ($1, $2, $3) "
                "ON CONFLICT DO NOTHING RETURNING true",
                self.group,
                event_id,
                route.topic,
            )
            if not fresh:
                return self._skip_duplicate(route)
            ctx = HandlerContext(
                conn=conn, headers=headers, topic=route.topic, source=self.service, prepared=prepared
            )
            await route.handler(ctx, event)
            await enqueue(conn, ctx.emitted)
        return "ok"

    async def _already_handled(self, event_id: str) -> bool:
        async with self._pool.acquire() as conn:
            return bool(
                await conn.fetchval(
                    "SELECT true FROM inbox WHERE consumer_group = $1 AND event_id = $2", self.group, event_id
                )
            )

    def _skip_duplicate(self, route: _Route[Any]) -> str:
        log.info("duplicate event skipped", extra={"topic": route.topic})
        return "duplicate"

    async def _not_yet_due(self, msg: KafkaMessage, record: Any, headers: dict[str, str]) -> bool:
        """On a retry topic: if the record is not due, rewind to it and pause its partition until it is."""
        due_ms = int(headers.get(RETRY_DUE, "0") or 0)
        wait = due_ms / 1000 - time.time()
        if wait <= 0:
            return False
        tp = TopicPartition(record.topic, record.partition)
        consumer = msg.consumer
        consumer.seek(tp, record.offset)
        consumer.pause(tp)  # type: ignore[attr-defined]
        self._schedule_resume(consumer, [tp], wait)
        return True

    def _schedule_resume(self, consumer: Any, partitions: list[TopicPartition], delay: float) -> None:
        loop = asyncio.get_running_loop()

        def resume() -> None:
            assigned = consumer.assignment()
            consumer.resume(*[p for p in partitions if p in assigned])

        now = loop.time()
        self._resume_handles = [h for h in self._resume_handles if h.when() > now and not h.cancelled()]
        self._resume_handles.append(loop.call_later(delay, resume))

    async def _pause(self, msg: KafkaMessage, record: Any, pause: PauseConsumption) -> None:
        consumer = msg.consumer
        tp = TopicPartition(record.topic, record.partition)
        consumer.seek(tp, record.offset)
        assigned = list(consumer.assignment())  # type: ignore[attr-defined]
        consumer.pause(*assigned)  # type: ignore[attr-defined]
        log.warning("consumer paused", extra={"reason": pause.reason, "seconds": pause.seconds})
        self._schedule_resume(consumer, assigned, pause.seconds)

    async def _fail(
        self,
        msg: KafkaMessage,
        record: Any,
        headers: dict[str, str],
        route: _Route[Any],
        attempt: int,
        exc: BaseException,
    ) -> None:
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
            target = retry_topic(route.topic, self.group, attempt + 1)
            out_headers[RETRY_DUE] = str(now_ms + int(self._delays[attempt] * 1000))
            out_headers[RETRY_ATTEMPT] = str(attempt + 1)
            RETRIES.labels(self.service, route.topic, str(attempt + 1)).inc()
            log.warning("handler failed; retry scheduled", extra={"error": repr(exc), "retry_topic": target})
        else:
            target = contracts.DEADLETTER
            reason = "exhausted" if retryable else "fatal"
            DEADLETTERS.labels(self.service, route.topic, reason).inc()
            log.error("handler failed; record dead-lettered", extra={"error": repr(exc), "reason": reason})
        try:
            await self._publisher.publish(
                Envelope(topic=target, key=record.key, headers=out_headers, payload=record.value or b"")
            )
        except Exception:
            # The failure could not be handed on: do not commit; the record is delivered again.
            log.exception("could not publish failed record; rewinding")
            await msg.nack()
            await asyncio.sleep(1.0)
            return
        await self._commit(msg)
        EVENTS_CONSUMED.labels(
            self.service, route.topic, "retried" if target != contracts.DEADLETTER else "deadlettered"
        ).inc()

    def cancel_timers(self) -> None:
        """Cancel pending partition resumes (shutdown)."""
        for handle in self._resume_handles:
            handle.cancel()


async def _raw_body(msg: Any) -> Any:
    """FastStream decoder that leaves the body as bytes."""
    return msg.body


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
