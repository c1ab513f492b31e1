"""Postgres repository of trend snapshots (the analyzer's own schema)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from etsygen_analyzer.domain.momentum import HistoryPoint
from etsygen_common.contracts import TrendScored


async def ensure_partitions(conn: Any, today: date | None = None, months: int = 3) -> int:
    """Create the monthly partitions of ``trend_snapshots`` from this month on (idempotent)."""
    created: int = await conn.fetchval(
        "SELECT ensure_trend_snapshot_partitions($1, $2)", today or datetime.now(UTC).date(), months
    )
    return created


async def load_history(conn: Any, marketplace: str, keyword: str, limit: int) -> list[HistoryPoint]:
    """Earlier snapshots of one keyword on one marketplace, newest first."""
    rows = await conn.fetch(
        """SELECT observed_at, sales_mid, total_count FROM trend_snapshots
           WHERE marketplace = $1 AND lower(keyword) = lower($2)
           ORDER BY observed_at DESC LIMIT $3""",
        marketplace,
        keyword,
        limit,
    )
    return [
        HistoryPoint(
            observed_at=r["observed_at"].timestamp(), sales_mid=r["sales_mid"], total_count=r["total_count"]
        )
        for r in rows
    ]


async def insert_snapshot(
    conn: Any,
    *,
    snapshot_id: str,
    event_id: str,
    observed_at: float,
    sales_mid: float | None,
    trend: TrendScored,
) -> None:
    """Store one scoring run."""
    await conn.execute(
        """INSERT INTO trend_snapshots (id, event_id, job_id, owner_id, marketplace, keyword, observed_at,
               score, confidence, risk, sales_mid, total_count, listing_count, result)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)""",
        snapshot_id,
        event_id,
        trend.job_id,
        trend.owner_id,
        trend.marketplace,
        trend.keyword,
        datetime.fromtimestamp(observed_at, UTC),
        trend.score,
        trend.confidence,
        trend.risk,
        sales_mid,
        trend.total_count,
        trend.listing_count,
        trend,
    )
