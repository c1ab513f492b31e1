"""Trend and product use cases: cached reads, another concept for a trend, publishing, CSV export."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import msgspec

from etsygen_common.contracts import PublishRequested
from etsygen_common.envelope import wrap
from etsygen_common.outbox import enqueue
from etsygen_gateway.adapters import jobs as job_repo
from etsygen_gateway.adapters import readmodels as repo
from etsygen_gateway.adapters.live import LiveNotice, notify
from etsygen_gateway.domain.accounts import Principal
from etsygen_gateway.domain.export import header_line, row_line
from etsygen_gateway.domain.pagination import CursorError, decode_cursor
from etsygen_gateway.domain.views import ProductSummary
from etsygen_gateway.errors import ConflictError, InvalidRequestError, NotFoundError
from etsygen_gateway.metrics import SERVICE
from etsygen_gateway.service_layer.reads import CachedReads

REGENERATE_HEADER = "x-etsygen-regenerate"
"""Marks a TrendScored the gateway re-emitted for one more concept (the projection must not reapply it)."""


class RegenerationAccepted(msgspec.Struct, frozen=True, kw_only=True):
    """A request for another concept was queued."""

    trend_id: str
    keyword: str
    job_id: str
    event_id: str


class PublishAccepted(msgspec.Struct, frozen=True, kw_only=True):
    """A draft listing was requested from the marketplace."""

    product: ProductSummary
    event_id: str


def _after(cursor: str | None, sort: str) -> object:
    try:
        return decode_cursor(cursor, sort) if cursor else None
    except CursorError as exc:
        raise InvalidRequestError(str(exc)) from None


class Catalog:
    """The caller's trends and products: cached reads, another concept for a trend, publishing, export."""

    def __init__(self, pool: Any, *, trends: CachedReads, products: CachedReads) -> None:
        """``pool``: the gateway's Postgres pool (late-bound); ``trends``/``products``: their cached reads."""
        self._pool = pool
        self._trends = trends
        self._products = products

    async def trends_json(
        self,
        principal: Principal,
        *,
        sort: repo.TrendSort,
        risk: str | None,
        min_score: float | None,
        keyword: str | None,
        job_id: str | None,
        cursor: str | None,
        limit: int,
    ) -> bytes:
        """A page of the caller's trends, as cached JSON."""
        owner = principal.user_id
        after = _after(cursor, sort)
        key = f"list:{sort}:{risk}:{min_score}:{keyword}:{job_id}:{cursor}:{limit}"
        return self._trends.near(owner, key) or await self._trends.read(
            owner,
            key,
            repo.list_trends,
            self._pool,
            owner,
            sort=sort,
            risk=risk,
            min_score=min_score,
            keyword=keyword,
            job_id=job_id,
            after=after,
            limit=limit,
        )

    async def trend_json(self, principal: Principal, trend_id: str) -> bytes:
        """One of the caller's trends with its explanation and history, as cached JSON."""
        owner = principal.user_id
        key = f"one:{trend_id}"
        return self._trends.near(owner, key) or await self._trends.read(
            owner, key, repo.get_trend, self._pool, owner, trend_id, missing="no such trend"
        )

    async def products_json(
        self,
        principal: Principal,
        *,
        status: str | None,
        keyword: str | None,
        job_id: str | None,
        cursor: str | None,
        limit: int,
    ) -> bytes:
        """A page of the caller's products, as cached JSON."""
        owner = principal.user_id
        after = _after(cursor, "-created")
        key = f"list:{status}:{keyword}:{job_id}:{cursor}:{limit}"
        return self._products.near(owner, key) or await self._products.read(
            owner,
            key,
            repo.list_products,
            self._pool,
            owner,
            status=status,
            keyword=keyword,
            job_id=job_id,
            after=after,
            limit=limit,
        )

    async def product_json(self, principal: Principal, product_id: str) -> bytes:
        """One of the caller's products, as cached JSON."""
        owner = principal.user_id
        key = f"one:{product_id}"
        return self._products.near(owner, key) or await self._products.read(
            owner,
            key,
            repo.get_product,
            self._pool,
            owner,
            product_id,
            missing="no such product",
        )

    async def regenerate(self, principal: Principal, trend_id: str) -> RegenerationAccepted:
        """Ask the generator for one more concept for a trend: the stored TrendScored is re-emitted through
        the outbox with a new event id and ``concepts_per_niche=1``. The caller chose this niche, so the
        job's minimum score no longer applies to it; the risk ceiling still does.

        Raises:
            NotFoundError: the caller has no such trend.
        """
        owner = principal.user_id
        event_id = str(uuid.uuid4())
        async with self._pool.acquire() as conn, conn.transaction():
            event = await repo.trend_event(conn, owner, trend_id)
            if event is None:
                raise NotFoundError("no such trend")
            again = msgspec.structs.replace(
                event,
                concepts_per_niche=1,
                generation_enabled=True,
                min_score=min(event.min_score, event.score),
            )
            envelope = wrap(
                again,
                source=SERVICE,
                event_id=event_id,
                extra_headers={REGENERATE_HEADER: trend_id, "x-etsygen-requested-by": owner},
            )
            await enqueue(conn, [envelope])
            if await job_repo.get_job(conn, owner, event.job_id) is not None:
                await job_repo.insert_event(
                    conn,
                    event.job_id,
                    "concept.requested",
                    keyword=event.keyword,
                    detail={"trend_id": trend_id, "event_id": event_id},
                )
                await notify(
                    conn,
                    LiveNotice(
                        owner_id=owner, job_id=event.job_id, kind="concept.requested", namespaces=["jobs"]
                    ),
                )
        return RegenerationAccepted(
            trend_id=trend_id, keyword=event.keyword, job_id=event.job_id, event_id=event_id
        )

    async def publish(self, principal: Principal, product_id: str, shop_id: int) -> PublishAccepted:
        """Request a draft listing for one of the caller's products (PublishRequested through the outbox).

        Raises:
            NotFoundError: the caller has no such product.
            ConflictError: it was published or requested already.
        """
        owner = principal.user_id
        event_id = str(uuid.uuid4())
        async with self._pool.acquire() as conn, conn.transaction():
            found = await repo.lock_product(conn, owner, product_id)
            if found is None:
                raise NotFoundError("no such product")
            product, status = found
            if status != "draft":
                raise ConflictError(f"the product is {status.replace('_', ' ')} already")
            event = PublishRequested(
                owner_id=owner,
                product_id=product_id,
                shop_id=shop_id,
                requested_by=owner,
                job_id=product.job_id,
            )
            await enqueue(conn, [wrap(event, source=SERVICE, event_id=event_id, key=product_id.encode())])
            summary = await repo.mark_publish_requested(conn, owner, product_id, shop_id)
            if product.job_id and await job_repo.get_job(conn, owner, product.job_id) is not None:
                await job_repo.insert_event(
                    conn,
                    product.job_id,
                    "product.publish_requested",
                    keyword=product.keyword,
                    detail={"product_id": product_id, "shop_id": shop_id},
                )
            await notify(
                conn,
                LiveNotice(
                    owner_id=owner,
                    job_id=product.job_id,
                    kind="product.publish_requested",
                    namespaces=["products"],
                ),
            )
        await self._products.invalidate(owner)
        return PublishAccepted(product=summary, event_id=event_id)

    async def export_csv(
        self, principal: Principal, *, status: str | None, job_id: str | None
    ) -> AsyncIterator[str]:
        """The caller's products as CSV lines in Etsy's listing columns (streamed, oldest first)."""
        yield header_line()
        async for product in repo.export_products(
            self._pool, principal.user_id, status=status, job_id=job_id
        ):
            yield row_line(product)
