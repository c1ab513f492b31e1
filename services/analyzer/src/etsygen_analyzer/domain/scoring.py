"""Niche score: a weighted sum of five factors in [0, 1], with confidence, risk and the evidence behind it.

The parts live in their own modules: :mod:`.relevance` keeps the listings that are about the keyword (only
those are scored; too few make the niche ``insufficient_data``), :mod:`.inputs` reads them into the numbers
the factors take, :mod:`.factors` holds the five factor functions (each of one plain number, so "why this
score" can show exactly what went in) and their weighted sum, :mod:`.confidence` the confidence and the risk
class, :mod:`.explain` what each factor means for a seller in words. :func:`score_niche` puts them
together. Pure: no I/O and no clock (the caller says when the data was observed).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import msgspec

from etsygen_analyzer.domain.confidence import classify_risk, confidence_components, weighted_confidence
from etsygen_analyzer.domain.config import ScoringConfig
from etsygen_analyzer.domain.estimates import SalesEstimate, build_estimates
from etsygen_analyzer.domain.evidence import SAMPLE_LISTINGS, build_evidence
from etsygen_analyzer.domain.explain import ExplanationContext, explain_factors
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
from etsygen_analyzer.domain.relevance import assess_relevance, keyword_terms, relevant_listings
from etsygen_analyzer.domain.text import top_tags, top_title_phrases
from etsygen_common.contracts.listings import ListingSample, ListingsScraped
from etsygen_common.contracts.research import GenerationOptions
from etsygen_common.contracts.trends import (
    Estimate,
    FactorScore,
    Momentum,
    NicheEvidence,
    PriceBand,
    Relevance,
    Risk,
    within_risk,
)

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
    """Unique listings scored: those about the keyword, after de-duplication by listing id."""
    total_count: int
    """Etsy's ``count`` as received."""
    relevance: Relevance
    """How many listings are about the keyword; ``insufficient_data`` forces risk ``high``."""
    supply_measured: bool
    """Whether the supply the factors used is Etsy's count as received (every listing relevant)."""
    snapshot: HistoryPoint
    """This observation, to be stored as history for later momentum."""


class NicheAssessment(NicheScore, frozen=True, kw_only=True):
    """A :class:`NicheScore` with each factor explained in words, plus the generator's text evidence; maps
    one-to-one onto ``TrendScored``."""

    top_tags: list[str]
    top_title_phrases: list[str]
    evidence: NicheEvidence | None = None
    """What the relevant listings name (materials, occasions, sizes...), only for a niche the job's
    generation gate will take: the generator writes from it, and reading it costs ~1 ms per keyword."""


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

    Listings are de-duplicated by id first, so neither order nor repetition changes the result; only the
    ones about the keyword are scored and give the text evidence.
    """
    listings = _relevant(unique_listings(scraped.listings), scraped.keyword, config)
    numbers = _score_relevant(listings, scraped, config, history, observed_at)
    fields = msgspec.structs.asdict(numbers)
    fields["factors"] = explain_factors(
        numbers.factors,
        ExplanationContext(
            config=config,
            currency=numbers.price_band.currency if numbers.price_band is not None else "USD",
            sales=numbers.sales,
            median_price=numbers.price_band.median if numbers.price_band is not None else None,
            supply_measured=numbers.supply_measured,
            relevant_share=numbers.relevance.share,
        ),
    )
    text = config.text
    return NicheAssessment(
        **fields,
        top_tags=top_tags(listings.relevant, text.top_tags),
        top_title_phrases=top_title_phrases(listings.relevant, text.top_phrases, text.min_phrase_listings),
        evidence=(
            build_evidence(listings.relevant[:SAMPLE_LISTINGS]) if _will_generate(scraped, numbers) else None
        ),
    )


def _will_generate(scraped: ListingsScraped, numbers: NicheScore) -> bool:
    """Whether the generator's gate will take this niche (the job's switch, evidence, score and risk)."""
    options = scraped.generation or GenerationOptions()
    return (
        options.enabled
        and options.concepts_per_niche > 0
        and numbers.relevance.status == "sufficient"
        and numbers.score >= options.min_score
        and within_risk(numbers.risk, options.max_risk)
    )


def compute_niche_score(
    scraped: ListingsScraped,
    config: ScoringConfig,
    history: Iterable[HistoryPoint] = (),
    *,
    observed_at: float,
) -> NicheScore:
    """The numeric part of :func:`score_niche` alone (no explanations in words, tags or title phrases); same
    arguments."""
    listings = _relevant(unique_listings(scraped.listings), scraped.keyword, config)
    return _score_relevant(listings, scraped, config, history, observed_at)


class _RelevantListings(msgspec.Struct, frozen=True, kw_only=True):
    relevant: Sequence[ListingSample]
    relevance: Relevance


def _relevant(listings: Sequence[ListingSample], keyword: str, config: ScoringConfig) -> _RelevantListings:
    settings = config.relevance
    terms = keyword_terms(keyword, settings.min_term_share)
    relevant = relevant_listings(listings, terms)
    return _RelevantListings(
        relevant=relevant, relevance=assess_relevance(len(listings), len(relevant), terms, settings)
    )


def _score_relevant(
    listings: _RelevantListings,
    scraped: ListingsScraped,
    config: ScoringConfig,
    history: Iterable[HistoryPoint],
    observed_at: float,
) -> NicheScore:
    relevance = listings.relevance
    inputs = niche_inputs(listings.relevant, scraped, config, observed_at, relevant_share=relevance.share)
    factors = niche_factors(inputs, config)
    score = weighted_score(factors)
    components = confidence_components(inputs, config.confidence)
    confidence = weighted_confidence(components, config.confidence.weights)
    sales_mid = inputs.sales_mid
    snapshot = HistoryPoint(observed_at=observed_at, sales_mid=sales_mid, total_count=inputs.supply)
    # Too little evidence about the keyword: whatever the few relevant listings score, it is no basis for
    # a concept.
    sufficient = relevance.status == "sufficient"
    return NicheScore(
        score=score,
        confidence=confidence,
        risk=classify_risk(score, confidence) if sufficient else "high",
        factors=factors,
        confidence_components=components,
        estimates=build_estimates(inputs.sales, inputs.median_price, inputs.currency),
        sales=inputs.sales,
        price_band=inputs.price_band,
        momentum=compute_momentum(history, snapshot, config.momentum),
        listing_count=inputs.listing_count,
        total_count=scraped.total_count,
        relevance=relevance,
        supply_measured=inputs.supply_measured,
        snapshot=snapshot,
    )
