"""Noticing, within seconds, a broker that lost acknowledged records.

A broker that restarts with memory storage (the development broker), has a topic deleted and recreated, or
loses a partition's data to an unclean leader election does not say so: consumers simply find empty topics
and work already published is gone. The watch makes that visible. Every ``interval_s`` it publishes one small
record to a single-partition heartbeat topic and stores the offset the broker acknowledged
(``broker_marks``, in the service's schema). Before each beat it reads the stored offset, then the topic's
end offset: an end at or below an offset the broker once acknowledged means the broker lost records.
(Reading the stored offset first keeps the check exact with several gateway replicas beating at once: any
offset stored before the read was acknowledged before the end offset is read.)

On a loss, one replica wins a compare-and-set on the stored offset and calls ``on_loss``; the gateway then
re-drives every unfinished keyword at once instead of waiting for the stall timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Final

import msgspec
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from etsygen_common import contracts
from etsygen_common.logging import get_logger
from etsygen_common.metrics import BROKER_LOSSES
from etsygen_common.settings import KafkaSettings

log = get_logger(__name__)

REQUEST_TIMEOUT_MS: Final = 5_000
"""A beat that takes longer than this fails and is tried again at the next tick (the broker is down)."""


class BrokerLoss(msgspec.Struct, frozen=True, kw_only=True):
    """The broker's heartbeat log ends below an offset it had acknowledged."""

    topic: str
    acknowledged: int
    """The highest heartbeat offset the broker had acknowledged."""
    end: int | None
    """Where the heartbeat log ends now (None: the topic was gone)."""

    @property
    def explanation(self) -> str:
        """What was detected, for the log and a job's timeline."""
        now = "the topic was gone" if self.end is None else f"its log now ends at offset {self.end}"
        return (
            f"the Kafka broker lost acknowledged records: it had acknowledged heartbeat offset "
            f"{self.acknowledged} on {self.topic}, but {now} (a broker restarted with empty storage, or a "
            "topic recreated)"
        )


def loss_between(acknowledged: int | None, end: int | None) -> bool:
    """Whether a log ending at ``end`` (None: no such topic) lost a record at offset ``acknowledged``."""
    if acknowledged is None:
        return False  # nothing acknowledged yet: a new deployment, or the first beat
    return end is None or end <= acknowledged


