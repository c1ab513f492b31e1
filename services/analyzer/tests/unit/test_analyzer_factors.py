"""The five factor functions: values inside and outside their bands, monotonicity, bounds."""

from __future__ import annotations

import math

import pytest
from analyzer_builders import CONFIG, listing, scraped
from hypothesis import given
from hypothesis import strategies as st

from etsygen_analyzer.domain.scoring import (
    competition_factor,
    market_size_factor,
    price_factor,
    rating_factor,
    sales_velocity_factor,
    score_niche,
)

PRICE = CONFIG.price
VELOCITY = CONFIG.sales_velocity
RATING = CONFIG.rating
COMPETITION = CONFIG.competition
MARKET = CONFIG.market_size

any_number = st.floats(allow_nan=True, allow_infinity=True) | st.none()


# --- price ---


@pytest.mark.parametrize("median_price", [20.0, 35.0, 79.99, 80.0])
def test_price_inside_sweet_spot_scores_one(median_price: float) -> None:
    assert price_factor(median_price, PRICE) == 1.0


@pytest.mark.parametrize("median_price", [5.0, 10.0, 19.0, 81.0, 160.0, 400.0])
def test_price_outside_sweet_spot_scores_lower(median_price: float) -> None:
    assert 0.0 < price_factor(median_price, PRICE) < 1.0


def test_price_decays_further_from_the_sweet_spot_on_both_sides() -> None:
    below = [price_factor(price, PRICE) for price in (19.0, 15.0, 10.0, 5.0, 1.0)]
    above = [price_factor(price, PRICE) for price in (81.0, 100.0, 160.0, 320.0, 1000.0)]
    assert below == sorted(below, reverse=True)
    assert above == sorted(above, reverse=True)


def test_a_cheap_niche_costs_more_than_a_dear_one_equally_far_from_the_sweet_spot() -> None:
    # Log-price decay, steeper below the sweet spot (thin margins) than above it (more per sale). The seed's
    # decay was the same on both sides; this test asserted that symmetry.
    assert price_factor(10.0, PRICE) < price_factor(160.0, PRICE) < 1.0
    assert price_factor(10.0, PRICE) == pytest.approx(math.exp(-0.5 * (math.log(2) / PRICE.decay_below) ** 2))
    assert price_factor(160.0, PRICE) == pytest.approx(
        math.exp(-0.5 * (math.log(2) / PRICE.decay_above) ** 2)
    )


def test_price_decay_is_smooth_at_the_edge() -> None:
    assert price_factor(19.99, PRICE) == pytest.approx(1.0, abs=1e-4)
    assert price_factor(80.01, PRICE) == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("median_price", [None, 0.0, -5.0, math.nan, math.inf])
def test_price_without_a_usable_price_scores_zero(median_price: float | None) -> None:
    assert price_factor(median_price, PRICE) == 0.0


# --- sales velocity ---


def test_sales_velocity_grows_with_what_a_newcomer_can_win() -> None:
    # Input: a new shop's monthly revenue (its share of the top listings' sales at the median price).
    values = [sales_velocity_factor(revenue, VELOCITY) for revenue in (0.31, 0.5, 1, 3, 10, 20, 29.9)]
    assert values == sorted(values)
    assert len(set(values)) == len(values)


def test_sales_velocity_is_logarithmic_so_doublings_add_about_the_same() -> None:
    gain_low = sales_velocity_factor(2, VELOCITY) - sales_velocity_factor(1, VELOCITY)
    gain_high = sales_velocity_factor(4, VELOCITY) - sales_velocity_factor(2, VELOCITY)
    assert gain_low == pytest.approx(gain_high, rel=0.01)


@pytest.mark.parametrize("revenue", [30.0, 31.0, 50_000.0, math.inf])
def test_sales_velocity_saturates_at_the_target(revenue: float) -> None:
    assert sales_velocity_factor(revenue, VELOCITY) == 1.0


@pytest.mark.parametrize("revenue", [None, 0.0, -3.0, math.nan, 0.1, 0.3])
def test_no_sales_or_revenue_at_or_below_the_floor_scores_zero_velocity(revenue: float | None) -> None:
    assert sales_velocity_factor(revenue, VELOCITY) == 0.0


