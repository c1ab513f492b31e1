"""Readable builders for analyzer domain tests (plain functions, no fixtures)."""

from __future__ import annotations

from collections.abc import Sequence

from etsygen_analyzer.domain.config import ScoringConfig, default_config
from etsygen_common.contracts.base import Money
from etsygen_common.contracts.listings import ListingSample, ListingsScraped, ShopSample

NOW = 1_767_225_600.0
"""2026-01-01T00:00:00Z: the observation time of every test snapshot."""
DAY = 86_400.0

CONFIG: ScoringConfig = default_config()


def listing(
    listing_id: int,
    *,
    price: float = 35.0,
    currency: str = "USD",
    shop_id: int = 1,
    title: str = "Personalized Dog Collar",
    tags: Sequence[str] = (),
    reviews: int | None = None,
    rating: float | None = None,
    taxonomy_id: int | None = None,
    created_at: int | None = None,
) -> ListingSample:
    return ListingSample(
        listing_id=listing_id,
        shop_id=shop_id,
        title=title,
        price=Money(amount=price, currency=currency),
        tags=list(tags),
        taxonomy_id=taxonomy_id,
        created_at=created_at,
        reviews_in_window=reviews,
        rating=rating,
    )


def shop(
    shop_id: int,
    *,
    sold: int = 0,
    active_listings: int = 0,
    review_average: float | None = None,
    review_count: int = 0,
) -> ShopSample:
    return ShopSample(
        shop_id=shop_id,
        shop_name=f"shop-{shop_id}",
        transaction_sold_count=sold,
        listing_active_count=active_listings,
        review_average=review_average,
        review_count=review_count,
    )


def scraped(
    listings: Sequence[ListingSample],
    *,
    shops: Sequence[ShopSample] = (),
    total_count: int = 9_000,
    review_window_days: int = 30,
) -> ListingsScraped:
    return ListingsScraped(
        job_id="job-1",
        owner_id="owner-1",
        keyword="dog collar",
        total_count=total_count,
        listings=list(listings),
        shops=list(shops),
        review_window_days=review_window_days,
    )


def reference_niche() -> ListingsScraped:
    """The seed's reference point: 25 listings, average price $35, rating 4.8, 300 sales a month.

    The seed gave no supply figure (it used its 25 rows as both competition and market size). Here Etsy's
    count is 9,000 listings, which puts the niche at 30 listings per monthly sale, inside the seed's
    20-60 competition band. 300 monthly sales at 0.19 reviews per order are 57 reviews in a 30-day window.
    """
    prices = [29.0 + 0.5 * index for index in range(25)]  # $29.00 .. $41.00, mean exactly $35
    reviews = [3] * 7 + [2] * 18  # 57 reviews
    return scraped(
        [
            listing(
                index + 1,
                price=price,
                shop_id=100 + index % 10,
                title=f"Personalized Dog Collar, Leather Pet Collar No {index}",
                tags=["dog collar", "leather collar", "pet gift"],
                reviews=review_count,
                rating=4.8,
            )
            for index, (price, review_count) in enumerate(zip(prices, reviews, strict=True))
        ],
        total_count=9_000,
    )
