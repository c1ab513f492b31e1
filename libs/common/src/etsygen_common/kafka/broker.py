"""The broker factory, acknowledged publishing, and topic creation."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from fast_depends.msgspec import MsgSpecSerializer
from faststream.kafka import KafkaBroker

from etsygen_common.envelope import Envelope
from etsygen_common.messaging_spans import SendSpans
from etsygen_common.settings import KafkaSettings
from etsygen_common.topology import durability_of, topic_configs


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
