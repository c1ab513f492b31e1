"""Retention of the analyzer's schema: trend snapshots past the window, the outbox and inbox."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from etsygen_analyzer.settings import AnalyzerSettings
from etsygen_common.retention import Removal, prune_outbox_inbox, purge


async def apply_retention(
    pool: Any, settings: AnalyzerSettings, *, now: datetime, dry_run: bool
) -> list[Removal]:
    """Every retention step of the analyzer, window from the settings, cutoffs relative to ``now``."""
    r = settings.common.retention
    cutoff = now - timedelta(days=settings.analyzer.trend_retention_days)
    trends = await purge(
        pool, "trend_snapshots", "observed_at < $1", cutoff, batch_rows=r.batch_rows, dry_run=dry_run
    )
    return [
        Removal("trend_snapshots", trends),
        *await prune_outbox_inbox(pool, r, now=now, dry_run=dry_run),
    ]
