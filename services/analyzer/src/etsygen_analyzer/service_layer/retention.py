"""Retention of the analyzer's schema: trend snapshots past the window, the outbox and inbox.

Trend snapshots are partitioned by month (migrations 003-005): months wholly past the window are dropped.
The rows stored before the table was partitioned form one partition, ``trend_snapshots_legacy``, dropped
once everything it can hold is past the window; until then its old rows are deleted in batches, as are
old rows of the default partition (months nobody created a partition for).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from etsygen_analyzer.adapters import repository
from etsygen_analyzer.settings import AnalyzerSettings
from etsygen_common.partitions import drop_expired, expired, partition_bounds
from etsygen_common.retention import Removal, prune_outbox_inbox, purge

PARENT = "trend_snapshots"
LEGACY = "trend_snapshots_legacy"


async def apply_retention(
    pool: Any, settings: AnalyzerSettings, *, now: datetime, dry_run: bool
) -> list[Removal]:
    """Every retention step of the analyzer, window from the settings, cutoffs relative to ``now``."""
    r = settings.common.retention
    cutoff = now - timedelta(days=settings.analyzer.trend_retention_days)
    async with pool.acquire() as conn:
        bounds = await partition_bounds(conn, PARENT)
    # What is dropped whole is not also deleted from (a dry run would count its rows twice).
    row_wise = [p for p in (LEGACY, f"{PARENT}_default") if p in bounds and p not in expired(bounds, cutoff)]
    rows, dropped, busy = await drop_expired(
        pool, PARENT, cutoff, lock_timeout_ms=r.lock_timeout_ms, dry_run=dry_run
    )
    deleted = 0
    for partition in row_wise:
        deleted += await purge(
            pool, partition, "observed_at < $1", cutoff, batch_rows=r.batch_rows, dry_run=dry_run
        )
    if not dry_run:  # the months ahead exist before rows arrive for them (the service also does it at start)
        async with pool.acquire() as conn:
            await repository.ensure_partitions(conn, now.date())
    detail = f"{dropped} monthly partitions dropped, {deleted} rows deleted"
    detail += f", {busy} busy" if busy else ""
    return [
        Removal("trend_snapshots", rows + deleted, detail),
        *await prune_outbox_inbox(pool, r, now=now, dry_run=dry_run),
    ]