@given(st.floats(min_value=0.0, max_value=1e9), st.floats(min_value=0.0, max_value=1e9))
def test_sales_velocity_is_monotone(a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert sales_velocity_factor(low, VELOCITY) <= sales_velocity_factor(high, VELOCITY)


# --- rating ---


def test_perfect_rating_scores_one() -> None:
    assert rating_factor(5.0, RATING) == 1.0


def test_rating_is_boosted_non_linearly() -> None:
    # (4.8 / 5) ** 2 with the shipped exponent: 0.9216, below the linear 0.96.
    assert rating_factor(4.8, RATING) == pytest.approx(0.9216)
    assert rating_factor(4.5, RATING) < 4.5 / 5


def test_rating_factor_grows_with_rating() -> None:
    values = [rating_factor(rating, RATING) for rating in (1.0, 3.0, 4.0, 4.5, 4.8, 5.0)]
    assert values == sorted(values)


@pytest.mark.parametrize("rating", [None, 0.0, math.nan])
def test_no_rating_scores_zero(rating: float | None) -> None:
    assert rating_factor(rating, RATING) == 0.0


# --- competition ---


# The seed's 20-60 band rewarded 20-60 listings per sale and punished fewer, so an under-supplied niche
# scored worst. Competition is now monotone: at or below 20 listings per sale it does not hurt, at or above 60
# it is as bad as it gets, smooth in between.


@pytest.mark.parametrize("listings_per_sale", [0.0, 0.3, 1.0, 3.0, 10.0, 19.9, 20.0])
def test_little_competition_per_sale_does_not_hurt(listings_per_sale: float) -> None:
    assert competition_factor(listings_per_sale, COMPETITION) == 1.0


@pytest.mark.parametrize("listings_per_sale", [60.0, 61.0, 120.0, 1000.0, 1e12])
def test_a_crowded_niche_scores_zero_on_competition(listings_per_sale: float) -> None:
    assert competition_factor(listings_per_sale, COMPETITION) == 0.0


@pytest.mark.parametrize("listings_per_sale", [21.0, 30.0, 40.0, 59.0])
def test_competition_between_comfortable_and_crowded_scores_between(listings_per_sale: float) -> None:
    assert 0.0 < competition_factor(listings_per_sale, COMPETITION) < 1.0


def test_competition_falls_as_listings_per_sale_grow() -> None:
    values = [
        competition_factor(ratio, COMPETITION) for ratio in (1.0, 20.0, 25.0, 30.0, 40.0, 50.0, 60.0, 90.0)
    ]
    assert values == sorted(values, reverse=True)
    assert len(set(values[1:7])) == 6  # strictly falling between the two ends


def test_competition_is_smooth_at_both_ends() -> None:
    assert competition_factor(20.01, COMPETITION) == pytest.approx(1.0, abs=1e-4)
    assert competition_factor(59.99, COMPETITION) == pytest.approx(0.0, abs=1e-4)
    # Halfway in log terms (the geometric mean of the ends) is halfway down.
    assert competition_factor(math.sqrt(20.0 * 60.0), COMPETITION) == pytest.approx(0.5)


@given(
    st.floats(min_value=0.0, max_value=1e9, allow_nan=False),
    st.floats(min_value=0.0, max_value=1e9, allow_nan=False),
)
def test_competition_is_monotone_less_supply_per_sale_is_never_worse(first: float, second: float) -> None:
    fewer, more = sorted((first, second))
    assert competition_factor(fewer, COMPETITION) >= competition_factor(more, COMPETITION)


@pytest.mark.parametrize("listings_per_sale", [None, math.inf, math.nan])
def test_competition_without_demand_scores_zero(listings_per_sale: float | None) -> None:
    assert competition_factor(listings_per_sale, COMPETITION) == 0.0


def test_competition_and_market_size_come_from_different_signals() -> None:
    # Same supply (Etsy count), different demand: market size stays, competition moves.
    busy = score_niche(
        scraped([listing(1, reviews=57, rating=4.8)], total_count=9_000), CONFIG, observed_at=0.0
    )
    quiet = score_niche(
        scraped([listing(1, reviews=2, rating=4.8)], total_count=9_000), CONFIG, observed_at=0.0
    )
    busy_factors = {factor.name: factor for factor in busy.factors}
    quiet_factors = {factor.name: factor for factor in quiet.factors}
    assert busy_factors["market_size"].value == quiet_factors["market_size"].value
    assert busy_factors["competition"].input == pytest.approx(30.0)  # 9,000 listings / 300 sales
    assert quiet_factors["competition"].value < busy_factors["competition"].value


# --- market size ---


def test_market_size_grows_with_matching_listings() -> None:
    values = [market_size_factor(count, MARKET) for count in (1, 3, 10, 30, 100, 300, 999)]
    assert values == sorted(values)
    assert len(set(values)) == len(values)


@pytest.mark.parametrize("count", [1_000, 1_001, 50_000, 2_000_000])
def test_market_size_saturates(count: int) -> None:
    assert market_size_factor(count, MARKET) == 1.0


def test_empty_market_scores_zero() -> None:
    assert market_size_factor(0, MARKET) == 0.0


# --- all factors ---


@given(any_number)
def test_every_factor_stays_between_zero_and_one(value: float | None) -> None:
    for factor in (
        price_factor(value, PRICE),
        sales_velocity_factor(value, VELOCITY),
        rating_factor(value, RATING),
        competition_factor(value, COMPETITION),
    ):
        assert 0.0 <= factor <= 1.0


@given(st.integers(min_value=-10, max_value=10**12))
def test_market_size_factor_stays_between_zero_and_one(count: int) -> None:
    assert 0.0 <= market_size_factor(count, MARKET) <= 1.0
