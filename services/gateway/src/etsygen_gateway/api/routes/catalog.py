"""Trends (with "why this score") and products (with publishing and CSV export)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.params import FromQuery, JSONBody, PathParameter, QueryParameter
from litestar.response import Stream
from litestar.status_codes import HTTP_202_ACCEPTED

from etsygen_gateway.api import problems
from etsygen_gateway.api.access import principal_of
from etsygen_gateway.api.routes.common import CachedJson, CatalogService, cached_json, catalog_of, documented
from etsygen_gateway.api.schemas import PublishRequest
from etsygen_gateway.domain.jobs import MAX_KEYWORD_LENGTH
from etsygen_gateway.domain.pagination import RESOURCE_ID, cursor_pattern
from etsygen_gateway.domain.text import LABEL, whole
from etsygen_gateway.domain.views import ProductDetail, ProductPage, TrendDetail, TrendPage
from etsygen_gateway.service_layer.catalog import PublishAccepted, RegenerationAccepted

Risk = Literal["low", "medium", "high"]
ProductStatus = Literal["draft", "publish_requested", "published"]
ResourceId = Annotated[str, PathParameter(min_length=1, max_length=64, pattern=whole(RESOURCE_ID))]
TrendSort = Literal["-created", "created", "-score", "score"]
TrendCursor = Annotated[
    str | None,
    QueryParameter(
        max_length=200,
        pattern=cursor_pattern(get_args(TrendSort)),
        description="next_cursor of a page listed in the same sort order",
    ),
]
ProductCursor = Annotated[
    str | None,
    QueryParameter(max_length=200, pattern=cursor_pattern(["-created"]), description="next_cursor of a page"),
]
Limit = Annotated[int, QueryParameter(ge=1, le=100)]
KeywordFilter = Annotated[
    str | None,
    QueryParameter(
        min_length=1, max_length=MAX_KEYWORD_LENGTH, pattern=LABEL, description="case-insensitive substring"
    ),
]
JobFilter = Annotated[UUID | None, QueryParameter(description="only this job's")]


class TrendController(Controller):
    """Scored niches of the caller's jobs."""

    path = "/v1/trends"
    tags = ("trends",)
    opt = {"requires": "read"}  # noqa: RUF012 - Litestar reads (and merges) layer options

    @get("/", responses={**problems.responses(*problems.COMMON, 422), **documented(TrendPage)})
    async def list_trends(
        self,
        request: Request[Any, Any, Any],
        sort: Annotated[
            TrendSort,
            QueryParameter(description="order: score or created, '-' for descending"),
        ] = "-created",
        risk: FromQuery[Risk | None] = None,
        min_score: Annotated[
            float | None, QueryParameter(le=1, description="0 to 1; below 0 = no minimum")
        ] = None,
        keyword: KeywordFilter = None,
        job_id: JobFilter = None,
        cursor: TrendCursor = None,
        limit: Limit = 20,
    ) -> CachedJson:
        """The caller's trends, filtered and sorted: one row per keyword, its latest run (``runs`` says how
        many there are; GET /v1/trends/{trend_id} lists them in ``history``). With ``job_id``: that job's
        runs."""
        data = await catalog_of(request).trends_json(
            principal_of(request),
            sort=sort,
            risk=risk,
            min_score=min_score if min_score is not None and min_score > 0 else None,
            keyword=keyword,
            job_id=str(job_id) if job_id else None,
            cursor=cursor,
            limit=limit,
        )
        return cached_json(data)

    @get(
        "/{trend_id:str}", responses={**problems.responses(*problems.COMMON, 404), **documented(TrendDetail)}
    )
    async def get_trend(self, request: Request[Any, Any, Any], trend_id: ResourceId) -> CachedJson:
        """A trend, each factor's value, input and weight, and the keyword's score history."""
        return cached_json(await catalog_of(request).trend_json(principal_of(request), trend_id))

    @post(
        "/{trend_id:str}/generate",
        status_code=HTTP_202_ACCEPTED,
        opt={"requires": "generate", "rate": "ai"},
        responses=problems.responses(*problems.COMMON, 404),
    )
    async def generate(
        self, catalog: CatalogService, request: Request[Any, Any, Any], trend_id: ResourceId
    ) -> RegenerationAccepted:
        """Ask for one more product concept for this trend (AI tier: 20 per hour by default)."""
        return await catalog.regenerate(principal_of(request), trend_id)


class ProductController(Controller):
    """Product concepts generated for the caller."""

    path = "/v1/products"
    tags = ("products",)
    opt = {"requires": "read"}  # noqa: RUF012 - Litestar reads (and merges) layer options

    @get("/", responses={**problems.responses(*problems.COMMON, 422), **documented(ProductPage)})
    async def list_products(
        self,
        request: Request[Any, Any, Any],
        status: FromQuery[ProductStatus | None] = None,
        keyword: KeywordFilter = None,
        job_id: JobFilter = None,
        cursor: ProductCursor = None,
        limit: Limit = 20,
    ) -> CachedJson:
        """The caller's products, newest first."""
        data = await catalog_of(request).products_json(
            principal_of(request),
            status=status,
            keyword=keyword,
            job_id=str(job_id) if job_id else None,
            cursor=cursor,
            limit=limit,
        )
        return cached_json(data)

    @get(
        "/export.csv",
        media_type="text/csv",
        responses=problems.responses(*problems.COMMON),
    )
    async def export_csv(
        self,
        catalog: CatalogService,
        request: Request[Any, Any, Any],
        status: FromQuery[ProductStatus | None] = None,
        job_id: JobFilter = None,
    ) -> Stream:
        """Every product as CSV in Etsy's listing columns, for bulk-listing tools."""
        lines = catalog.export_csv(
            principal_of(request), status=status, job_id=str(job_id) if job_id else None
        )
        return Stream(
            lines,
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": 'attachment; filename="etsygen-products.csv"'},
        )

    @get(
        "/{product_id:str}",
        responses={**problems.responses(*problems.COMMON, 404), **documented(ProductDetail)},
    )
    async def get_product(self, request: Request[Any, Any, Any], product_id: ResourceId) -> CachedJson:
        """A product concept with its price evidence, design prompt, validation and provider usage."""
        return cached_json(await catalog_of(request).product_json(principal_of(request), product_id))

    @post(
        "/{product_id:str}/publish",
        status_code=HTTP_202_ACCEPTED,
        opt={"requires": "write"},
        responses=problems.responses(*problems.COMMON, 404, 409),
    )
    async def publish(
        self,
        catalog: CatalogService,
        request: Request[Any, Any, Any],
        product_id: ResourceId,
        data: JSONBody[PublishRequest],
    ) -> PublishAccepted:
        """Create the product as a draft listing in one of your Etsy shops (operators and admins)."""
        return await catalog.publish(principal_of(request), product_id, data.shop_id)
