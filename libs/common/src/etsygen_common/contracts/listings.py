"""Topic family ``etsygen.listings.*``: marketplace data the scraper fetched and drafts it created."""

from __future__ import annotations

from typing import Literal

import msgspec

from etsygen_common.contracts.base import Event, Money
from etsygen_common.contracts.research import GenerationOptions


class ListingSample(msgspec.Struct, frozen=True, kw_only=True):
    """One active listing as seen in a search, normalised from Etsy's ``ShopListing``."""

    listing_id: int
    shop_id: int
    title: str
    price: Money
    tags: list[str] = msgspec.field(default_factory=list)
    taxonomy_id: int | None = None
    num_favorers: int = 0
    views: int | None = None
    created_at: int | None = None
    """Listing age source: ``original_creation_timestamp`` (unix seconds)."""
    reviews_in_window: int | None = None
    """Reviews created within ``ListingsScraped.review_window_days``; None when not fetched."""
    rating: float | None = None
    """Average rating of the reviews in the window, when fetched."""


class ShopSample(msgspec.Struct, frozen=True, kw_only=True):
    """Shop figures from Etsy's ``Shop`` resource."""

    shop_id: int
    shop_name: str
    transaction_sold_count: int = 0
    review_average: float | None = None
    review_count: int = 0
    num_favorers: int = 0
    listing_active_count: int = 0


class FetchMetadata(msgspec.Struct, frozen=True, kw_only=True):
    """How the data was fetched: calls spent, source, whether the catalogue is synthetic."""

    api_calls: int
    started_at: str
    finished_at: str
    source: str = "etsy-open-api-v3"
    synthetic: bool = False
    truncated: bool = False


class ListingsScraped(Event, frozen=True, kw_only=True):
    """One keyword's marketplace data; ``status`` says whether the fetch succeeded."""

    job_id: str
    owner_id: str
    keyword: str
    marketplace: str = "etsy"
    status: Literal["ok", "failed"] = "ok"
    error: str | None = None
    total_count: int = 0
    """Etsy's ``count``: the exact number of active listings matching the keyword (supply)."""
    listings: list[ListingSample] = msgspec.field(default_factory=list)
    shops: list[ShopSample] = msgspec.field(default_factory=list)
    review_window_days: int = 30
    fetch: FetchMetadata | None = None
    scrape_run_id: str | None = None
    generation: GenerationOptions | None = None
    """The job's generation options, passed along so downstream needs no lookup."""
    attempt: int = 0
    """The research request's attempt (above 0 for a re-drive), passed along so each stage can answer a
    re-drive of work it already did from its stored output."""


class ListingPublished(Event, frozen=True, kw_only=True):
    """A draft listing was created on the marketplace (never activated automatically)."""

    job_id: str | None = None
    owner_id: str
    product_id: str
    marketplace: str = "etsy"
    remote_listing_id: int
    shop_id: int
    state: str = "draft"
    url: str | None = None
