"""Kafka handlers of the analyzer: thin adapters around the pure scoring model."""

from __future__ import annotations

import functools
import time
from datetime import datetime

from etsygen_analyzer.adapters import repository
from etsygen_analyzer.domain.config import ScoringConfig
from etsygen_analyzer.domain.scoring import score_niche
from etsygen_analyzer.metrics import ANALYSIS_SECONDS, REVENUE, SCORES, SERVICE
from etsygen_common.contracts import GenerationOptions, ListingsScraped, TrendScored
from etsygen_common.envelope import deterministic_id
from etsygen_common.kafka import HandlerContext


class ListingsScrapedHandler:
    """``etsygen.listings.scraped.v1`` → a trend snapshot and ``etsygen.trends.scored.v1``."""

    def __init__(self, config: ScoringConfig, history_limit: int) -> None:
        self._config = config
        self._history_limit = history_limit

    async def __call__(self, ctx: HandlerContext, event: ListingsScraped) -> None:
        """Score the keyword, store the snapshot and emit the result in the consumer's transaction.

        A failed scrape is passed on as a failed trend so the job's keyword reaches a terminal state.
        """
        trend_id = deterministic_id("trend", ctx.event_id)
        if event.status != "ok":
            ctx.emit(
                TrendScored(
                    job_id=event.job_id,
                    owner_id=event.owner_id,
                    keyword=event.keyword,
                    marketplace=event.marketplace,
                    status="failed",
                    error=event.error or "scrape failed",
                    generation_enabled=False,
                    attempt=event.attempt,
                ),
                event_id=trend_id,
            )
            return
        started = time.perf_counter()
        observed_at = _observed_at(event)
        history = await repository.load_history(
            ctx.conn, event.marketplace, event.keyword, self._history_limit
        )
        result = score_niche(event, self._config, history, observed_at=observed_at)
        options = event.generation or GenerationOptions()  # the job's choice, passed along by the scraper
        trend = TrendScored(
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
            snapshot_id=trend_id,
            generation_enabled=options.enabled,
            concepts_per_niche=options.concepts_per_niche,
            min_score=options.min_score,
            max_risk=options.max_risk,
            attempt=event.attempt,
        )
        await repository.insert_snapshot(
            ctx.conn,
            snapshot_id=trend_id,
            event_id=ctx.event_id,
            observed_at=observed_at,
            sales_mid=result.snapshot.sales_mid,
            trend=trend,
        )
        ctx.emit(trend, event_id=trend_id)
        ctx.on_commit(functools.partial(_observe, trend, time.perf_counter() - started))


def _observe(trend: TrendScored, seconds: float) -> None:
    """Metrics of one analysis, counted once its transaction committed."""
    SCORES.labels(SERVICE).observe(trend.score)
    ANALYSIS_SECONDS.labels(SERVICE).observe(seconds)
    for estimate in trend.estimates:
        if estimate.name == "monthly_revenue":
            currency = estimate.unit.split("/", 1)[0]
            REVENUE.labels(SERVICE, trend.risk, currency).observe(
                (estimate.range.low + estimate.range.high) / 2
            )


def _observed_at(event: ListingsScraped) -> float:
    if event.fetch is not None:
        try:
            return datetime.fromisoformat(event.fetch.finished_at).timestamp()
        except ValueError:
            pass
    return time.time()
