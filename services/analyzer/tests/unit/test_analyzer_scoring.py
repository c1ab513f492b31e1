"""score_niche as a whole: the reference case, risk boundaries, confidence, de-duplication, text evidence."""

from __future__ import annotations

import msgspec
import pytest
from analyzer_builders import CONFIG, NOW, listing, reference_niche, scraped, shop

from etsygen_analyzer.domain.scoring import classify_risk, compute_niche_score, score_niche, unique_listings
from etsygen_common.contracts.listings import ListingSample

# --- the seed's reference point ---

SEED_SCORE = 0.878
SEED_CONFIDENCE = 0.85
# Why a tolerance of 0.05 and not equality: the seed's constants differed from its own comments and two of its
# five factors measured something else. Its market size and competition both came from the 25 scraped rows;
# ours take Etsy's count (9,000 here) for market size and listings per monthly sale (30 here) for competition.
# Market size alone carries a weight of 0.10, so a different input there can move the score by up to 0.10;
# half of that is the disagreement we accept, as long as the verdict (risk "low") is the same.
REFERENCE_TOLERANCE = 0.05
# The score's own tolerance is wider since sales velocity measures what a new shop can win (issue 14): the
# seed scored the 300 sales of the top listings themselves; ours shares them among the ~3,600 shops behind
# the 9,000 listings, which costs up to the factor's 0.30 weight. Half of the two changed inputs' weights
# (velocity 0.30, market size 0.10) is what we accept, as long as the verdict (risk "low") is the same.
REFERENCE_SCORE_TOLERANCE = 0.20


def test_reference_case_scores_close_to_the_seed_and_stays_low_risk() -> None:
    assessment = score_niche(reference_niche(), CONFIG, observed_at=NOW)

    # We get 0.786: price 1.0 (median $35 in the sweet spot), velocity 0.494 (a new shop's share of the
    # 300 sales among ~3,600 competing shops (10 shops per 25 listings of 9,000) is 0.083 sales, $2.9 a
    # month at $35: about halfway, on a log scale, from the $0.30 floor to the $30 target), rating 0.922
    # ((4.8/5)^2), competition 0.692 (30 listings per sale: above the 20 at which competition starts to
    # hurt, well below the 60 at which it is as bad as it gets), market size 1.0 (9,000 listings, past the
    # 1,000 at which a market counts as proven). The seed had 0.878; the gap is the market-size, velocity
    # and competition inputs explained above.
    assert assessment.score == pytest.approx(0.786, abs=0.001)
    assert abs(assessment.score - SEED_SCORE) <= REFERENCE_SCORE_TOLERANCE
    # We get 0.827: volume 0.5 (25 of 50 listings), sales evidence and ratings 1.0, price consistency 0.886
    # (IQR $6 on a $35 median). The seed's 0.85 treated any price as consistent; we measure the spread.
    assert assessment.confidence == pytest.approx(0.827, abs=0.001)
    assert abs(assessment.confidence - SEED_CONFIDENCE) <= REFERENCE_TOLERANCE
    assert assessment.risk == "low"


def test_reference_case_explains_each_factor() -> None:
    assessment = score_niche(reference_niche(), CONFIG, observed_at=NOW)
    factors = {factor.name: factor for factor in assessment.factors}

    assert list(factors) == ["price", "sales_velocity", "rating", "competition", "market_size"]
    assert factors["price"].input == 35.0
    # A new shop's monthly revenue: 300 sales / (3,600 competing shops + 1) * $35.
    assert factors["sales_velocity"].input == pytest.approx(300.0 / 3_601 * 35.0)
    assert factors["rating"].input == pytest.approx(4.8)
    assert factors["competition"].input == pytest.approx(30.0)
    assert factors["market_size"].input == 9_000
    assert [factor.weight for factor in assessment.factors] == [0.25, 0.30, 0.20, 0.15, 0.10]
    assert assessment.score == pytest.approx(
        sum(factor.value * factor.weight for factor in assessment.factors)
    )


