"""Postgres repository of the owner-scoped read models: trends and products.

Both are projections of events (``TrendScored``, ``ProductGenerated``, ``ListingPublished``); each row keeps
the event it came from in ``payload`` so views can show every detail and a trend can be re-emitted.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, Final, Literal

import msgspec

from etsygen_common.contracts import ListingPublished, ProductGenerated, TrendScored
from etsygen_gateway.adapters.jobs import as_uuid
from etsygen_gateway.adapters.paging import fetch_page, given, page_query
from etsygen_gateway.domain.pagination import Cursor, encode_cursor
from etsygen_gateway.domain.trends import explain
from etsygen_gateway.domain.views import (
    ProductDetail,
    ProductPage,
    ProductSummary,
    TrendDetail,
    TrendPage,
    TrendPoint,
    TrendSummary,
)

TrendSort = Literal["-created", "created", "-score", "score"]
HISTORY_LIMIT: Final = 50
EXPORT_BATCH: Final = 500

_TREND_COLUMNS = """id, job_id, keyword, marketplace, score, confidence, risk, payload, created_at,
    (SELECT count(*) FROM trends AS run
     WHERE run.owner_id = trends.owner_id AND lower(run.keyword) = lower(trends.keyword)) AS runs"""
_PRODUCT_COLUMNS = """id, job_id, keyword, title, status, price, currency, score, risk, created_at,
    updated_at, remote_listing_id, listing_url"""


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _trend(row: Any) -> TrendSummary:
    payload = row["payload"]
    return TrendSummary(
        id=row["id"],
        job_id=str(row["job_id"]) if row["job_id"] else None,
        keyword=row["keyword"],
        marketplace=row["marketplace"],
        score=row["score"],
        confidence=row["confidence"],
        risk=row["risk"],
        listing_count=int(payload.get("listing_count", 0)),
        total_count=int(payload.get("total_count", 0)),
        synthetic=bool(payload.get("synthetic", False)),
        created_at=row["created_at"],
        runs=row["runs"],
    )


async def upsert_trend(conn: Any, trend_id: str, event_id: str, event: TrendScored) -> bool:
    """Store a scored trend (immutable: a redelivery changes nothing) and keep the keyword's latest run
    marked. True when it is new.

    The owner's runs of one keyword are stored one transaction at a time (an advisory lock on owner and
    keyword), so exactly one of them is ``latest`` (newest ``created_at``, then id) whatever order their
    events are projected in.
    """
    owner = uuid.UUID(event.owner_id)
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('etsygen.trends:' || $1::text || lower($2), 0))",
        str(owner),
        event.keyword,
    )
    inserted = await conn.fetchval(
        """INSERT INTO trends (id, owner_id, job_id, keyword, marketplace, score, confidence, risk,
                               event_id, payload, latest)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, false)
           ON CONFLICT (id) DO NOTHING RETURNING true""",
        trend_id,
        owner,
        as_uuid(event.job_id),
        event.keyword,
        event.marketplace,
        event.score,
        event.confidence,
        event.risk,
        event_id,
        msgspec.to_builtins(event),
    )
    if not inserted:
        return False
    await conn.execute(
        """WITH newest AS (
               SELECT id FROM trends WHERE owner_id = $1 AND lower(keyword) = lower($2)
               ORDER BY created_at DESC, id DESC LIMIT 1)
           UPDATE trends SET latest = (id = (SELECT id FROM newest))
           WHERE owner_id = $1 AND lower(keyword) = lower($2) AND latest <> (id = (SELECT id FROM newest))""",
        owner,
        event.keyword,
    )
    return True


async def list_trends(
    conn: Any,
    owner_id: str,
    *,
    sort: TrendSort,
    risk: str | None,
    min_score: float | None,
    keyword: str | None,
    job_id: str | None,
    after: Cursor | None,
    limit: int,
) -> TrendPage:
    """The owner's trends, filtered, keyset-paginated on (sort column, id): one per keyword (its latest run,
    ``runs`` counting them all), or with ``job_id`` that job's."""
    column = "score" if sort.endswith("score") else "created_at"
    rows, more = await fetch_page(
        conn,
        page_query(
            f"SELECT {_TREND_COLUMNS} FROM trends",
            filters=[
                ("owner_id = {}", uuid.UUID(owner_id)),
                given("risk = {}", risk),
                given("score >= {}", min_score),
                ("lower(keyword) LIKE {}", _like(keyword)) if keyword else None,
                ("latest = {}", True) if job_id is None else ("job_id = {}", as_uuid(job_id)),
            ],
            keyset=(column, "id"),
            descending=sort.startswith("-"),
            after=None if after is None else (after.value, after.id),
            limit=limit,
        ),
    )
    items = [_trend(r) for r in rows]
    next_cursor = None
    if more:
        last = items[-1]
        value_out: float | datetime = last.score if column == "score" else last.created_at
        next_cursor = encode_cursor(Cursor(sort=sort, value=value_out, id=last.id))
    return TrendPage(items=items, next_cursor=next_cursor)


