"""Where a consumer group stands: the inbox read before a batch, the offset commit after it, and the lag."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aiokafka import TopicPartition

from etsygen_common.kafka.batch import Route
from etsygen_common.kafka.policy import retry_topic
from etsygen_common.logging import get_logger
from etsygen_common.metrics import CONSUMER_LAG

log = get_logger(__name__)

RoutesByTopic = Mapping[str, tuple[Route[Any], int]]
"""Physical topic -> its route and retry attempt (0: the topic itself)."""


async def handled_ids(pool: Any, group: str, by_topic: RoutesByTopic, records: Sequence[Any]) -> set[str]:
    """Event ids of the batch already in the inbox, read in one query, for routes with a ``prepare``
    step (their slow external work is skipped for a record already handled)."""
    ids = []
    for record in records:
        route, _ = by_topic[record.topic]
        if getattr(route.handler, "prepare", None) is None:
            continue
        for key, value in record.headers or ():
            if key == "ce_id":
                ids.append(value.decode(errors="replace"))
    if not ids:
        return set()
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT event_id FROM inbox WHERE consumer_group = $1 AND event_id = ANY($2::text[])",
            group,
            ids,
        )
    return {row["event_id"] for row in rows}


async def commit_offsets(consumer: Any, offsets: dict[TopicPartition, int]) -> None:
    """Commit after the handlers' transactions committed. A failed commit (a rebalance) is not a handler
    failure: the records will be delivered again and the inbox skips them."""
    if not offsets:
        return
    try:
        await consumer.commit(offsets)
    except Exception as exc:
        log.warning("offset commit failed; records may be redelivered", extra={"error": repr(exc)})


def record_lag(
    consumer: Any,
    by_partition: dict[TopicPartition, list[Any]],
    commits: dict[TopicPartition, int],
    *,
    service: str,
    group: str,
    by_topic: RoutesByTopic,
) -> None:
    """Lag of each partition of the batch: the high watermark its fetch saw minus where the group is now
    (the committed offset, or the batch's first record when nothing of the partition was committed)."""
    assigned = consumer.assignment()  # after a rebalance aiokafka refuses to answer for other partitions
    for tp, records in by_partition.items():
        highwater = consumer.highwater(tp) if tp in assigned else None
        if highwater is None:
            continue
        route, attempt = by_topic[tp.topic]
        topic = retry_topic(route.topic, group, attempt) if attempt else route.topic
        position = commits.get(tp, records[0].offset)
        CONSUMER_LAG.labels(service, group, topic, str(tp.partition)).set(max(0, highwater - position))
