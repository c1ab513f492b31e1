"""Sales and revenue estimates: from windowed reviews, the shop fallback, and no evidence at all."""

from __future__ import annotations

import msgspec
import pytest
from analyzer_builders import CONFIG, DAY, NOW, listing, scraped, shop

from etsygen_analyzer.domain.config import ReviewRateConfig
from etsygen_analyzer.domain.estimates import (
    SalesEstimate,
    build_estimates,
    estimate_monthly_revenue,
    estimate_monthly_sales,
    sales_from_review_counts,
    sales_from_reviews,
)
from etsygen_analyzer.domain.scoring import score_niche
from etsygen_common.contracts.listings import ListingSample

RATE = CONFIG.review_rate


def _sales_from_reviews(
    listings: list[ListingSample], window_days: int = 30, rate: ReviewRateConfig = RATE
) -> SalesEstimate | None:
    return sales_from_reviews(listings, window_days, rate)


def test_monthly_sales_are_windowed_reviews_over_the_review_rate() -> None:
    sales = _sales_from_reviews([listing(1, reviews=38), listing(2, reviews=19), listing(3)])
    assert sales is not None
    assert sales.mid == pytest.approx(57 / 0.19)
    assert sales.basis == "reviews"
    assert sales.listings_used == 2
    assert sales.windowed_reviews == 57


def test_monthly_sales_are_a_range_from_the_plausible_review_rates() -> None:
    sales = _sales_from_reviews([listing(1, reviews=57)])
    assert sales is not None
    assert sales.low == pytest.approx(57 / (0.19 * RATE.spread_high))
    assert sales.high == pytest.approx(57 / (0.19 * RATE.spread_low))
    assert sales.low < sales.mid < sales.high


def test_a_longer_review_window_is_scaled_to_30_days() -> None:
    thirty = _sales_from_reviews([listing(1, reviews=30)], window_days=30)
    ninety = _sales_from_reviews([listing(1, reviews=30)], window_days=90)
    assert thirty is not None
    assert ninety is not None
    assert ninety.mid == pytest.approx(thirty.mid / 3)


def test_review_rate_can_be_overridden_per_taxonomy() -> None:
    rate = msgspec.structs.replace(RATE, by_taxonomy={66: 0.095})
    sales = _sales_from_reviews(
        [listing(1, reviews=19, taxonomy_id=66), listing(2, reviews=19, taxonomy_id=12)], rate=rate
    )
    assert sales is not None
    # Taxonomy 66 converts half as many orders into reviews, so its 19 reviews are twice the sales.
    assert sales.mid == pytest.approx(19 / 0.095 + 19 / 0.19)


def test_revenue_is_the_sales_range_times_the_typical_price() -> None:
    sales = _sales_from_reviews([listing(1, reviews=57)])
    assert sales is not None
    revenue = estimate_monthly_revenue(sales, 35.0)
    assert revenue.low == pytest.approx(sales.low * 35.0)
    assert revenue.high == pytest.approx(sales.high * 35.0)


def test_without_review_counts_the_shop_fallback_is_used_with_a_wider_range() -> None:
    year_old = int(NOW - 360 * DAY)
    niche_listings = [listing(1, shop_id=7, created_at=year_old), listing(2, shop_id=7, created_at=year_old)]
    shops = {7: shop(7, sold=1_200, active_listings=10)}
    sales = estimate_monthly_sales(
        niche_listings,
        shops,
        review_window_days=30,
        observed_at=NOW,
        review_rate=RATE,
        fallback=CONFIG.sales_fallback,
    )
    assert sales is not None
    assert sales.basis == "shop_sales"
    assert sales.windowed_reviews is None
    # 1,200 sales / 10 listings = 120 per listing over 12 months: 10 a month each, 20 for the two.
    assert sales.mid == pytest.approx(20.0)
    assert sales.high / sales.low > RATE.spread_high / RATE.spread_low


def test_fallback_sales_carry_less_confidence_than_measured_reviews() -> None:
    shops = [shop(7, sold=5_000, active_listings=20)]
    measured = scraped([listing(i, shop_id=7, reviews=3, rating=4.8) for i in range(25)], shops=shops)
    fallback = scraped([listing(i, shop_id=7, rating=4.8) for i in range(25)], shops=shops)

    measured_result = score_niche(measured, CONFIG, observed_at=NOW)
    fallback_result = score_niche(fallback, CONFIG, observed_at=NOW)
    assert fallback_result.sales is not None
    assert fallback_result.sales.basis == "shop_sales"
    assert fallback_result.confidence < measured_result.confidence
    assert (
        fallback_result.confidence_components["sales_evidence"] == CONFIG.confidence.fallback_sales_evidence
    )
    assert "fallback" in next(f for f in fallback_result.factors if f.name == "sales_velocity").input_label


def test_no_sales_evidence_gives_no_estimates_rather_than_zero() -> None:
    result = score_niche(scraped([listing(1), listing(2)]), CONFIG, observed_at=NOW)
    assert result.sales is None
    assert result.estimates == []
    velocity = next(factor for factor in result.factors if factor.name == "sales_velocity")
    assert velocity.input is None
    assert velocity.value == 0.0
    assert result.confidence_components["sales_evidence"] == 0.0


def test_estimates_are_labelled_with_unit_and_basis() -> None:
    sales = _sales_from_reviews([listing(1, reviews=57)])
    estimates = build_estimates(sales, 35.0, "USD")
    assert [(estimate.name, estimate.unit) for estimate in estimates] == [
        ("monthly_sales", "orders/month"),
        ("monthly_revenue", "USD/month"),
    ]
    assert all(estimate.estimated and estimate.basis for estimate in estimates)


def test_the_sales_description_follows_the_configured_review_rates() -> None:
    sales = _sales_from_reviews([listing(1, reviews=57)])
    assert sales is not None
    assert sales.description.endswith("÷ 0.133 to 0.266 reviews per order")
    # The rate range is worked out once per config object; a changed config gets its own.
    halved = msgspec.structs.replace(RATE, default=RATE.default / 2)
    assert RATE.plausible_rates == "0.133 to 0.266"
    assert halved.plausible_rates == "0.0665 to 0.133"


def test_sales_from_counts_gathered_elsewhere_match_sales_from_the_listings() -> None:
    niche_listings = [listing(1, reviews=38, taxonomy_id=66), listing(2, reviews=0), listing(3)]
    for rate in (RATE, msgspec.structs.replace(RATE, by_taxonomy={66: 0.095})):
        assert sales_from_review_counts(
            niche_listings, listings_used=2, reviews_total=38, review_window_days=30, review_rate=rate
        ) == sales_from_reviews(niche_listings, 30, rate)
    assert (
        sales_from_review_counts(
            niche_listings, listings_used=0, reviews_total=0, review_window_days=30, review_rate=RATE
        )
        is None
    )
