"""Prometheus metrics of the gateway (process-global collectors, as Prometheus intends)."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "etsygen_gateway_http_requests_total",
    "HTTP requests by route template, method and status",
    ["route", "method", "status"],
)
HTTP_SECONDS = Histogram(
    "etsygen_gateway_http_request_seconds",
    "HTTP request latency by route template",
    ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
RATE_DECISIONS = Counter(
    "etsygen_gateway_ratelimit_decisions_total",
    "Rate-limit decisions by tier and outcome",
    ["tier", "outcome"],
)
RATE_FAIL_OPEN = Counter(
    "etsygen_gateway_ratelimit_fail_open_total",
    "Requests admitted without a decision because Redis was unreachable",
    ["tier"],
)
CACHE_REQUESTS = Counter(
    "etsygen_gateway_cache_requests_total",
    "Read-cache lookups by cache and result (local_hit, hit, miss, early_refresh, bypass)",
    ["cache", "result"],
)
CACHE_RECOMPUTES = Counter(
    "etsygen_gateway_cache_recomputes_total", "Values computed from Postgres for the cache", ["cache"]
)
CACHE_INVALIDATIONS = Counter(
    "etsygen_gateway_cache_invalidations_total", "Cache invalidations by cache", ["cache"]
)
PROJECTED = Counter(
    "etsygen_gateway_projected_events_total", "Events applied to the gateway's read models", ["topic"]
)
DEAD_LETTERS_STORED = Counter(
    "etsygen_gateway_dead_letters_stored_total", "Dead letters stored (new ones only)", ["original_topic"]
)
LIVE_SUBSCRIBERS = Gauge("etsygen_gateway_live_subscribers", "Open WebSocket/SSE streams by kind", ["kind"])
AUTH_FAILURES = Counter("etsygen_gateway_auth_failures_total", "Rejected credentials by kind", ["kind"])

_children: dict[tuple[int, tuple[str, ...]], Any] = {}


def child(metric: Any, *labels: str) -> Any:
    """``metric.labels(*labels)``, remembered: the lookup costs more than the increment on hot paths."""
    key = (id(metric), labels)
    found = _children.get(key)
    if found is None:
        found = _children[key] = metric.labels(*labels)
    return found
