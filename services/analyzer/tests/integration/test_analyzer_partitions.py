"""trend_snapshots becomes month-partitioned without a rewrite or an index build under lock (its rows stay
put as the legacy partition), and retention then drops whole months past the window."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from etsygen_analyzer.adapters import repository
from etsygen_analyzer.bootstrap import MIGRATIONS
from etsygen_analyzer.service_layer.retention import apply_retention
from etsygen_analyzer.settings import AnalyzerSection, AnalyzerSettings
from etsygen_common.db import create_pool
from etsygen_common.migrations import migrate, service_sources
from etsygen_common.partitions import partition_bounds
from etsygen_common.settings import CommonSettings

pytestmark = pytest.mark.integration


def settings_for(pg_url: str) -> AnalyzerSettings:
    environ = {"DATABASE_URL": pg_url, "REDIS_URL": "redis://-", "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9"}
    return AnalyzerSettings(
        common=CommonSettings.from_env(environ), analyzer=AnalyzerSection(trend_retention_days=30)
    )


@pytest.fixture
async def pool(pg_url: str, schema: str) -> AsyncIterator[Any]:
    p = await create_pool(settings_for(pg_url).common.postgres, schema)
    yield p
    await p.close()


def first_files(tmp_path: Path, upto: int) -> Path:
    """The analyzer's migrations up to ``upto``, as an older release shipped them."""
    folder = tmp_path / f"upto_{upto}"
    folder.mkdir()
    for f in MIGRATIONS.glob("*.sql"):
        if int(f.name[:3]) <= upto:
            shutil.copy(f, folder / f.name)
    return folder


async def snapshot(conn: Any, observed_at: datetime, event_id: str) -> None:
    await conn.execute(
        """INSERT INTO trend_snapshots (id, event_id, job_id, owner_id, marketplace, keyword, observed_at,
               score, confidence, risk, total_count, listing_count, result)
           VALUES ($1, $2, 'j', 'o', 'etsy', 'mug', $3, 0.5, 0.5, 'low', 10, 10, '{}')""",
        uuid.uuid4(),
        event_id,
        observed_at,
    )


async def test_the_stored_rows_become_the_legacy_partition_without_a_rewrite(
    pg_url: str, schema: str, pool: Any, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    await migrate(pg_url, schema, service_sources(first_files(tmp_path, 2)))
    async with pool.acquire() as conn:
        for n, age in enumerate((400, 40, 1)):
            await snapshot(conn, now - timedelta(days=age), f"old{n}")
    await migrate(pg_url, schema, service_sources(first_files(tmp_path, 4)))
    async with pool.acquire() as conn:
        table_file = await conn.fetchval("SELECT pg_relation_filenode('trend_snapshots')")
        key_index = await conn.fetchval("SELECT 'trend_snapshots_id_observed_key'::regclass::oid")

    applied = await migrate(pg_url, schema, service_sources(MIGRATIONS))
    assert applied == ["005_trend_snapshots_partitioned"]
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT pg_relation_filenode('trend_snapshots_legacy')") == table_file
        assert await conn.fetchval("SELECT 'trend_snapshots_legacy_pkey'::regclass::oid") == key_index
        placed = await conn.fetch("SELECT tableoid::regclass::text AS part FROM trend_snapshots")
        assert [r["part"] for r in placed] == ["trend_snapshots_legacy"] * 3
        legacy_until = await conn.fetchval("SELECT legacy_until FROM trend_snapshot_partitioning")
        await snapshot(conn, legacy_until + timedelta(days=3), "new")
        part = await conn.fetchval(
            "SELECT tableoid::regclass::text FROM trend_snapshots WHERE event_id = 'new'"
        )
        assert part == f"trend_snapshots_{legacy_until:%Y_%m}"
        history = await repository.load_history(conn, "etsy", "MUG", 10)
    assert len(history) == 4
    assert history == sorted(history, key=lambda h: -h.observed_at)


async def test_retention_drops_the_months_past_the_window_whole(pg_url: str, schema: str, pool: Any) -> None:
    await migrate(pg_url, schema, service_sources(MIGRATIONS))
    async with pool.acquire() as conn:
        until = await conn.fetchval("SELECT legacy_until FROM trend_snapshot_partitioning")
        first_month = f"trend_snapshots_{until:%Y_%m}"
        second_month_start = (until + timedelta(days=32)).replace(day=1)
        second_month = f"trend_snapshots_{second_month_start:%Y_%m}"
        await snapshot(conn, until - timedelta(days=10), "legacy")
        await snapshot(conn, until + timedelta(days=5), "first month")
        await snapshot(conn, second_month_start + timedelta(days=2), "second month")  # older than the cutoff
        await snapshot(conn, until + timedelta(days=200), "default")  # no partition that far ahead
    now = until + timedelta(days=70)  # window 30 days: cutoff until+40d, after the first month's end
    settings = settings_for(pg_url)

    dry = await apply_retention(pool, settings, now=now, dry_run=True)
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM trend_snapshots") == 4
    real = await apply_retention(pool, settings, now=now, dry_run=False)

    assert [(r.step, r.removed, r.detail) for r in dry] == [(r.step, r.removed, r.detail) for r in real]
    assert (real[0].step, real[0].removed) == ("trend_snapshots", 2)
    assert real[0].detail == "2 monthly partitions dropped, 0 rows deleted"
    async with pool.acquire() as conn:
        left = sorted(r[0] for r in await conn.fetch("SELECT event_id FROM trend_snapshots"))
        partitions = set(await partition_bounds(conn, "trend_snapshots"))
    assert left == ["default", "second month"]  # a month only partly past the window is kept whole
    assert not {"trend_snapshots_legacy", first_month} & partitions
    assert {second_month, "trend_snapshots_default"} <= partitions
