"""Postgres repository of the generator's own schema."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from etsygen_common.contracts import ProductGenerated, ProviderUsage
from etsygen_generator.domain.guards import AIUsage, ExistingProduct

RECENT_PRODUCTS = 500
"""How many of the owner's most recent products the near-duplicate guard compares a concept with."""


async def recent_products(conn: Any, owner_id: str, limit: int = RECENT_PRODUCTS) -> list[ExistingProduct]:
    """The owner's most recent products, for the near-duplicate guard."""
    rows = await conn.fetch(
        "SELECT product_id, title, tags FROM products WHERE owner_id = $1 ORDER BY created_at DESC LIMIT $2",
        owner_id,
        limit,
    )
    return [
        ExistingProduct(product_id=str(r["product_id"]), title=r["title"], tags=list(r["tags"])) for r in rows
    ]


async def recent_product_ids(conn: Any, owner_id: str, limit: int = RECENT_PRODUCTS) -> list[str]:
    """Ids of the owner's most recent products, newest first, in one row (cheap to read on every event)."""
    ids: list[str] | None = await conn.fetchval(
        """SELECT array_agg(product_id::text ORDER BY created_at DESC, product_id)
           FROM (SELECT product_id, created_at FROM products
                 WHERE owner_id = $1 ORDER BY created_at DESC LIMIT $2) AS recent""",
        owner_id,
        limit,
    )
    return ids or []


async def products_by_id(conn: Any, product_ids: list[str]) -> list[ExistingProduct]:
    """Titles and tags of the given products."""
    rows = await conn.fetch(
        "SELECT product_id::text AS id, title, tags FROM products WHERE product_id = ANY($1::uuid[])",
        product_ids,
    )
    return [ExistingProduct(product_id=r["id"], title=r["title"], tags=list(r["tags"])) for r in rows]


async def usage_today(conn: Any, owner_id: str) -> AIUsage:
    """Tokens and cost an owner used since midnight UTC."""
    row = await conn.fetchrow(
        """SELECT coalesce(sum(prompt_tokens + completion_tokens), 0) AS tokens,
                  coalesce(sum(cost_usd), 0) AS cost
           FROM ai_usage WHERE owner_id = $1 AND created_at >= $2""",
        owner_id,
        datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0),
    )
    return AIUsage(tokens=int(row["tokens"]), cost_usd=float(row["cost"]))


async def record_usage(
    conn: Any, owner_id: str, job_id: str | None, usage: ProviderUsage, outcome: str
) -> None:
    """One row per generation (all its attempts), for budgets and cost reports."""
    await conn.execute(
        """INSERT INTO ai_usage (owner_id, job_id, provider, model, prompt_tokens, completion_tokens,
               cost_usd,
               latency_ms, outcome) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
        owner_id,
        job_id,
        usage.provider,
        usage.model,
        usage.prompt_tokens,
        usage.completion_tokens,
        usage.cost_usd,
        usage.latency_ms,
        outcome,
    )


async def insert_product(conn: Any, product: ProductGenerated) -> bool:
    """Store a product; False when it exists already (redelivery)."""
    status: str = await conn.execute(
        """INSERT INTO products (product_id, owner_id, job_id, keyword, concept_index, title, tags, body)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (product_id) DO NOTHING""",
        product.product_id,
        product.owner_id,
        product.job_id,
        product.keyword,
        product.concept_index,
        product.concept.title,
        product.concept.tags,
        product,
    )
    return status.endswith("1")


async def load_product(conn: Any, product_id: str, owner_id: str) -> dict[str, Any] | None:
    """A stored product's event body, owner-scoped."""
    row = await conn.fetchrow(
        "SELECT body FROM products WHERE product_id = $1::uuid AND owner_id = $2", product_id, owner_id
    )
    return None if row is None else dict(row["body"])


async def publication(conn: Any, product_id: str) -> Any:
    """The draft created for a product, if any."""
    return await conn.fetchrow("SELECT * FROM publications WHERE product_id = $1::uuid", product_id)


async def insert_publication(
    conn: Any, *, product_id: str, owner_id: str, shop_id: int, remote_listing_id: int, state: str, by: str
) -> None:
    """Record a created draft."""
    await conn.execute(
        """INSERT INTO publications (product_id, owner_id, shop_id, remote_listing_id, state, requested_by)
           VALUES ($1::uuid, $2, $3, $4, $5, $6)""",
        product_id,
        owner_id,
        shop_id,
        remote_listing_id,
        state,
        by,
    )


async def token_for(conn: Any, user_id: int) -> Any:
    """The stored OAuth token of a seller."""
    return await conn.fetchrow("SELECT * FROM oauth_tokens WHERE user_id = $1", user_id)


async def save_token(conn: Any, user_id: int, access: str, refresh: str, expires_at: datetime) -> None:
    """Insert or replace a seller's OAuth token."""
    await conn.execute(
        """INSERT INTO oauth_tokens (user_id, access_token, refresh_token, expires_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (user_id) DO UPDATE SET access_token = EXCLUDED.access_token,
               refresh_token = EXCLUDED.refresh_token, expires_at = EXCLUDED.expires_at,
               updated_at = now()""",
        user_id,
        access,
        refresh,
        expires_at,
    )
