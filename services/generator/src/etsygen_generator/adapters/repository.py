"""Postgres repository of the generator's own schema."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from etsygen_common.contracts import ProductGenerated, ProviderUsage
from etsygen_generator.domain.guards import AIUsage, ExistingProduct

RECENT_PRODUCTS = 500
"""How many of the owner's newest products the near-duplicate guard compares a concept with."""


def owner_products_lock(owner_id: str) -> str:
    """Key of the lock that serialises the transactions checking and adding products of one owner.

    Without it two concepts of the same owner handled at once (two partitions, two replicas) could each pass
    the near-duplicate check before either product is visible to the other. With it, products of one owner
    are stored and committed one transaction at a time, so their ``seq`` numbers grow in commit order and
    "every product after seq N" read under the lock misses none.
    """
    return f"etsygen.products:{owner_id}"


async def products_after(
    conn: Any, owner_id: str, after_seq: int, limit: int = RECENT_PRODUCTS
) -> list[tuple[int, ExistingProduct]]:
    """The owner's products stored after ``after_seq`` (at most the ``limit`` newest), oldest first."""
    rows = await conn.fetch(
        """SELECT seq, product_id::text AS id, title, tags FROM products
           WHERE owner_id = $1 AND seq > $2 ORDER BY seq DESC LIMIT $3""",
        owner_id,
        after_seq,
        limit,
    )
    return [
        (r["seq"], ExistingProduct(product_id=r["id"], title=r["title"], tags=list(r["tags"])))
        for r in reversed(rows)
    ]


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


async def insert_product(conn: Any, product: ProductGenerated) -> int | None:
    """Store a product; its sequence number, or None when it exists already (redelivery)."""
    seq: int | None = await conn.fetchval(
        """INSERT INTO products (product_id, owner_id, job_id, keyword, concept_index, title, tags, body)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (product_id) DO NOTHING RETURNING seq""",
        product.product_id,
        product.owner_id,
        product.job_id,
        product.keyword,
        product.concept_index,
        product.concept.title,
        product.concept.tags,
        product,
    )
    return seq


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
