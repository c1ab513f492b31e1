"""Kafka handlers of the scraper: fan a research job out per keyword, fetch each keyword, store snapshots."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from etsygen_common.breaker import Breaker, BreakerOpenError
from etsygen_common.contracts import KeywordScrapeRequested, ResearchRequested
from etsygen_common.contracts.research import SUPPORTED_MARKETPLACES
from etsygen_common.envelope import deterministic_id
from etsygen_common.kafka import FatalError, HandlerContext, PauseConsumption
from etsygen_common.logging import get_logger
from etsygen_scraper.adapters import repository
from etsygen_scraper.adapters.etsy_client import EtsyClient
from etsygen_scraper.adapters.etsy_errors import (
    EtsyAuthError,
    EtsyDailyBudgetExhausted,
    EtsyInvalidRequest,
    EtsyMalformedResponse,
    EtsyNotFound,
    EtsyRateLimited,
)
from etsygen_scraper.adapters.fetcher import fetch_keyword
from etsygen_scraper.domain.normalize import KeywordFetch, failed_listings_scraped, to_listings_scraped
from etsygen_scraper.metrics import BUDGET_PAUSES, KEYWORDS_SCRAPED, LISTINGS_STORED, SERVICE

log = get_logger(__name__)


async def on_research_requested(ctx: HandlerContext, event: ResearchRequested) -> None:
    """``etsygen.research.requested.v1`` → one ``KeywordScrapeRequested`` per distinct keyword.

    An unknown marketplace fails every keyword of the job with a message that says how to fix it.
    """
    keywords = list(dict.fromkeys(k.strip() for k in event.keywords if k.strip()))
    if not keywords:
        raise FatalError("research request has no non-blank keyword; send 1 to 50 keywords")
    for keyword in keywords:
        if event.marketplace not in SUPPORTED_MARKETPLACES:
            ctx.emit(
                failed_listings_scraped(
                    job_id=event.job_id,
                    owner_id=event.owner_id,
                    keyword=keyword,
                    generation=event.generation,
                    attempt=event.attempt,
                    error=f"unknown marketplace {event.marketplace!r}: Etsy-Gen supports "
                    f"{', '.join(SUPPORTED_MARKETPLACES)}; submit the job again with one of those",
                ),
                event_id=deterministic_id("scraped", ctx.event_id, keyword),
            )
            continue
        ctx.emit(
            KeywordScrapeRequested(
                job_id=event.job_id,
                owner_id=event.owner_id,
                keyword=keyword,
                marketplace=event.marketplace,
                listing_budget=event.listing_budget,
                generation=event.generation,
                attempt=event.attempt,
            ),
            event_id=deterministic_id("keyword", ctx.event_id, keyword),
        )


@dataclass(frozen=True, slots=True)
class _Fetched:
    result: KeywordFetch | None
    error: str | None
    started_at: datetime


class KeywordScrapeHandler:
    """``etsygen.scraper.keyword-requested.v1`` → snapshots and ``etsygen.listings.scraped.v1``.

    ``prepare`` talks to Etsy before the transaction opens, through the circuit breaker. Outcomes:
    success or a failure the user must fix (credentials, bad request) becomes an event; an open breaker,
    an exhausted daily budget or a long retry-after pauses consumption (nothing is failed); an unavailable
    API is retried through the retry topics; a malformed response is dead-lettered with the reason.
    """

    def __init__(
        self,
        client: EtsyClient,
        breaker: Breaker,
        *,
        top_n_reviews: int,
        review_window_days: int,
        budget_pause_s: float,
    ) -> None:
        self._client = client
        self._breaker = breaker
        self._top_n = top_n_reviews
        self._window = review_window_days
        self._budget_pause = budget_pause_s
        self._partitions_ready_for: str | None = None

    async def prepare(self, event: KeywordScrapeRequested) -> _Fetched:
        """Fetch the keyword from Etsy (outside the database transaction)."""
        started = datetime.now(UTC)
        try:
            result = await self._breaker.call(
                fetch_keyword,
                self._client,
                event.keyword,
                event.listing_budget,
                top_n_reviews=self._top_n,
                review_window_days=self._window,
            )
        except BreakerOpenError as exc:
            raise PauseConsumption(max(exc.retry_after, 0.5), str(exc), cause="breaker_open") from exc
        except EtsyDailyBudgetExhausted as exc:
            BUDGET_PAUSES.labels(SERVICE).inc()
            log.warning(
                "daily budget exhausted; pausing", extra={"keyword": event.keyword, "detail": str(exc)}
            )
            raise PauseConsumption(
                self._budget_pause, f"daily budget exhausted: {exc}", cause="daily_budget"
            ) from exc
        except EtsyRateLimited as exc:
            raise PauseConsumption(
                float(exc.retry_after or 1.0), f"Etsy rate limit: {exc}", cause="rate_limited"
            ) from exc
        except EtsyMalformedResponse as exc:
            raise FatalError(f"malformed Etsy response for {event.keyword!r}: {exc}") from exc
        except (EtsyAuthError, EtsyInvalidRequest, EtsyNotFound) as exc:
            KEYWORDS_SCRAPED.labels(SERVICE, "failed").inc()
            return _Fetched(result=None, error=str(exc), started_at=started)
        return _Fetched(result=result, error=None, started_at=started)

    async def __call__(self, ctx: HandlerContext, event: KeywordScrapeRequested) -> None:
        """Store the run and snapshots and emit the keyword's outcome, in the consumer's transaction."""
        fetched: _Fetched = ctx.prepared
        run_id = deterministic_id("scrape-run", ctx.event_id)
        event_id = deterministic_id("scraped", ctx.event_id)
        result = fetched.result
        if result is None:
            await self._record(
                ctx, event, run_id, fetched, status="failed", total=0, listings=0, calls=0, synthetic=False
            )
            ctx.emit(
                failed_listings_scraped(
                    job_id=event.job_id,
                    owner_id=event.owner_id,
                    keyword=event.keyword,
                    error=fetched.error or "fetch failed",
                    generation=event.generation,
                    scrape_run_id=run_id,
                    attempt=event.attempt,
                ),
                event_id=event_id,
            )
            return
        observed_at = datetime.fromisoformat(result.fetch.finished_at.replace("Z", "+00:00"))
        await self._ensure_partitions(ctx.conn, observed_at)
        await self._record(
            ctx,
            event,
            run_id,
            fetched,
            status="ok",
            total=result.total_count,
            listings=len(result.listings),
            calls=result.fetch.api_calls,
            synthetic=result.fetch.synthetic,
        )
        stored = await repository.insert_listing_snapshots(
            ctx.conn, run_id, event.keyword, observed_at, result.listings
        )
        await repository.insert_shop_snapshots(ctx.conn, observed_at, result.shops)
        ctx.on_commit(functools.partial(_count_scraped, stored))
        ctx.emit(
            to_listings_scraped(
                result,
                job_id=event.job_id,
                owner_id=event.owner_id,
                scrape_run_id=run_id,
                generation=event.generation,
                attempt=event.attempt,
            ),
            event_id=event_id,
        )

    async def _ensure_partitions(self, conn: Any, observed_at: datetime) -> None:
        month = observed_at.strftime("%Y-%m")
        if self._partitions_ready_for != month:
            await repository.ensure_partitions(conn, observed_at.date())
            self._partitions_ready_for = month

    @staticmethod
    async def _record(
        ctx: HandlerContext,
        event: KeywordScrapeRequested,
        run_id: str,
        fetched: _Fetched,
        *,
        status: str,
        total: int,
        listings: int,
        calls: int,
        synthetic: bool,
    ) -> None:
        await repository.insert_run(
            ctx.conn,
            run_id=run_id,
            event_id=ctx.event_id,
            job_id=event.job_id,
            owner_id=event.owner_id,
            keyword=event.keyword,
            marketplace=event.marketplace,
            status=status,
            error=fetched.error,
            total_count=total,
            listings=listings,
            api_calls=calls,
            synthetic=synthetic,
            started_at=fetched.started_at,
        )


def _count_scraped(listings: int) -> None:
    """Metrics of one scraped keyword, counted once its transaction committed."""
    LISTINGS_STORED.labels(SERVICE).inc(listings)
    KEYWORDS_SCRAPED.labels(SERVICE, "ok").inc()
