"""Turn Etsy resources into the ``etsygen.listings`` contract types. Pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import msgspec

from etsygen_common.contracts.base import Money
from etsygen_common.contracts.listings import FetchMetadata, ListingSample, ListingsScraped, ShopSample
from etsygen_common.contracts.research import GenerationOptions
from etsygen_scraper.domain.etsy_models import EtsyListing, EtsyMoney, EtsyShop, ReviewWindow
from etsygen_scraper.domain.planner import CallPlan


def money(price: EtsyMoney) -> Money:
    """Etsy's ``{amount, divisor, currency_code}`` as ``amount / divisor`` in that currency.

    A zero divisor (never seen, but the schema allows it) is read as "amount is already whole units".
    """
    divisor = price.divisor or 1
    return Money(amount=price.amount / divisor, currency=price.currency_code)


def average_rating(ratings: Iterable[int]) -> float | None:
    """Mean of star ratings, or ``None`` when there are none (no rating is not a zero rating)."""
    values = list(ratings)
    if not values:
        return None
    return sum(values) / len(values)


def listing_sample(listing: EtsyListing, reviews: ReviewWindow | None = None) -> ListingSample:
    """One ``ShopListing`` (plus its windowed reviews, when fetched) as a ``ListingSample``.

    ``created_at`` comes from ``original_creation_timestamp`` (the listing's age survives renewals), falling
    back to ``created_timestamp``. Without ``reviews`` both review fields stay ``None`` (not fetched, not 0).
    """
    return ListingSample(
        listing_id=listing.listing_id,
        shop_id=listing.shop_id,
        title=listing.title,
        price=money(listing.price),
        tags=list(listing.tags),
        taxonomy_id=listing.taxonomy_id,
        num_favorers=listing.num_favorers,
        views=listing.views,
        created_at=listing.original_creation_timestamp or listing.created_timestamp,
        reviews_in_window=reviews.count if reviews is not None else None,
        rating=average_rating(reviews.ratings) if reviews is not None else None,
    )


def shop_sample(shop: EtsyShop) -> ShopSample:
    """Etsy's ``Shop`` as a ``ShopSample``; a null ``review_count`` becomes 0, a null average stays None."""
    return ShopSample(
        shop_id=shop.shop_id,
        shop_name=shop.shop_name,
        transaction_sold_count=shop.transaction_sold_count,
        review_average=shop.review_average,
        review_count=shop.review_count or 0,
        num_favorers=shop.num_favorers,
        listing_active_count=shop.listing_active_count,
    )


def listing_samples(
    listings: Iterable[EtsyListing], reviews: Mapping[int, ReviewWindow] | None = None
) -> list[ListingSample]:
    """Normalise listings in order, attaching review windows by ``listing_id``; duplicates are dropped."""
    windows = reviews or {}
    samples: dict[int, ListingSample] = {}
    for listing in listings:
        if listing.listing_id not in samples:
            samples[listing.listing_id] = listing_sample(listing, windows.get(listing.listing_id))
    return list(samples.values())


class KeywordFetch(msgspec.Struct, frozen=True, kw_only=True):
    """Everything one keyword fetch produced, ready to become a ``ListingsScraped`` event."""

    keyword: str
    total_count: int
    """Etsy's ``count`` for the keyword: the supply figure."""
    listings: list[ListingSample]
    shops: list[ShopSample]
    review_window_days: int
    fetch: FetchMetadata
    plan: CallPlan
    """The plan the fetch executed (with the real ``count``), for logs and "why this cost" answers."""


def to_listings_scraped(
    result: KeywordFetch,
    *,
    job_id: str,
    owner_id: str,
    scrape_run_id: str | None = None,
    generation: GenerationOptions | None = None,
    attempt: int = 0,
) -> ListingsScraped:
    """The ``ListingsScraped`` event for a successful fetch (``generation`` and ``attempt`` are the job's,
    passed along)."""
    return ListingsScraped(
        job_id=job_id,
        owner_id=owner_id,
        keyword=result.keyword,
        status="ok",
        total_count=result.total_count,
        listings=result.listings,
        shops=result.shops,
        review_window_days=result.review_window_days,
        fetch=result.fetch,
        scrape_run_id=scrape_run_id,
        generation=generation,
        attempt=attempt,
    )


def failed_listings_scraped(
    *,
    job_id: str,
    owner_id: str,
    keyword: str,
    error: str,
    review_window_days: int = 30,
    fetch: FetchMetadata | None = None,
    scrape_run_id: str | None = None,
    generation: GenerationOptions | None = None,
    attempt: int = 0,
) -> ListingsScraped:
    """The ``ListingsScraped`` event saying a fetch failed, with the reason a user can act on."""
    return ListingsScraped(
        job_id=job_id,
        owner_id=owner_id,
        keyword=keyword,
        status="failed",
        error=error,
        review_window_days=review_window_days,
        fetch=fetch,
        scrape_run_id=scrape_run_id,
        generation=generation,
        attempt=attempt,
    )
