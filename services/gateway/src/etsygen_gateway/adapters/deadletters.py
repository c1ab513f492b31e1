"""Postgres repository of dead letters: stored byte for byte, listed, inspected, replayed, discarded."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import msgspec

from etsygen_common.retention import purge
from etsygen_gateway.adapters.paging import fetch_page, given, page_query
from etsygen_gateway.domain.deadletters import StoredDeadLetter
from etsygen_gateway.domain.views import DeadLetterDetail, DeadLetterPage, DeadLetterSummary

_SUMMARY = """id, original_topic, original_partition, original_offset, consumer_group, exception_type,
    exception_message, attempts, event_id, status, replay_count, octet_length(body) AS size, failed_at,
    received_at"""


class ReplayTarget(msgspec.Struct, frozen=True, kw_only=True):
    """A dead letter locked for replay."""

    id: int
    original_topic: str
    key: bytes | None
    headers: dict[str, str]
    body: bytes
    status: str
    replay_count: int


def _summary(row: Any) -> DeadLetterSummary:
    return DeadLetterSummary(
        id=row["id"],
        original_topic=row["original_topic"],
        original_partition=row["original_partition"],
        original_offset=row["original_offset"],
        consumer_group=row["consumer_group"],
        exception_type=row["exception_type"],
        exception_message=row["exception_message"],
        attempts=row["attempts"],
        event_id=row["event_id"],
        status=row["status"],
        replay_count=row["replay_count"],
        size=row["size"],
        failed_at=row["failed_at"],
        received_at=row["received_at"],
    )


async def store(conn: Any, letter: StoredDeadLetter) -> bool:
    """Insert a dead letter; False when this record of this group is stored already (redelivery)."""
    inserted = await conn.fetchval(
        """INSERT INTO dead_letters (original_topic, original_partition, original_offset, consumer_group,
               dlq_partition, dlq_offset, record_key, headers, body, exception_type, exception_message,
               attempts, event_id, failed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
           ON CONFLICT (original_topic, original_partition, original_offset, consumer_group) DO NOTHING
           RETURNING true""",
        letter.original_topic,
        letter.original_partition,
        letter.original_offset,
        letter.consumer_group,
        letter.dlq_partition,
        letter.dlq_offset,
        letter.key,
        letter.headers,
        letter.body,
        letter.exception_type,
        letter.exception_message,
        letter.attempts,
        letter.event_id,
        letter.failed_at,
    )
    return bool(inserted)


async def list_dead_letters(
    conn: Any,
    *,
    status: str | None,
    topic: str | None,
    consumer_group: str | None,
    exception_type: str | None,
    before_id: int | None,
    limit: int,
) -> DeadLetterPage:
    """Dead letters newest first, keyset-paginated on id."""
    rows, more = await fetch_page(
        conn,
        page_query(
            f"SELECT {_SUMMARY} FROM dead_letters",
            filters=[
                given("status = {}", status),
                given("original_topic = {}", topic),
                given("consumer_group = {}", consumer_group),
                given("exception_type = {}", exception_type),
            ],
            keyset=("id",),
            descending=True,
            after=None if before_id is None else (before_id,),
            limit=limit,
        ),
    )
    items = [_summary(r) for r in rows]
    return DeadLetterPage(items=items, next_cursor=str(items[-1].id) if more else None)


async def get_dead_letter(conn: Any, letter_id: int) -> DeadLetterDetail | None:
    """One dead letter with its headers and body."""
    row = await conn.fetchrow(
        f"SELECT {_SUMMARY}, headers, record_key, body FROM dead_letters WHERE id = $1", letter_id
    )
    if row is None:
        return None
    body = bytes(row["body"])
    try:
        text: str | None = body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    key = row["record_key"]
    return DeadLetterDetail(
        dead_letter=_summary(row),
        headers=dict(row["headers"]),
        key_base64=base64.b64encode(bytes(key)).decode() if key is not None else None,
        body_base64=base64.b64encode(body).decode(),
        body_text=text,
    )


async def lock_for_replay(conn: Any, letter_id: int) -> ReplayTarget | None:
    """A dead letter locked for replay (concurrent replays of one letter serialise)."""
    row = await conn.fetchrow(
        """SELECT id, original_topic, record_key, headers, body, status, replay_count
           FROM dead_letters WHERE id = $1 FOR UPDATE""",
        letter_id,
    )
    if row is None:
        return None
    return ReplayTarget(
        id=row["id"],
        original_topic=row["original_topic"],
        key=bytes(row["record_key"]) if row["record_key"] is not None else None,
        headers=dict(row["headers"]),
        body=bytes(row["body"]),
        status=row["status"],
        replay_count=row["replay_count"],
    )


async def mark_replayed(conn: Any, letter_id: int) -> DeadLetterSummary:
    """Count a replay."""
    row = await conn.fetchrow(
        f"""UPDATE dead_letters SET status = 'replayed', replay_count = replay_count + 1,
                last_replayed_at = now() WHERE id = $1 RETURNING {_SUMMARY}""",
        letter_id,
    )
    return _summary(row)


async def discard(conn: Any, letter_id: int) -> DeadLetterSummary | None:
    """Mark a dead letter as dealt with; it stays until retention removes it."""
    row = await conn.fetchrow(
        f"""UPDATE dead_letters SET status = 'discarded', discarded_at = coalesce(discarded_at, now())
            WHERE id = $1 RETURNING {_SUMMARY}""",
        letter_id,
    )
    return _summary(row) if row else None


async def prune(pool: Any, cutoff: datetime, *, batch_rows: int, dry_run: bool = False) -> int:
    """Delete dead letters received before ``cutoff`` in batches (with ``dry_run`` count them); how many."""
    return await purge(
        pool, "dead_letters", "received_at < $1", cutoff, batch_rows=batch_rows, dry_run=dry_run
    )


async def recent_count(conn: Any, minutes: int = 60) -> int:
    """Dead letters received in the last ``minutes`` (health)."""
    count: int = await conn.fetchval(
        "SELECT count(*) FROM dead_letters WHERE received_at > now() - make_interval(mins => $1)", minutes
    )
    return count
