"""Dead letters: what a record of ``etsygen.deadletter.v1`` says about its failure, and how it is replayed.

The failing consumer copies the original record's headers and adds ``x-dlq-*`` failure headers; the body is
the original bytes, which may not decode at all, so nothing here looks inside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Final

import msgspec

from etsygen_common.contracts import deadletter as dlh

RETRY_HEADERS: Final = frozenset({"x-retry-due-ms", "x-retry-attempt"})
UNKNOWN_GROUP: Final = "unknown"


class StoredDeadLetter(msgspec.Struct, frozen=True, kw_only=True):
    """A dead letter as stored: where it failed, why, and the record byte for byte."""

    original_topic: str
    original_partition: int
    original_offset: int
    consumer_group: str
    dlq_partition: int
    dlq_offset: int
    key: bytes | None
    headers: dict[str, str]
    body: bytes
    exception_type: str | None
    exception_message: str | None
    attempts: int | None
    event_id: str | None
    failed_at: datetime | None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def from_record(
    headers: Mapping[str, str], *, dlq_topic: str, partition: int, offset: int, key: bytes | None, body: bytes
) -> StoredDeadLetter:
    """Describe a dead-letter record. A record without failure headers is identified by its own position in
    the dead-letter topic, so it is still stored exactly once."""
    original_topic = headers.get(dlh.ORIGINAL_TOPIC)
    original_partition = _int(headers.get(dlh.ORIGINAL_PARTITION))
    original_offset = _int(headers.get(dlh.ORIGINAL_OFFSET))
    if original_topic is None or original_partition is None or original_offset is None:
        original_topic, original_partition, original_offset = dlq_topic, partition, offset
    return StoredDeadLetter(
        original_topic=original_topic,
        original_partition=original_partition,
        original_offset=original_offset,
        consumer_group=headers.get(dlh.CONSUMER_GROUP) or UNKNOWN_GROUP,
        dlq_partition=partition,
        dlq_offset=offset,
        key=key,
        headers=dict(headers),
        body=body,
        exception_type=headers.get(dlh.EXCEPTION_TYPE),
        exception_message=headers.get(dlh.EXCEPTION_MESSAGE),
        attempts=_int(headers.get(dlh.ATTEMPTS)),
        event_id=headers.get("ce_id"),
        failed_at=_time(headers.get(dlh.LAST_FAILURE)),
    )


def replay_headers(headers: Mapping[str, str], dead_letter_id: int, replay_count: int) -> dict[str, str]:
    """The original record's headers for a replay: failure and retry bookkeeping removed, replay marked.

    ``ce_id`` is kept: the failed attempt never reached the consumer's inbox, so the replay is processed,
    while a second replay of an already processed record is recognised as a duplicate.
    """
    out = {
        name: value
        for name, value in headers.items()
        if not name.startswith("x-dlq-") and name not in RETRY_HEADERS
    }
    out[dlh.REPLAYED_FROM] = str(dead_letter_id)
    out[dlh.REPLAY_COUNT] = str(replay_count)
    return out