async def get_trend(conn: Any, owner_id: str, trend_id: str) -> TrendDetail | None:
    """One of the owner's trends with its explanation and the keyword's history."""
    row = await conn.fetchrow(
        f"SELECT {_TREND_COLUMNS} FROM trends WHERE id = $1 AND owner_id = $2", trend_id, uuid.UUID(owner_id)
    )
    if row is None:
        return None
    event = msgspec.convert(row["payload"], TrendScored)
    history = await conn.fetch(
        """SELECT id, score, confidence, risk, created_at FROM trends
           WHERE owner_id = $1 AND lower(keyword) = lower($2) ORDER BY created_at DESC LIMIT $3""",
        uuid.UUID(owner_id),
        row["keyword"],
        HISTORY_LIMIT,
    )
    return TrendDetail(
        trend=_trend(row),
        factors=explain(event.factors),
        estimates=event.estimates,
        momentum=event.momentum,
        price_band=event.price_band,
        top_tags=event.top_tags,
        top_title_phrases=event.top_title_phrases,
        relevance=event.relevance,
        history=[
            TrendPoint(
                id=h["id"],
                score=h["score"],
                confidence=h["confidence"],
                risk=h["risk"],
                created_at=h["created_at"],
            )
            for h in history
        ],
    )


async def trend_event(conn: Any, owner_id: str, trend_id: str) -> TrendScored | None:
    """The stored event of one of the owner's trends."""
    payload = await conn.fetchval(
        "SELECT payload FROM trends WHERE id = $1 AND owner_id = $2", trend_id, uuid.UUID(owner_id)
    )
    return msgspec.convert(payload, TrendScored) if payload is not None else None


# --- products -------------------------------------------------------------------------------------------


