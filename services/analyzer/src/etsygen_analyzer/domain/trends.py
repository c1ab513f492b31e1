"""The analyzer's events from the scraper's: a scored trend from a keyword's assessment, a failed trend from
a failed scrape, and when the data was observed."""

from __future__ import annotations

from datetime import datetime

from etsygen_analyzer.domain.scoring import NicheAssessment
from etsygen_common.contracts import GenerationOptions, ListingsScraped, TrendScored


def to_trend_scored(event: ListingsScraped, result: NicheAssessment, *, snapshot_id: str) -> TrendScored:
    """The ``TrendScored`` of a scored keyword; the job's generation options pass through from the scraper."""
    options = event.generation or GenerationOptions()
    return TrendScored(
        job_id=event.job_id,
        owner_id=event.owner_id,
        keyword=event.keyword,
        marketplace=event.marketplace,
        score=result.score,
        confidence=result.confidence,
        risk=result.risk,
        factors=result.factors,
        estimates=result.estimates,
        momentum=result.momentum,
        price_band=result.price_band,
        top_tags=result.top_tags,
        top_title_phrases=result.top_title_phrases,
        listing_count=result.listing_count,
        total_count=result.total_count,
        synthetic=bool(event.fetch and event.fetch.synthetic),
        snapshot_id=snapshot_id,
        generation_enabled=options.enabled,
        concepts_per_niche=options.concepts_per_niche,
        min_score=options.min_score,
        max_risk=options.max_risk,
        variants=options.variants,
        attempt=event.attempt,
        relevance=result.relevance,
        evidence=result.evidence,
    )


def failed_trend_scored(event: ListingsScraped) -> TrendScored:
    """A failed scrape passed on as a failed trend, so the job's keyword reaches a terminal state."""
    return TrendScored(
        job_id=event.job_id,
        owner_id=event.owner_id,
        keyword=event.keyword,
        marketplace=event.marketplace,
        status="failed",
        error=event.error or "scrape failed",
        generation_enabled=False,
        attempt=event.attempt,
    )


def observed_at(event: ListingsScraped, *, received_at: float) -> float:
    """Unix seconds when the scraper finished fetching; ``received_at`` when it did not say legibly."""
    if event.fetch is not None:
        try:
            return datetime.fromisoformat(event.fetch.finished_at).timestamp()
        except ValueError:
            pass
    return received_at
