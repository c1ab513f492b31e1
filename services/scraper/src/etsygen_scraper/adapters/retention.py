"""Postgres side of the scraper's retention: its monthly snapshot partitions, counted and dropped."""

from __future__ import annotations

from typing import Any

import asyncpg

from etsygen_common.logging import get_logger

log = get_logger(__name__)


async def snapshot_partitions(conn: Any) -> list[str]:
    """Names of the partitions of ``listing_snapshots`` in the connection's schema."""
    rows = await conn.fetch(
        """SELECT c.relname FROM pg_inherits i
           JOIN pg_class c ON c.oid = i.inhrelid
           JOIN pg_class p ON p.oid = i.inhparent
           JOIN pg_namespace ns ON ns.oid = p.relnamespace
           WHERE p.relname = 'listing_snapshots' AND ns.nspname = current_schema()"""
    )
    return [r["relname"] for r in rows]


async def count_rows(conn: Any, partition: str) -> int:
    """Rows of one partition (``partition`` comes from :func:`snapshot_partitions`, never from input)."""
    counted: int = await conn.fetchval(f'SELECT count(*) FROM "{partition}"')
    return counted


async def drop_partition(conn: Any, partition: str, *, lock_timeout_ms: int) -> int | None:
    """Drop one partition and return the rows it held; None when its lock was not granted in time.

    Dropping a partition locks the parent exclusively for a moment; behind a long query that moment could
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