def _product(row: Any) -> ProductSummary:
    return ProductSummary(
        id=row["id"],
        job_id=str(row["job_id"]) if row["job_id"] else None,
        keyword=row["keyword"],
        title=row["title"],
        status=row["status"],
        price=row["price"],
        currency=row["currency"],
        score=row["score"],
        risk=row["risk"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        remote_listing_id=row["remote_listing_id"],
        listing_url=row["listing_url"],
    )


async def upsert_product(conn: Any, event: ProductGenerated) -> bool:
    """Store a generated product (immutable content). True when it is new."""
    inserted = await conn.fetchval(
        """INSERT INTO products (id, owner_id, job_id, keyword, title, price, currency, score, risk, payload)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING RETURNING true""",
        event.product_id,
        uuid.UUID(event.owner_id),
        as_uuid(event.job_id),
        event.keyword,
        event.concept.title,
        event.price.price.amount,
        event.price.price.currency,
        event.evidence.score,
        event.evidence.risk,
        msgspec.to_builtins(event),
    )
    return bool(inserted)


async def list_products(
    conn: Any,
    owner_id: str,
    *,
    status: str | None,
    keyword: str | None,
    job_id: str | None,
    after: Cursor | None,
    limit: int,
) -> ProductPage:
    """The owner's products newest first, keyset-paginated on (created_at, id)."""
    rows, more = await fetch_page(
        conn,
        page_query(
            f"SELECT {_PRODUCT_COLUMNS} FROM products",
            filters=[
                ("owner_id = {}", uuid.UUID(owner_id)),
                given("status = {}", status),
                ("lower(keyword) LIKE {}", _like(keyword)) if keyword else None,
                None if job_id is None else ("job_id = {}", as_uuid(job_id)),
            ],
            keyset=("created_at", "id"),
            descending=True,
            after=None if after is None else (after.value, after.id),
            limit=limit,
        ),
    )
    items = [_product(r) for r in rows]
    next_cursor = None
    if more:
        last = items[-1]
        next_cursor = encode_cursor(Cursor(sort="-created", value=last.created_at, id=last.id))
    return ProductPage(items=items, next_cursor=next_cursor)


async def get_product(conn: Any, owner_id: str, product_id: str) -> ProductDetail | None:
    """One of the owner's products with everything the generator produced."""
    row = await conn.fetchrow(
        f"SELECT {_PRODUCT_COLUMNS}, payload FROM products WHERE id = $1 AND owner_id = $2",
        product_id,
        uuid.UUID(owner_id),
    )
    if row is None:
        return None
    event = msgspec.convert(row["payload"], ProductGenerated)
    return ProductDetail(
        product=_product(row),
        concept=event.concept,
        price=event.price,
        design=event.design,
        validation=event.validation,
        evidence=event.evidence,
        usage=event.usage,
    )


async def lock_product(conn: Any, owner_id: str, product_id: str) -> tuple[ProductGenerated, str] | None:
    """One of the owner's products and its status, locked for update."""
    row = await conn.fetchrow(
        "SELECT payload, status FROM products WHERE id = $1 AND owner_id = $2 FOR UPDATE",
        product_id,
        uuid.UUID(owner_id),
    )
    if row is None:
        return None
    return msgspec.convert(row["payload"], ProductGenerated), row["status"]


async def mark_publish_requested(conn: Any, owner_id: str, product_id: str, shop_id: int) -> ProductSummary:
    """Record that a draft listing was requested."""
    row = await conn.fetchrow(
        f"""UPDATE products SET status = 'publish_requested', shop_id = $3, updated_at = now()
            WHERE id = $1 AND owner_id = $2 RETURNING {_PRODUCT_COLUMNS}""",
        product_id,
        uuid.UUID(owner_id),
        shop_id,
    )
    return _product(row)


async def mark_published(conn: Any, event: ListingPublished) -> bool:
    """Record the marketplace draft of a product (owner-checked). True when the product was found."""
    updated = await conn.fetchval(
        """UPDATE products SET status = 'published', remote_listing_id = $3, shop_id = $4, listing_url = $5,
               updated_at = now()
           WHERE id = $1 AND owner_id = $2 RETURNING true""",
        event.product_id,
        uuid.UUID(event.owner_id),
        event.remote_listing_id,
        event.shop_id,
        event.url,
    )
    return bool(updated)


async def export_products(
    pool: Any, owner_id: str, *, status: str | None, job_id: str | None
) -> AsyncIterator[ProductGenerated]:
    """Every matching product of the owner, oldest first, read in keyset batches."""
    owner = uuid.UUID(owner_id)
    job = as_uuid(job_id) if job_id else None
    last_created: Any = None
    last_id = ""
    while True:
        async with pool.acquire() as conn:
            rows = await conn.fetch(
                """SELECT id, created_at, payload FROM products
                   WHERE owner_id = $1 AND ($2::text IS NULL OR status = $2)
                     AND ($3::uuid IS NULL OR job_id = $3)
                     AND ($4::timestamptz IS NULL OR (created_at, id) > ($4, $5))
                   ORDER BY created_at, id LIMIT $6""",
                owner,
                status,
                job,
                last_created,
                last_id,
                EXPORT_BATCH,
            )
        for row in rows:
            yield msgspec.convert(row["payload"], ProductGenerated)
        if len(rows) < EXPORT_BATCH:
            return
        last_created, last_id = rows[-1]["created_at"], rows[-1]["id"]
