"""Scraper retention on generated old and young data: whole snapshot months past the window are dropped,
stray old rows of the default partition deleted, the dry run reports exactly what the real run removes,
and nothing younger than the window is touched."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from etsygen_common.db import create_pool
from etsygen_common.migrations import migrate_service
from etsygen_common.partitions import partition_bounds
from etsygen_common.settings import CommonSettings
from etsygen_scraper.adapters import repository
from etsygen_scraper.bootstrap import MIGRATIONS
from etsygen_scraper.service_layer.retention import apply_retention
from etsygen_scraper.settings import EtsySettings, ScraperSection, ScraperSettings

pytestmark = pytest.mark.integration

# SCRAPER_SNAPSHOT_RETENTION_DAYS=90: the cutoff is 2025-03-17, so January and February lie wholly before
# it, March only partly (kept whole), and April on is younger.
NOW = datetime(2025, 6, 15, 12, tzinfo=UTC)
LISTING_DAYS = {
    "listing_snapshots_2025_01": [date(2025, 1, 10), date(2025, 1, 31)],
    "listing_snapshots_2025_02": [date(2025, 2, 10)],
    "listing_snapshots_2025_03": [date(2025, 3, 5), date(2025, 3, 20)],
    "listing_snapshots_default": [date(2024, 11, 1), date(2025, 5, 1)],  # no monthly partition for these
}


@pytest.fixture
def settings(pg_url: str) -> ScraperSettings:
    environ = {"DATABASE_URL": pg_url, "REDIS_URL": "redis://-", "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9"}
    return ScraperSettings(
        common=CommonSettings.from_env(environ), etsy=EtsySettings(api_key="a:b"), scraper=ScraperSection()
    )


@pytest.fixture
async def pool(settings: ScraperSettings, pg_url: str, schema: str) -> AsyncIterator[Any]:
    await migrate_service(pg_url, schema, MIGRATIONS)
    p = await create_pool(settings.common.postgres, schema)
    yield p
    await p.close()


async def seed(conn: Any) -> None:
    await repository.ensure_partitions(conn, date(2025, 1, 1), 3)
    for n, day in enumerate(d for days in LISTING_DAYS.values() for d in days):
        observed = datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
        await conn.execute(
            """INSERT INTO listing_snapshots (listing_id, observed_on, observed_at, scrape_run_id, keyword,
                   shop_id, title, price, currency, tags, num_favorers)
               VALUES ($1, $2, $3, $4, 'mug', 7, 'A mug', 12.5, 'USD', '{mug}', 3)""",
            n,
            day,
            observed,
            uuid.uuid4(),
        )
    for day in (date(2025, 3, 1), date(2025, 4, 1)):
        await conn.execute(
            """INSERT INTO shop_snapshots (shop_id, observed_on, observed_at, shop_name,
                   transaction_sold_count, review_count, num_favorers, listing_active_count)
               VALUES (7, $1, $2, 'Shop', 1, 1, 1, 1)""",
            day,
            datetime(day.year, day.month, day.day, tzinfo=UTC),
        )
    for n, finished in enumerate([NOW - timedelta(days=91), NOW - timedelta(days=89)]):
        await conn.execute(
            """INSERT INTO scrape_runs (id, event_id, job_id, owner_id, keyword, marketplace, status,
                   started_at, finished_at)
               VALUES ($1, $2, 'j', 'o', 'mug', 'etsy', 'ok', $3, $3)""",
            uuid.uuid4(),
            f"e{n}",
            finished,
        )
    for sent_days_ago in [8, 6, None]:  # RETENTION_REDELIVERY_HORIZON_DAYS=7; pending rows stay
        await conn.execute(
            "INSERT INTO outbox (topic, headers, payload, sent_at) VALUES ('t', '{}', '\\x00', $1)",
            None if sent_days_ago is None else NOW - timedelta(days=sent_days_ago),
        )
    for n, age in enumerate([8, 6]):
        await conn.execute(
            "INSERT INTO inbox (consumer_group, event_id, topic, received_at) VALUES ('g', $1, 't', $2)",
            f"e{n}",
            NOW - timedelta(days=age),
        )


async def state(conn: Any) -> dict[str, Any]:
    return {
        "partitions": sorted(await partition_bounds(conn, "listing_snapshots")),
        "listing days": sorted(r[0] for r in await conn.fetch("SELECT observed_on FROM listing_snapshots")),
        "shop days": sorted(r[0] for r in await conn.fetch("SELECT observed_on FROM shop_snapshots")),
        "runs": sorted(r[0] for r in await conn.fetch("SELECT finished_at FROM scrape_runs")),
        "outbox": sorted(str(r[0]) for r in await conn.fetch("SELECT sent_at FROM outbox")),
        "inbox": sorted(r[0] for r in await conn.fetch("SELECT received_at FROM inbox")),
    }


async def test_old_months_are_dropped_whole_and_the_dry_run_reports_exactly_that(
    pool: Any, settings: ScraperSettings
) -> None:
    async with pool.acquire() as conn:
        await seed(conn)
        before = await state(conn)

    dry = await apply_retention(pool, settings, now=NOW, dry_run=True)
    async with pool.acquire() as conn:
        assert await state(conn) == before, "a dry run removed something"
    real = await apply_retention(pool, settings, now=NOW, dry_run=False)

    assert [(r.step, r.removed, r.detail) for r in dry] == [(r.step, r.removed, r.detail) for r in real]
    assert [(r.step, r.removed) for r in real] == [
        ("listing_snapshots", 4),
        ("shop_snapshots", 1),
        ("scrape_runs", 1),
        ("outbox", 1),
        ("inbox", 1),
        ("stage_results", 0),
    ]
    assert real[0].detail == "2 monthly partitions dropped, 1 rows from the default partition"
    async with pool.acquire() as conn:
        after = await state(conn)
        partitions = set(after["partitions"])
    assert not {"listing_snapshots_2025_01", "listing_snapshots_2025_02"} & partitions
    assert {"listing_snapshots_2025_03", "listing_snapshots_default"} <= partitions
    assert {"listing_snapshots_2025_06", "listing_snapshots_2025_08"} <= partitions  # months ahead exist
    assert after["listing days"] == [date(2025, 3, 5), date(2025, 3, 20), date(2025, 5, 1)]
    assert after["shop days"] == [date(2025, 4, 1)]
    assert after["runs"] == [NOW - timedelta(days=89)]
    assert len(after["outbox"]) == 2
    assert "None" in after["outbox"]
    assert after["inbox"] == [NOW - timedelta(days=6)]

    again = await apply_retention(pool, settings, now=NOW, dry_run=False)
    assert all(r.removed == 0 for r in again)
