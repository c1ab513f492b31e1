"""The consumer loop: :class:`EventConsumer` fetches batches and runs each partition's records in order.

Each record is prepared (:mod:`.prepare`), applied in a transaction with its neighbours (:mod:`.settle`),
held back when it must be read again later (:mod:`.pausing`), or handed to a retry or the dead-letter topic
(:mod:`.handoff`, deciding by :mod:`.policy`); the offsets are committed after the transactions
(:mod:`.offsets`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from aiokafka import TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage

from etsygen_common import contracts
from etsygen_common.contracts.keywords import Stage
from etsygen_common.envelope import headers_of
from etsygen_common.kafka.batch import Batch, Group, Route, offset_after
from etsygen_common.kafka.broker import KafkaPublisher
from etsygen_common.kafka.context import E, Handler
from etsygen_common.kafka.handoff import FailureHandoff
from etsygen_common.kafka.offsets import commit_offsets, handled_ids, record_lag
from etsygen_common.kafka.pausing import Pauses
from etsygen_common.kafka.policy import RETRY_DELAYS_S, retry_topic
from etsygen_common.kafka.prepare import Preparer
from etsygen_common.kafka.settle import Settler
from etsygen_common.settings import KafkaSettings
from etsygen_common.waiting import WaitingNotices

BATCH_WAIT_MS = 100
"""How long a consumer's fetch waits for records when none are buffered."""
GROUP_RECORDS = 50
"""Most prepared records of one partition applied in one transaction."""
GROUP_LINGER_S = 0.05
"""A group is applied once its first record has waited this long (slow ``prepare`` steps, such as AI calls,
then get a transaction each instead of holding finished work back)."""


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
        self._delays = tuple(retry_delays)
        self._routes: list[Route[Any]] = []
        self._by_topic: dict[str, tuple[Route[Any], int]] = {}
        self._attached = False
        self._inflight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._stopping = False
        # Only pipeline stages tell the gateway why a keyword waits; tests and benchmarks leave it off.
        waiting = WaitingNotices(publisher, service=service, stage=waiting_stage) if waiting_stage else None
        self._pauses = Pauses(service=service, waiting=waiting)
        self._handoff = FailureHandoff(publisher, service=service, group=group, delays=self._delays)
        self._preparer = Preparer(service=service, group=group, pauses=self._pauses, handoff=self._handoff)
        self._settler = Settler(
            pool, service=service, group=group, pauses=self._pauses, handoff=self._handoff
        )

    @property
    def routes(self) -> list[Route[Any]]:
        """The logical topics this group handles, with their body types and handlers."""
        return list(self._routes)

    @property
    def topics(self) -> list[str]:
        """Every logical topic this consumer reads or writes for failures (for topic creation)."""
        names: list[str] = [contracts.DEADLETTER]
        if self._pauses.waiting is not None:
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
        route = Route(topic, body, handler)
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
            batch = Batch(
                consumer=consumer, deadline=time.monotonic() + self._settings.batch_max_s, handled=set()
            )
            try:
                await self._run_batch(batch, records, by_partition)
            except Exception as exc:
                # Whatever stopped the batch, the consumer has already moved past its records: read every
                # record not known to be finished again, or a later commit would skip it.
                self._pauses.rewind_unfinished(batch, by_partition, exc)
            await commit_offsets(consumer, batch.commits)
            record_lag(
                consumer,
                by_partition,
                batch.commits,
                service=self.service,
                group=self.group,
                by_topic=self._by_topic,
            )
        finally:
            self._inflight -= 1
            if self._inflight == 0:
                self._idle.set()

    async def _run_batch(
        self, batch: Batch, records: Sequence[Any], by_partition: dict[TopicPartition, list[Any]]
    ) -> None:
        batch.handled = await handled_ids(self._pool, self.group, self._by_topic, records)
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

    async def _run_partition(self, batch: Batch, tp: TopicPartition, records: list[Any]) -> None:
        done = await self._process_partition(batch, tp, records)
        if done is not None:
            batch.commits[tp] = done

    async def _process_partition(self, batch: Batch, tp: TopicPartition, records: list[Any]) -> int | None:
        """Handle one partition's records in order; return the offset to commit (None: nothing done).

        Records are decoded and prepared one by one, and the prepared ones are applied together in one
        transaction (a group) when the group is full, when it has waited long enough, before a record that
        stops the partition, and at the end. Each record keeps its own inbox row and outbox rows; if the
        group's transaction fails, its records are applied again one transaction each, so only the record
        that fails is retried or dead-lettered.
        """
        done: int | None = None
        group: Group = []  # prepared records, and offsets of records finished without one
        group_started = 0.0
        for record in records:
            if group and (len(group) >= GROUP_RECORDS or time.monotonic() - group_started >= GROUP_LINGER_S):
                finished = await self._settler.apply(batch, group)
                if finished < len(group):
                    return offset_after(group, finished, done)
                done, group = offset_after(group, finished, done), []
            # The time budget stops a partition only once it has made progress in this batch: partitions
            # that wait for a free lane behind slow ones must not be rewound batch after batch.
            over_time = record is not records[0] and time.monotonic() > batch.deadline
            if batch.paused or self._stopping or over_time:
                batch.consumer.seek(tp, record.offset)  # read again, by this consumer or the next owner
                break
            route, attempt = self._by_topic[record.topic]
            headers = headers_of(record.headers)
            if attempt > 0 and self._pauses.not_yet_due(batch.consumer, tp, record, headers):
                break
            step = await self._preparer.ready(batch, tp, record, headers, route, attempt)
            if step is False:
                break  # the partition was rewound to this record
            if not group:
                group_started = time.monotonic()
            group.append(record.offset if step is True else step)
        if group:
            finished = await self._settler.apply(batch, group)
            done = offset_after(group, finished, done)
        return done

    def cancel_timers(self) -> None:
        """Cancel pending partition resumes (shutdown)."""
        self._pauses.cancel()

    async def flush_notices(self) -> None:
        """Wait until the waiting notices being sent are sent (tests)."""
        await self._pauses.flush()


async def _raw_body(msg: Any) -> Any:
    """FastStream decoder that leaves the body as bytes."""
    return msg.body
