"""Niche score: a weighted sum of five factors in [0, 1], with confidence, risk and the evidence behind it.

The parts live in their own modules: :mod:`.inputs` reads one keyword's scraped data into the numbers the
factors take, :mod:`.factors` holds the five factor functions (each of one plain number, so "why this score"
can show exactly what went in) and their weighted sum, :mod:`.confidence` the confidence and the risk class.
:func:`score_niche` puts them together. Pure: no I/O and no clock (the caller says when the data was
observed).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import msgspec

from etsygen_analyzer.domain.confidence import classify_risk, confidence_components, weighted_confidence
from etsygen_analyzer.domain.config import ScoringConfig
from etsygen_analyzer.domain.estimates import SalesEstimate, build_estimates
from etsygen_analyzer.domain.factors import (
    competition_factor,
    market_size_factor,
    niche_factors,
    price_factor,
    rating_factor,
    sales_velocity_factor,
    weighted_score,
)
from etsygen_analyzer.domain.inputs import (
    RatingEvidence,
    listing_rating,
    niche_inputs,
    shop_rating,
    unique_listings,
    unique_shops,
)
from etsygen_analyzer.domain.momentum import HistoryPoint, compute_momentum
from etsygen_analyzer.domain.text import top_tags, top_title_phrases
from etsygen_common.contracts.listings import ListingSample, ListingsScraped
from etsygen_common.contracts.trends import Estimate, FactorScore, Momentum, PriceBand, Risk

__all__ = [
    "NicheAssessment",
    "NicheScore",
    "RatingEvidence",
    "classify_risk",
    "competition_factor",
    "compute_niche_score",
    "listing_rating",
    "market_size_factor",
    "price_factor",
    "rating_factor",
    "sales_velocity_factor",
    "score_niche",
    "shop_rating",
    "unique_listings",
    "unique_shops",
]


class NicheScore(msgspec.Struct, frozen=True, kw_only=True):
    """The numbers the analyzer concludes about one keyword: score, confidence, risk and their evidence."""

    score: float
    confidence: float
    risk: Risk
    factors: list[FactorScore]
    confidence_components: dict[str, float]
    """The four confidence components (volume, sales_evidence, ratings, price_consistency), each in [0, 1]."""
    estimates: list[Estimate]
    sales: SalesEstimate | None
    price_band: PriceBand | None
    momentum: Momentum
    listing_count: int
    """Unique listings scored (after de-duplication by listing id)."""
    total_count: int
    """Etsy's ``count`` as received."""
    snapshot: HistoryPoint
    """This observation, to be stored as history for later momentum."""


class NicheAssessment(NicheScore, frozen=True, kw_only=True):
    """A :class:`NicheScore` plus the generator's text evidence; maps one-to-one onto ``TrendScored``."""

    top_tags: list[str]
    top_title_phrases: list[str]


def score_niche(
    scraped: ListingsScraped,
    config: ScoringConfig,
    history: Iterable[HistoryPoint] = (),
    *,
    observed_at: float,
) -> NicheAssessment:
    """Score one keyword's niche and collect its text evidence (what the analyzer handler calls).

    Args:
        scraped: the scraper's event (only listings, shops, total_count and review_window_days are read).
        config: weights, bands and targets (see ``scoring.toml``).
        history: earlier snapshots of the same keyword on the same marketplace, for momentum.
        observed_at: unix seconds when the data was fetched; dates this snapshot and ages listings.

    Listings are de-duplicated by id first, so neither order nor repetition changes the result.
    """
    listings = unique_listings(scraped.listings)
    numbers = _score_unique(listings, scraped, config, history, observed_at)
    text = config.text
    return NicheAssessment(
        **msgspec.structs.asdict(numbers),
        top_tags=top_tags(listings, text.top_tags),
        top_title_phrases=top_title_phrases(listings, text.top_phrases, text.min_phrase_listings),
    )


def compute_niche_score(
    scraped: ListingsScraped,
    config: ScoringConfig,
    history: Iterable[HistoryPoint] = (),
    *,
    observed_at: float,
) -> NicheScore:
    """The numeric part of :func:`score_niche` alone (no tags or title phrases); same arguments."""
    return _score_unique(unique_listings(scraped.listings), scraped, config, history, observed_at)


def _score_unique(
    listings: Sequence[ListingSample],
    scraped: ListingsScraped,
    config: ScoringConfig,
    history: Iterable[HistoryPoint],
    observed_at: float,
) -> NicheScore:
    inputs = niche_inputs(listings, scraped, config, observed_at)
    factors = niche_factors(inputs, config)
    score = weighted_score(factors)
    components = confidence_components(inputs, config.confidence)
    confidence = weighted_confidence(components, config.confidence.weights)
    sales_mid = inputs.sales_mid
    snapshot = HistoryPoint(observed_at=observed_at, sales_mid=sales_mid, total_count=inputs.supply)
    return NicheScore(
        score=score,
        confidence=confidence,
        risk=classify_risk(score, confidence),
        factors=factors,
        confidence_components=components,
        estimates=build_estimates(inputs.sales, inputs.median_price, inputs.currency),
        sales=inputs.sales,
        price_band=inputs.price_band,
        momentum=compute_momentum(history, snapshot, config.momentum),
        listing_count=inputs.listing_count,
        total_count=scraped.total_count,
        snapshot=snapshot,
    )
