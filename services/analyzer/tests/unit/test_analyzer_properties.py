"""Invariants of score_niche over arbitrary scraped data (hypothesis)."""

from __future__ import annotations

from random import Random

import msgspec
from analyzer_builders import CONFIG, NOW, scraped
from hypothesis import given
from hypothesis import strategies as st

from etsygen_analyzer.domain.relevance import keyword_terms, relevant_listings
from etsygen_analyzer.domain.scoring import listing_rating, score_niche, unique_listings
from etsygen_common.contracts.base import Money
from etsygen_common.contracts.listings import ListingSample, ListingsScraped, ShopSample

WORDS = ["dog", "collar", "leather", "personalized", "gift", "for", "mom", "mug", "custom", "name"]

titles = st.lists(st.sampled_from([*WORDS, ",", "|", "-"]), max_size=12).map(" ".join)
prices = st.one_of(
    st.floats(min_value=0.01, max_value=5_000, allow_nan=False),
    st.sampled_from([0.0, -1.0, float("nan"), float("inf")]),
)
listings = st.builds(
    ListingSample,
    # A small id space makes repeated ids (re-seen listings, conflicting snapshots) common.
    listing_id=st.integers(min_value=1, max_value=40),
    shop_id=st.integers(min_value=1, max_value=8),
    title=titles,
    price=st.builds(Money, amount=prices, currency=st.sampled_from(["USD", "USD", "USD", "EUR"])),
    tags=st.lists(st.sampled_from(WORDS), max_size=13),
    taxonomy_id=st.none() | st.integers(min_value=1, max_value=3),
    created_at=st.none() | st.integers(min_value=1_600_000_000, max_value=1_767_000_000),
    reviews_in_window=st.none() | st.integers(min_value=0, max_value=500),
    # Zero (either sign), off the 0-5 scale, nan: the scorer must still agree with listing_rating.
    rating=st.none()
    | st.floats(min_value=1.0, max_value=5.0)
    | st.sampled_from([0.0, -0.0, 6.0, float("nan")]),
)
shops = st.builds(
    ShopSample,
    shop_id=st.integers(min_value=1, max_value=8),
    shop_name=st.just("shop"),
    transaction_sold_count=st.integers(min_value=0, max_value=100_000),
    review_average=st.none() | st.floats(min_value=1.0, max_value=5.0),
    review_count=st.integers(min_value=0, max_value=10_000),
    listing_active_count=st.integers(min_value=0, max_value=1_000),
)
niches = st.builds(
    scraped,
    st.lists(listings, max_size=60),
    shops=st.lists(shops, max_size=10),
    total_count=st.integers(min_value=0, max_value=2_000_000),
    review_window_days=st.sampled_from([0, 7, 30, 90]),
)


@given(niches)
def test_score_and_confidence_stay_between_zero_and_one(niche: ListingsScraped) -> None:
    assessment = score_niche(niche, CONFIG, observed_at=NOW)
    assert 0.0 <= assessment.score <= 1.0
    assert 0.0 <= assessment.confidence <= 1.0
    assert all(0.0 <= factor.value <= 1.0 for factor in assessment.factors)
    assert all(0.0 <= component <= 1.0 for component in assessment.confidence_components.values())


@given(niches, st.randoms(use_true_random=False))
def test_result_does_not_depend_on_listing_order(niche: ListingsScraped, random: Random) -> None:
    original = score_niche(niche, CONFIG, observed_at=NOW)
    shuffled_listings = list(niche.listings)
    shuffled_shops = list(niche.shops)
    random.shuffle(shuffled_listings)
    random.shuffle(shuffled_shops)
    shuffled = msgspec.structs.replace(niche, listings=shuffled_listings, shops=shuffled_shops)
    assert msgspec.json.encode(score_niche(shuffled, CONFIG, observed_at=NOW)) == msgspec.json.encode(
        original
    )


@given(niches, st.data())
def test_duplicating_listings_does_not_change_the_result(niche: ListingsScraped, data: st.DataObject) -> None:
    original = score_niche(niche, CONFIG, observed_at=NOW)
    seen = list(niche.listings)
    again = data.draw(st.lists(st.sampled_from(seen), max_size=len(seen))) if seen else []
    duplicated = msgspec.structs.replace(niche, listings=seen + again)
    assert msgspec.json.encode(score_niche(duplicated, CONFIG, observed_at=NOW)) == msgspec.json.encode(
        original
    )


@given(niches)
def test_the_scorers_rating_is_listing_rating(niche: ListingsScraped) -> None:
    # The scorer averages ratings in its own pass over the listings; it must agree with listing_rating over
    # the same (relevant) listings.
    terms = keyword_terms(niche.keyword, CONFIG.relevance.min_term_share)
    listings = relevant_listings(unique_listings(niche.listings), terms)
    expected = listing_rating(listings, CONFIG.confidence.review_sample_target)
    rating = next(
        factor for factor in score_niche(niche, CONFIG, observed_at=NOW).factors if factor.name == "rating"
    )
    if expected is not None:
        assert rating.input == expected.rating
        assert rating.input_label == "review-weighted average rating of the listings"
    else:
        assert rating.input_label != "review-weighted average rating of the listings"
