"""Kafka handlers of the analyzer: thin adapters around the pure scoring model."""

from __future__ import annotations

import functools
import time

from etsygen_analyzer.adapters import repository
from etsygen_analyzer.domain.config import ScoringConfig
from etsygen_analyzer.domain.scoring import score_niche
from etsygen_analyzer.domain.trends import failed_trend_scored, observed_at, to_trend_scored
from etsygen_analyzer.metrics import ANALYSIS_SECONDS, REVENUE, SCORES, SERVICE
from etsygen_common.contracts import ListingsScraped, TrendScored
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
            ctx.emit(failed_trend_scored(event), event_id=trend_id)
            return
        started = time.perf_counter()
        observed = observed_at(event, received_at=time.time())
        history = await repository.load_history(
            ctx.conn, event.marketplace, event.keyword, self._history_limit
        )
        result = score_niche(event, self._config, history, observed_at=observed)
        trend = to_trend_scored(event, result, snapshot_id=trend_id)
        await repository.insert_snapshot(
            ctx.conn,
            snapshot_id=trend_id,
            event_id=ctx.event_id,
            observed_at=observed,
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
