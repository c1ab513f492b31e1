"""Scraper metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

ETSY_REQUEST_SECONDS = Histogram(
    "etsygen_scraper_etsy_request_seconds", "Duration of Etsy API requests", ["endpoint", "status"]
)
ETSY_RATE_REMAINING = Gauge(
    "etsygen_scraper_etsy_rate_limit_remaining", "Etsy rate-limit budget left", ["window"]
)
MARKETPLACE_HEALTH = Gauge(
    "etsygen_scraper_marketplace_health_score",
    "Share of recent Etsy requests that succeeded (1 healthy, 0 failing), over the last 100 requests",
)
KEYWORDS_SCRAPED = Counter("etsygen_scraper_keywords_total", "Keywords fetched", ["outcome"])
LISTINGS_STORED = Counter("etsygen_scraper_listing_snapshots_total", "Listing snapshots written")
BUDGET_PAUSES = Counter(
    "etsygen_scraper_budget_pauses_total", "Pauses because the daily budget was exhausted"
)