def test_estimated_inputs_are_labelled_as_estimates() -> None:
    assessment = score_niche(reference_niche(), CONFIG, observed_at=NOW)
    measured = {factor.name: factor.measured for factor in assessment.factors}

    assert measured == {
        "price": True,
        "sales_velocity": False,
        "rating": True,
        "competition": False,
        "market_size": True,
    }
    assert all(estimate.estimated for estimate in assessment.estimates)


def test_reference_case_reports_sales_and_revenue_as_ranges() -> None:
    assessment = score_niche(reference_niche(), CONFIG, observed_at=NOW)
    estimates = {estimate.name: estimate for estimate in assessment.estimates}

    sales = estimates["monthly_sales"].range
    assert sales.low < 300.0 < sales.high
    revenue = estimates["monthly_revenue"].range
    assert revenue.low == pytest.approx(sales.low * 35.0)
    assert revenue.high == pytest.approx(sales.high * 35.0)
    assert assessment.price_band is not None
    assert (assessment.price_band.p25, assessment.price_band.median, assessment.price_band.p75) == (
        32.0,
        35.0,
        38.0,
    )


# --- risk ---


@pytest.mark.parametrize(
    ("score", "confidence", "risk"),
    [
        (0.71, 0.71, "low"),
        (0.7, 0.9, "medium"),
        (0.9, 0.7, "medium"),
        (0.7, 0.7, "medium"),
        (0.7000001, 0.7000001, "low"),
        (0.51, 0.51, "medium"),
        (0.5, 0.9, "high"),
        (0.9, 0.5, "high"),
        (0.5, 0.5, "high"),
        (0.5000001, 0.5000001, "medium"),
        (1.0, 1.0, "low"),
        (0.0, 0.0, "high"),
    ],
)
def test_risk_boundaries_are_strict(score: float, confidence: float, risk: str) -> None:
    assert classify_risk(score, confidence) == risk


# --- confidence ---


def _confidence(niche_listings: list[ListingSample]) -> float:
    return score_niche(scraped(niche_listings), CONFIG, observed_at=NOW).confidence


def test_consistent_prices_give_more_confidence_than_scattered_ones() -> None:
    consistent = [listing(i, price=34.0 + i % 3, reviews=2, rating=4.8) for i in range(30)]
    scattered = [listing(i, price=[8.0, 35.0, 150.0][i % 3], reviews=2, rating=4.8) for i in range(30)]
    assert _confidence(consistent) > _confidence(scattered)


def test_more_listings_give_more_confidence() -> None:
    few = [listing(i, reviews=2, rating=4.8) for i in range(5)]
    many = [listing(i, reviews=2, rating=4.8) for i in range(50)]
    assert _confidence(many) > _confidence(few)


def test_missing_sales_evidence_lowers_confidence() -> None:
    with_reviews = [listing(i, reviews=2, rating=4.8) for i in range(30)]
    without = [listing(i, rating=4.8) for i in range(30)]
    assert _confidence(with_reviews) > _confidence(without)


def test_missing_ratings_lower_confidence() -> None:
    rated = [listing(i, reviews=2, rating=4.8) for i in range(30)]
    unrated = [listing(i, reviews=2) for i in range(30)]
    assert _confidence(rated) > _confidence(unrated)


def test_shop_ratings_stand_in_when_listings_have_none() -> None:
    niche = scraped(
        [listing(1, shop_id=7, reviews=3), listing(2, shop_id=8, reviews=3)],
        shops=[shop(7, review_average=4.0, review_count=100), shop(8, review_average=5.0, review_count=300)],
    )
    rating = next(
        factor for factor in score_niche(niche, CONFIG, observed_at=NOW).factors if factor.name == "rating"
    )
    assert rating.input == pytest.approx(4.75)  # weighted by each shop's review count
    assert "shop" in rating.input_label


