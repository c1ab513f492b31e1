"""Time-partitioned tables: which partitions lie wholly before a retention cutoff, and dropping them.

A table that grows with time (listing snapshots, trend snapshots) is range-partitioned by month on its time
column, so retention drops whole partitions (a catalogue change) instead of deleting rows one by one (dead
tuples, WAL, vacuum). A partition goes once the end of its range is at or before the cutoff; one that only
begins before the cutoff is kept whole, so data lives up to a month longer than its window. The bounds come
from the catalogue, so a partition of any name (a converted table's ``_legacy`` one too) is judged by what it
holds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import asyncpg

from etsygen_common.logging import get_logger

log = get_logger(__name__)

_UPPER = re.compile(r"\bTO \('([^']+)'\)")


def upper_bound(spec: str) -> datetime | None:
    """The exclusive end of a range partition from ``pg_get_expr(relpartbound)``; None for DEFAULT or
    MAXVALUE. A date bound is midnight UTC."""
    match = _UPPER.search(spec)
    if match is None:
        return None
    end = datetime.fromisoformat(match.group(1))
    return end if end.tzinfo is not None else end.replace(tzinfo=UTC)


def expired(bounds: Mapping[str, datetime | None], cutoff: datetime) -> list[str]:
    """Partitions whose every row is before ``cutoff`` (their range ends at or before it), oldest first."""
    due = [(end, name) for name, end in bounds.items() if end is not None and end <= cutoff]
    return [name for _, name in sorted(due)]


async def partition_bounds(conn: Any, parent: str) -> dict[str, datetime | None]:
    """Every partition of ``parent`` (a table of the connection's schema) with the end of its range."""
    rows = await conn.fetch(
        """SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS spec FROM pg_inherits i
           JOIN pg_class c ON c.oid = i.inhrelid
           JOIN pg_class p ON p.oid = i.inhparent
           WHERE p.relname = $1 AND p.relnamespace = current_schema()::regnamespace
             AND c.relkind IN ('r', 'p')""",
        parent,
    )
    return {r["relname"]: upper_bound(r["spec"]) for r in rows}


async def count_rows(conn: Any, partition: str) -> int:
    """Rows of one partition (a name from :func:`partition_bounds`, never from input)."""
    counted: int = await conn.fetchval(f'SELECT count(*) FROM "{partition}"')
    return counted


async def drop_partition(conn: Any, partition: str, *, lock_timeout_ms: int) -> int | None:
    """Drop one partition and return the rows it held; None when its lock was not granted in time.

    Dropping a partition locks its parent exclusively for a moment; behind a long query that moment would
    queue every insert, so the wait is bounded and a busy partition is left for the next run.
    """
    try:
        async with conn.transaction():
            await conn.execute(f"SET LOCAL lock_timeout = {int(lock_timeout_ms)}")
            rows = await count_rows(conn, partition)
            await conn.execute(f'DROP TABLE "{partition}"')
    except asyncpg.LockNotAvailableError:
        log.warning("partition busy; left for the next retention run", extra={"partition": partition})
        return None
    return rows


async def drop_expired(
    pool: Any, parent: str, cutoff: datetime, *, lock_timeout_ms: int, dry_run: bool
) -> tuple[int, int, int]:
    """Drop (or, dry, count) the partitions of ``parent`` wholly before ``cutoff``.

    Returns:
        ``(rows, partitions dropped, partitions left because their lock was busy)``.
    """
    rows = dropped = busy = 0
    async with pool.acquire() as conn:
        for name in expired(await partition_bounds(conn, parent), cutoff):
            held = (
                await count_rows(conn, name)
                if dry_run
                else await drop_partition(conn, name, lock_timeout_ms=lock_timeout_ms)
            )
            if held is None:
                busy += 1
                continue
            rows += held
            dropped += 1
    return rows, dropped, busy
