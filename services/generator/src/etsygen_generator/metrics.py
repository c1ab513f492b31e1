"""Generator metrics."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

PROVIDER_SECONDS = Histogram("etsygen_generator_provider_seconds", "AI provider call latency", ["provider"])
PROVIDER_ERRORS = Counter(
    "etsygen_generator_provider_errors_total", "AI provider errors", ["provider", "type"]
)
TOKENS = Counter("etsygen_generator_tokens_total", "AI tokens used", ["provider", "kind"])
COST = Counter("etsygen_generator_cost_usd_total", "AI cost in USD", ["provider"])
PRODUCTS = Counter("etsygen_generator_products_total", "Concepts by outcome", ["outcome", "reason"])
LISTINGS_CREATED = Counter(
    "etsygen_generator_listings_created_total", "Draft listings created on the marketplace"
)
