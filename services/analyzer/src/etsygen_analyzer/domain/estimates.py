"""Sales and revenue estimates for a niche: always ranges, always labelled as estimates.

Etsy publishes no per-listing sales. The cheapest demand signal is the number of reviews a listing received in
a recent window; only a fraction of orders leave a review (the *review rate*, default 0.19 reviews per order,
configurable per taxonomy). So::

    monthly sales ~= reviews in window * (30 / window days) / review rate

The review rate itself is uncertain, so the range divides by a plausible spread of rates
(``default * spread_low`` .. ``default * spread_high``) instead of reporting a point. When no listing
carries a windowed review count, a shop-based fallback with a wider range and less confidence is used.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Literal

import msgspec

from etsygen_analyzer.domain.config import ReviewRateConfig, SalesFallbackConfig
from etsygen_common.contracts.base import Range
from etsygen_common.contracts.listings import ListingSample, ShopSample
from etsygen_common.contracts.trends import Estimate

__all__ = [
    "SalesBasis",
    "SalesEstimate",
    "build_estimates",
    "estimate_monthly_revenue",
    "estimate_monthly_sales",
    "sales_from_review_counts",
    "sales_from_reviews",
    "sales_from_shop_sales",
]

SalesBasis = Literal["reviews", "shop_sales"]

_DAYS_PER_MONTH = 30.0
_SECONDS_PER_MONTH = _DAYS_PER_MONTH * 86_400.0
_PER_CATEGORY_NOTE = " (per-category overrides applied)"


class SalesEstimate(msgspec.Struct, frozen=True, kw_only=True):
    """Estimated monthly sales summed over the sampled top listings."""

    low: float
    mid: float
    """Central estimate (default review rate, or the fallback's point figure); inside ``[low, high]``."""
    high: float
    basis: SalesBasis
    """``reviews``: from measured windowed review counts; ``shop_sales``: from the shop-based fallback."""
    listings_used: int
    """How many listings contributed to the estimate."""
    windowed_reviews: int | None
    """Measured reviews in the window (basis ``reviews`` only)."""
    description: str
    """One line saying how the figure was derived, for the "why this score" view."""


def estimate_monthly_sales(
    listings: Sequence[ListingSample],
    shops: Mapping[int, ShopSample],
    *,
    review_window_days: int,
    observed_at: float,
    review_rate: ReviewRateConfig,
    fallback: SalesFallbackConfig,
) -> SalesEstimate | None:
    """Estimate monthly sales of the given (already de-duplicated) listings.

    Uses windowed review counts when at least one listing has one; otherwise the shop-based fallback; None
    when neither is available (no sales evidence at all).
    """
    from_reviews = sales_from_reviews(listings, review_window_days, review_rate)
    if from_reviews is not None:
        return from_reviews
    return sales_from_shop_sales(listings, shops, observed_at, fallback)


def sales_from_reviews(
    listings: Sequence[ListingSample], review_window_days: int, review_rate: ReviewRateConfig
) -> SalesEstimate | None:
    """Monthly sales from measured windowed review counts; None when no listing has one (or no window)."""
    reviews = [listing.reviews_in_window for listing in listings]
    return sales_from_review_counts(
        listings,
        listings_used=len(reviews) - reviews.count(None),
        reviews_total=sum(filter(None, reviews)),
        review_window_days=review_window_days,
        review_rate=review_rate,
    )


def sales_from_review_counts(
    listings: Sequence[ListingSample],
    *,
    listings_used: int,
    reviews_total: int,
    review_window_days: int,
    review_rate: ReviewRateConfig,
) -> SalesEstimate | None:
    """:func:`sales_from_reviews` from counts the caller already gathered in its own pass over ``listings``.

    ``listings_used`` is the number of listings with a windowed review count and ``reviews_total`` the sum of
    those counts; the listings themselves are read again only for per-category review rates.
    """
    if review_window_days <= 0 or listings_used == 0:
        return None
    per_month = _DAYS_PER_MONTH / review_window_days
    reviews_total = reviews_total if reviews_total > 0 else 0
    if review_rate.by_taxonomy:
        # fsum is exactly rounded, so the total does not depend on listing order.
        rate_for = review_rate.rate_for
        orders_per_month = max(
            0.0,
            math.fsum(
                count * per_month / rate_for(listing.taxonomy_id)
                for listing in listings
                if (count := listing.reviews_in_window)
            ),
        )
        rate_note = _PER_CATEGORY_NOTE
    else:
        orders_per_month = reviews_total * per_month / review_rate.default
        rate_note = ""
    # A lower review rate means more orders per review, hence the crossed spreads.
    return SalesEstimate(
        low=orders_per_month / review_rate.spread_high,
        mid=orders_per_month,
        high=orders_per_month / review_rate.spread_low,
        basis="reviews",
        listings_used=listings_used,
        windowed_reviews=reviews_total,
        description=(
            f"{reviews_total} reviews in {review_window_days} days on {listings_used} listings, "
            f"scaled to 30 days, ÷ {review_rate.plausible_rates} reviews per order{rate_note}"
        ),
    )


def sales_from_shop_sales(
    listings: Sequence[ListingSample],
    shops: Mapping[int, ShopSample],
    observed_at: float,
    fallback: SalesFallbackConfig,
) -> SalesEstimate | None:
    """Fallback monthly sales: each listing gets its shop's lifetime sales per active listing over its age.

    Shop age is not in the data, so the listing's age (``created_at``) stands in for it, with
    ``default_listing_age_months`` when unknown and at least one month. Shops are usually older than their
    listings, which makes this lean high for young listings; the configured spread is wide for that reason.
    """
    per_listing: list[float] = []
    for listing in listings:
        shop = shops.get(listing.shop_id)
        if shop is None or shop.transaction_sold_count <= 0 or shop.listing_active_count <= 0:
            continue
        if listing.created_at is not None:
            age_months = max(1.0, (observed_at - listing.created_at) / _SECONDS_PER_MONTH)
        else:
            age_months = fallback.default_listing_age_months
        per_listing.append(shop.transaction_sold_count / shop.listing_active_count / age_months)
    used = len(per_listing)
    if used == 0:
        return None
    orders_per_month = math.fsum(per_listing)
    description = (
        f"fallback: shop lifetime sales per active listing over listing age, {used} listings "
        f"(no windowed review counts), x{fallback.spread_low:g} to x{fallback.spread_high:g}"
    )
    return SalesEstimate(
        low=orders_per_month * fallback.spread_low,
        mid=orders_per_month,
        high=orders_per_month * fallback.spread_high,
        basis="shop_sales",
        listings_used=used,
        windowed_reviews=None,
        description=description,
    )


def estimate_monthly_revenue(sales: SalesEstimate, typical_price: float) -> Range:
    """Revenue range per month: the sales range times the niche's typical (median) price."""
    return Range(low=sales.low * typical_price, high=sales.high * typical_price)


def build_estimates(
    sales: SalesEstimate | None, typical_price: float | None, currency: str
) -> list[Estimate]:
    """The contract's estimate entries: monthly sales, and monthly revenue when a typical price is known."""
    if sales is None:
        return []
    estimates = [
        Estimate(
            name="monthly_sales",
            range=Range(low=sales.low, high=sales.high),
            unit="orders/month",
            basis=sales.description,
        )
    ]
    if typical_price is not None:
        estimates.append(
            Estimate(
                name="monthly_revenue",
                range=estimate_monthly_revenue(sales, typical_price),
                unit=f"{currency}/month",
                basis=f"monthly sales range x median price {typical_price:.2f} {currency}",
            )
        )
    return estimates
