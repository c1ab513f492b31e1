"""The scraper's composition root."""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path

import httpx

from etsygen_common import contracts
from etsygen_common.breaker import Breaker
from etsygen_common.runtime import ServiceRuntime
from etsygen_scraper.adapters import repository
from etsygen_scraper.adapters.etsy_client import EtsyClient
from etsygen_scraper.adapters.etsy_errors import (
    EtsyAuthError,
    EtsyDailyBudgetExhausted,
    EtsyInvalidRequest,
    EtsyNotFound,
    EtsyRateLimited,
)
from etsygen_scraper.handlers import KeywordScrapeHandler, on_research_requested
from etsygen_scraper.metrics import (
    ETSY_RATE_LIMIT,
    ETSY_RATE_REMAINING,
    ETSY_REQUEST_SECONDS,
    MARKETPLACE_HEALTH,
    SERVICE,
)
from etsygen_scraper.settings import ScraperSettings

DEFAULT_PORT = 8101
MIGRATIONS = Path(__file__).parent / "migrations"


def load_settings() -> ScraperSettings:
    """Read the scraper's settings from the environment."""
    return ScraperSettings.from_env()


def _instrumented_http(settings: ScraperSettings) -> httpx.AsyncClient:
    """An httpx client whose hooks feed request duration, rate-limit budget and marketplace health."""
    recent: deque[bool] = deque(maxlen=100)

    async def on_request(request: httpx.Request) -> None:
        request.extensions["etsygen_started"] = time.perf_counter()

    async def on_response(response: httpx.Response) -> None:
        started = response.request.extensions.get("etsygen_started", time.perf_counter())
        template = response.request.url.path.split("/v3/application/", 1)[-1].split("/", 1)[0] or "other"
        ETSY_REQUEST_SECONDS.labels(SERVICE, template, str(response.status_code)).observe(
            time.perf_counter() - started
        )
        for metric, header, window in (
            (ETSY_RATE_REMAINING, "x-remaining-this-second", "second"),
            (ETSY_RATE_REMAINING, "x-remaining-today", "day"),
            (ETSY_RATE_LIMIT, "x-limit-per-second", "second"),
            (ETSY_RATE_LIMIT, "x-limit-per-day", "day"),
        ):
            if header in response.headers:
                metric.labels(SERVICE, window).set(float(response.headers[header]))
        recent.append(response.status_code < 500 and response.status_code != 429)
        MARKETPLACE_HEALTH.labels(SERVICE).set(sum(recent) / len(recent))

    return httpx.AsyncClient(
        base_url=settings.etsy.base_url.rstrip("/"),
        timeout=settings.etsy.timeout_s,
        event_hooks={"request": [on_request], "response": [on_response]},
    )


def build_app(settings: ScraperSettings) -> ServiceRuntime:
    """Wire the scraper: Etsy client behind a breaker, fan-out and per-keyword consumers."""
    runtime = ServiceRuntime(
        name=SERVICE,
        settings=settings.common,
        migrations_dir=MIGRATIONS,
        default_port=DEFAULT_PORT,
        group="etsygen-scraper",
        waiting_stage="scrape",
    )
    http = _instrumented_http(settings)
    client = EtsyClient(
        settings.etsy.api_key, base_url=settings.etsy.base_url, per_second=settings.etsy.per_second, http=http
    )
    breaker = Breaker(
        "etsy-api",
        service=SERVICE,
        fail_max=settings.etsy.breaker_fail_max,
        reset_timeout_s=settings.etsy.breaker_reset_s,
        key_prefix=settings.common.redis.key_prefix,
        # The caller's faults and Etsy's deliberate refusals say nothing about Etsy's health.
        exclude=(EtsyAuthError, EtsyInvalidRequest, EtsyNotFound, EtsyRateLimited, EtsyDailyBudgetExhausted),
    )
    assert runtime.consumer is not None
    runtime.consumer.subscribe(
        contracts.RESEARCH_REQUESTED, contracts.ResearchRequested, on_research_requested
    )
    runtime.consumer.subscribe(
        contracts.KEYWORD_SCRAPE_REQUESTED,
        contracts.KeywordScrapeRequested,
        KeywordScrapeHandler(
            client,
            breaker,
            top_n_reviews=settings.scraper.top_n_reviews,
            review_window_days=settings.scraper.review_window_days,
            budget_pause_s=settings.scraper.budget_pause_s,
        ),
        replay_redrives=True,  # a re-drive of a keyword already scraped spends no Etsy call
    )
    runtime.extra_topics.extend([contracts.KEYWORD_SCRAPE_REQUESTED, contracts.LISTINGS_SCRAPED])

    async def started(rt: ServiceRuntime) -> None:
        breaker.attach_redis(rt.redis)
        async with rt.pool.acquire() as conn:
            await repository.ensure_partitions(conn)

    async def stopped(_rt: ServiceRuntime) -> None:
        await client.aclose()
        await http.aclose()

    runtime.on_start.append(started)
    runtime.on_stop.append(stopped)
    return runtime
