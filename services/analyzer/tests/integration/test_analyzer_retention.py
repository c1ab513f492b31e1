"""Analyzer retention: trend snapshots past ANALYZER_TREND_RETENTION_DAYS go (the dry run counts exactly
those), younger ones stay."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from etsygen_analyzer.bootstrap import MIGRATIONS
from etsygen_analyzer.service_layer.retention import apply_retention
from etsygen_analyzer.settings import AnalyzerSection, AnalyzerSettings
from etsygen_common.db import create_pool
from etsygen_common.migrations import migrate_service
from etsygen_common.settings import CommonSettings

pytestmark = pytest.mark.integration

NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)


async def test_trend_snapshots_past_the_window_go_and_younger_ones_stay(pg_url: str, schema: str) -> None:
    environ = {"DATABASE_URL": pg_url, "REDIS_URL": "redis://-", "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9"}
    settings = AnalyzerSettings(
        common=CommonSettings.from_env(environ), analyzer=AnalyzerSection(trend_retention_days=30)
    )
    await migrate_service(pg_url, schema, MIGRATIONS)
    pool = await create_pool(settings.common.postgres, schema)
    try:
        async with pool.acquire() as conn:
            for age in (45, 31, 29, 1):
                await conn.execute(
                    """INSERT INTO trend_snapshots (id, event_id, job_id, owner_id, marketplace, keyword,
                           observed_at, score, confidence, risk, total_count, listing_count, result)
                       VALUES ($1, $2, 'j', 'o', 'etsy', 'mug', $3, 0.5, 0.5, 'low', 10, 10, '{}')""",
                    uuid.uuid4(),
                    f"e{age}",
                    NOW - timedelta(days=age),
                )
        dry = await apply_retention(pool, settings, now=NOW, dry_run=True)
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM trend_snapshots") == 4
        real = await apply_retention(pool, settings, now=NOW, dry_run=False)
        assert [(r.step, r.removed) for r in dry] == [(r.step, r.removed) for r in real]
        assert real[0].step == "trend_snapshots"
        assert real[0].removed == 2
        async with pool.acquire() as conn:
            kept = sorted(r[0] for r in await conn.fetch("SELECT event_id FROM trend_snapshots"))
        assert kept == ["e1", "e29"]
    finally:
        await pool.close()