class BrokerWatch:
    """Beats into the heartbeat topic and reports a broker that lost records (see the module docstring)."""

    def __init__(
        self,
        settings: KafkaSettings,
        pool: Callable[[], Any],
        *,
        service: str,
        interval_s: float,
        on_loss: Callable[[BrokerLoss], Awaitable[None]],
    ) -> None:
        self._settings = settings
        self._pool = pool
        self._service = service
        self._interval = interval_s
        self._on_loss = on_loss
        self.topic = settings.topic(contracts.BROKER_HEARTBEAT)
        self._tp = TopicPartition(self.topic, 0)
        self._producer: AIOKafkaProducer | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Run the watch in the background until :meth:`stop`."""
        self._task = asyncio.create_task(self._run(), name="broker-watch")

    async def stop(self) -> None:
        """Stop beating and close the Kafka clients."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._close()

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the broker or database is away: try again at the next tick
                log.debug("broker heartbeat failed", extra={"error": repr(exc)})
                await self._close()  # fresh clients next time: a restarted broker has new metadata
            await asyncio.sleep(self._interval)

    async def tick(self) -> BrokerLoss | None:
        """One check and beat; returns the loss this call detected and reported (else None)."""
        pool = self._pool()
        acknowledged = await pool.fetchval(
            "SELECT acked_offset FROM broker_marks WHERE topic = $1", self.topic
        )
        end = await self._end_offset()
        loss = (
            BrokerLoss(topic=self.topic, acknowledged=acknowledged, end=end)
            if loss_between(acknowledged, end)
            else None
        )
        if end is None:
            await self._create_topic()
        offset = await self._beat()
        if loss is None:
            await pool.execute(
                """INSERT INTO broker_marks (topic, acked_offset) VALUES ($1, $2)
                   ON CONFLICT (topic) DO UPDATE
                   SET acked_offset = GREATEST(broker_marks.acked_offset, EXCLUDED.acked_offset),
                       updated_at = now()""",
                self.topic,
                offset,
            )
            return None
        # One replica wins the new baseline and reports the loss; the others see the new mark next time.
        won = await pool.fetchval(
            """UPDATE broker_marks SET acked_offset = $3, losses = losses + 1, updated_at = now()
               WHERE topic = $1 AND acked_offset = $2 RETURNING true""",
            self.topic,
            acknowledged,
            offset,
        )
        if not won:
            return None
        BROKER_LOSSES.labels(self._service).inc()
        log.warning("broker lost acknowledged records", extra={"detail": loss.explanation})
        try:
            await self._on_loss(loss)
        except BaseException:
            # Not handled (the database restarting, say): put the old mark back, so the next tick finds the
            # loss again instead of leaving it to the stall timeout.
            await pool.execute(
                "UPDATE broker_marks SET acked_offset = $2, losses = losses - 1 "
                "WHERE topic = $1 AND acked_offset = $3",
                self.topic,
                acknowledged,
                offset,
            )
            raise
        return loss

    async def _clients(self) -> tuple[AIOKafkaProducer, AIOKafkaConsumer]:
        if self._producer is None or self._consumer is None:
            servers = self._settings.bootstrap_servers.split(",")
            producer = AIOKafkaProducer(
                bootstrap_servers=servers,
                acks="all",
                enable_idempotence=False,
                client_id=f"{self._service}-broker-watch",
                request_timeout_ms=REQUEST_TIMEOUT_MS,
            )
            consumer = AIOKafkaConsumer(
                bootstrap_servers=servers,
                client_id=f"{self._service}-broker-watch",
                request_timeout_ms=REQUEST_TIMEOUT_MS,
                enable_auto_commit=False,
            )
            try:
                await producer.start()
                await consumer.start()
            except Exception:
                with contextlib.suppress(Exception):
                    await producer.stop()
                with contextlib.suppress(Exception):
                    await consumer.stop()
                raise
            self._producer, self._consumer = producer, consumer
        return self._producer, self._consumer

    async def _end_offset(self) -> int | None:
        """Where the heartbeat log ends; None when the broker has no such topic."""
        _, consumer = await self._clients()
        topics = await asyncio.wait_for(consumer.topics(), REQUEST_TIMEOUT_MS / 1000)
        if self.topic not in topics:
            return None
        ends = await asyncio.wait_for(consumer.end_offsets([self._tp]), REQUEST_TIMEOUT_MS / 1000)
        return int(ends[self._tp])

    async def _create_topic(self) -> None:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self._settings.bootstrap_servers.split(","),
            request_timeout_ms=REQUEST_TIMEOUT_MS,
        )
        await admin.start()
        try:
            await admin.create_topics(
                [
                    NewTopic(
                        self.topic,
                        num_partitions=1,
                        replication_factor=self._settings.replication_factor,
                        topic_configs={
                            "retention.ms": str(contracts.TOPICS[contracts.BROKER_HEARTBEAT].retention_ms)
                        },
                    )
                ]
            )
        except TopicAlreadyExistsError:
            pass
        finally:
            await admin.close()

    async def _beat(self) -> int:
        producer, _ = await self._clients()
        body = msgspec.json.encode({"service": self._service, "at": datetime.now(UTC).isoformat()})
        metadata = await asyncio.wait_for(
            producer.send_and_wait(self.topic, body, partition=0), REQUEST_TIMEOUT_MS / 1000
        )
        return int(metadata.offset)

    async def _close(self) -> None:
        producer, consumer = self._producer, self._consumer
        self._producer = self._consumer = None
        for client in (producer, consumer):
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.stop()
