"""Retention of the scraper's schema: snapshots and scrape runs past the window, the outbox and inbox.

Listing snapshots are partitioned by month: whole months past the window are dropped, never deleted row by
row, so a month is kept until its last day is older than the window (up to a month longer than the
window). Rows that landed in the default partition (no monthly partition for their day) are deleted.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from etsygen_common.partitions import drop_expired
from etsygen_common.retention import Removal, prune_outbox_inbox, purge
from etsygen_scraper.adapters import repository
from etsygen_scraper.settings import ScraperSettings


async def apply_retention(
    pool: Any, settings: ScraperSettings, *, now: datetime, dry_run: bool
) -> list[Removal]:
    """Every retention step of the scraper, window from the settings, cutoffs relative to ``now``."""
    r = settings.common.retention
    cutoff = now - timedelta(days=settings.scraper.snapshot_retention_days)
    day = cutoff.date()  # snapshots are partitioned by observation day
    rows, dropped, busy = await drop_expired(
        pool,
        "listing_snapshots",
        datetime(day.year, day.month, day.day, tzinfo=UTC),
        lock_timeout_ms=r.lock_timeout_ms,
        dry_run=dry_run,
    )
    stray = await purge(
        pool, "listing_snapshots_default", "observed_on < $1", day, batch_rows=r.batch_rows, dry_run=dry_run
    )
    shops = await purge(
        pool, "shop_snapshots", "observed_on < $1", day, batch_rows=r.batch_rows, dry_run=dry_run
    )
    runs = await purge(
        pool, "scrape_runs", "finished_at < $1", cutoff, batch_rows=r.batch_rows, dry_run=dry_run
    )
    if not dry_run:  # the months ahead exist before rows arrive for them (the service also does it at start)
        async with pool.acquire() as conn:
            await repository.ensure_partitions(conn, now.date())
    detail = f"{dropped} monthly partitions dropped, {stray} rows from the default partition"
    return [
        Removal("listing_snapshots", rows + stray, detail + (f", {busy} busy" if busy else "")),
        Removal("shop_snapshots", shops),
        Removal("scrape_runs", runs),
        *await prune_outbox_inbox(pool, r, now=now, dry_run=dry_run),
    ]