# --- de-duplication and degenerate input ---


def test_a_listing_seen_twice_counts_once() -> None:
    once = score_niche(reference_niche(), CONFIG, observed_at=NOW)
    twice_niche = reference_niche()
    twice = score_niche(
        scraped(twice_niche.listings + twice_niche.listings[:10], total_count=twice_niche.total_count),
        CONFIG,
        observed_at=NOW,
    )
    assert twice.listing_count == 25
    assert msgspec.json.encode(twice) == msgspec.json.encode(once)


def test_conflicting_snapshots_of_a_listing_keep_the_richer_one_whatever_the_order() -> None:
    bare = listing(1, price=30.0)
    rich = listing(1, price=30.0, reviews=4, rating=4.9, tags=["dog collar"])
    assert list(unique_listings([bare, rich])) == [rich]
    assert list(unique_listings([rich, bare])) == [rich]


def test_no_listings_scores_zero_with_no_confidence_and_high_risk() -> None:
    assessment = score_niche(scraped([], total_count=0), CONFIG, observed_at=NOW)
    assert assessment.score == 0.0
    assert assessment.confidence == 0.0
    assert assessment.risk == "high"
    assert assessment.price_band is None
    assert assessment.estimates == []
    assert assessment.listing_count == 0


def test_numeric_score_matches_the_full_assessment() -> None:
    full = score_niche(reference_niche(), CONFIG, observed_at=NOW)
    numbers = compute_niche_score(reference_niche(), CONFIG, observed_at=NOW)
    assert (numbers.score, numbers.confidence, numbers.risk) == (full.score, full.confidence, full.risk)
    # The full assessment adds each factor's explanation in words; the numbers are the same.
    assert [msgspec.structs.replace(factor, explanation="") for factor in full.factors] == numbers.factors
    assert all(factor.explanation for factor in full.factors)
    assert numbers.relevance == full.relevance


def test_prices_in_a_minority_currency_do_not_mix_into_the_price_band() -> None:
    niche = scraped(
        [listing(i, price=30.0 + i) for i in range(5)]
        + [listing(10 + i, price=3000.0, currency="JPY") for i in range(2)]
    )
    band = score_niche(niche, CONFIG, observed_at=NOW).price_band
    assert band is not None
    assert band.currency == "USD"
    assert band.median == 32.0


# --- text evidence ---


def test_top_tags_are_ranked_by_how_many_listings_use_them() -> None:
    niche = scraped(
        [
            listing(1, tags=["Dog Collar", "leather", "leather "]),
            listing(2, tags=["dog collar", "gift"]),
            listing(3, tags=["dog collar", "leather"]),
        ]
    )
    assessment = score_niche(niche, CONFIG, observed_at=NOW)
    assert assessment.top_tags == ["dog collar", "leather", "gift"]


def test_top_tags_are_capped_at_the_configured_limit() -> None:
    niche = scraped([listing(1, tags=[f"tag {index}" for index in range(30)])])
    assert len(score_niche(niche, CONFIG, observed_at=NOW).top_tags) == CONFIG.text.top_tags


def test_title_phrases_are_frequent_and_never_cross_punctuation() -> None:
    niche = scraped(
        [
            listing(1, title="Personalized Dog Collar, Leather Pet Tag"),
            listing(2, title="Leather Pet Tag for Dogs | Personalized Dog Collar"),
            listing(3, title="Personalized dog collar with name"),
        ]
    )
    phrases = score_niche(niche, CONFIG, observed_at=NOW).top_title_phrases
    assert phrases[0] == "personalized dog collar"
    assert "leather pet tag" in phrases
    assert "collar leather" not in phrases  # spans the comma
    assert "dog collar" not in phrases  # adds nothing to "personalized dog collar" (same listings)
    assert not any(
        phrase.split()[0] in {"for", "with"} or phrase.split()[-1] in {"for", "with"} for phrase in phrases
    )
