"""Scraper metrics (declared in :mod:`etsygen_common.catalogue`; ``service`` is always ``scraper``)."""

from __future__ import annotations

from typing import Final

from etsygen_common.catalogue import counter, gauge, histogram

SERVICE: Final = "scraper"
OWNERS: Final = (SERVICE,)
WINDOWS: Final = ("second", "day")

ETSY_REQUEST_SECONDS = histogram(
    "etsygen_scraper_etsy_request_seconds",
    "Duration of Etsy API requests",
    unit="seconds",
    owners=OWNERS,
    labels={
        "endpoint": "the first path segment after /v3/application/ (listings, shops)",
        "status": "the HTTP status code Etsy answered",
    },
    note="Series appear with the first Etsy request.",
)
ETSY_RATE_REMAINING = gauge(
    "etsygen_scraper_etsy_rate_limit_remaining",
    "Etsy rate-limit budget left, from x-remaining-this-second / x-remaining-today of the last answer",
    unit="requests",
    owners=OWNERS,
    labels={"window": WINDOWS},
)
ETSY_RATE_LIMIT = gauge(
    "etsygen_scraper_etsy_rate_limit",
    "Etsy rate limit of the API key, from x-limit-per-second / x-limit-per-day of the last answer",
    unit="requests",
    owners=OWNERS,
    labels={"window": WINDOWS},
)
MARKETPLACE_HEALTH = gauge(
    "etsygen_scraper_marketplace_health_score",
    "Share of recent Etsy requests that succeeded (1 healthy, 0 failing), over the last 100 requests",
    unit="ratio",
    owners=OWNERS,
)
KEYWORDS_SCRAPED = counter(
    "etsygen_scraper_keywords",
    "Keywords fetched, by outcome",
    unit="keywords",
    owners=OWNERS,
    labels={"outcome": ("ok", "failed")},
)
LISTINGS_STORED = counter(
    "etsygen_scraper_listing_snapshots", "Listing snapshots written", unit="snapshots", owners=OWNERS
)
BUDGET_PAUSES = counter(
    "etsygen_scraper_budget_pauses",
    "Pauses because the daily budget was exhausted",
    unit="pauses",
    owners=OWNERS,
)
