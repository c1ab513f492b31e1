"""Postgres repository of the scraper's own schema: scrape runs, listing and shop snapshots."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import msgspec

from etsygen_common.contracts import ListingSample, ShopSample

_LISTING_COLUMNS = (
    "listing_id, observed_on, observed_at, scrape_run_id, keyword, shop_id, title, price, currency, tags,"
    " taxonomy_id, num_favorers, views, created_at, reviews_in_window, rating"
)


def _encode_tags(tags: list[str]) -> str:
    return msgspec.json.encode(tags).decode()


async def ensure_partitions(conn: Any, today: date | None = None, months: int = 3) -> int:
    """Create the monthly partitions of ``listing_snapshots`` from this month on (idempotent)."""
    created: int = await conn.fetchval(
        "SELECT ensure_listing_snapshot_partitions($1, $2)", today or datetime.now(UTC).date(), months
    )
    return created


async def insert_run(
    conn: Any,
    *,
    run_id: str,
    event_id: str,
    job_id: str,
    owner_id: str,
    keyword: str,
    marketplace: str,
    status: str,
    error: str | None,
    total_count: int,
    listings: int,
    api_calls: int,
    synthetic: bool,
    started_at: datetime,
) -> None:
    """Record one keyword fetch."""
    await conn.execute(
        """INSERT INTO scrape_runs (id, event_id, job_id, owner_id, keyword, marketplace, status, error,
               total_count, listings, api_calls, synthetic, started_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)""",
        run_id,
        event_id,
        job_id,
        owner_id,
        keyword,
        marketplace,
        status,
        error,
        total_count,
        listings,
        api_calls,
        synthetic,
        started_at,
    )


async def insert_listing_snapshots(
    conn: Any, run_id: str, keyword: str, observed_at: datetime, listings: list[ListingSample]
) -> int:
    """Append snapshots; a listing already observed that day is skipped. Returns rows written."""
    if not listings:
        return 0
    observed_on = observed_at.date()
    columns: list[list[Any]] = [[] for _ in range(16)]
    for item in listings:
        row = (
            item.listing_id,
            observed_on,
            observed_at,
            run_id,
            keyword,
            item.shop_id,
            item.title,
            round(item.price.amount, 2),
            item.price.currency,
            _encode_tags(item.tags),
            item.taxonomy_id,
            item.num_favorers,
            item.views,
            datetime.fromtimestamp(item.created_at, UTC) if item.created_at else None,
            item.reviews_in_window,
            item.rating,
        )
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    # One statement for the whole batch: unnest over typed column arrays; a listing already observed that
    # day is skipped. unnest cannot take an array of arrays of different lengths, so each row's tags travel
    # as one jsonb value and are turned back into text[] per row.
    status: str = await conn.execute(
        f"""INSERT INTO listing_snapshots ({_LISTING_COLUMNS})
            SELECT l, o, a, r::uuid, k, s, t, p, c,
                   ARRAY(SELECT jsonb_array_elements_text(g::jsonb)), x, f, v, ca, rw, rt
            FROM unnest($1::bigint[], $2::date[], $3::timestamptz[], $4::text[], $5::text[], $6::bigint[],
                        $7::text[], $8::numeric[], $9::text[], $10::text[], $11::int[], $12::int[],
                        $13::int[], $14::timestamptz[], $15::int[], $16::real[])
                 AS u(l, o, a, r, k, s, t, p, c, g, x, f, v, ca, rw, rt)
            ON CONFLICT (listing_id, observed_on) DO NOTHING""",
        *columns,
    )
    return int(status.rsplit(" ", 1)[-1])


async def insert_shop_snapshots(conn: Any, observed_at: datetime, shops: list[ShopSample]) -> None:
    """Append shop figures; a shop already observed that day is skipped."""
    if not shops:
        return
    await conn.executemany(
        """INSERT INTO shop_snapshots (shop_id, observed_on, observed_at, shop_name, transaction_sold_count,
               review_average, review_count, num_favorers, listing_active_count)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (shop_id, observed_on) DO NOTHING""",
        [
            (
                s.shop_id,
                observed_at.date(),
                observed_at,
                s.shop_name,
                s.transaction_sold_count,
                s.review_average,
                s.review_count,
                s.num_favorers,
                s.listing_active_count,
            )
            for s in shops
        ],
    )
