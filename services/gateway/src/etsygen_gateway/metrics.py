"""Prometheus metrics of the gateway (process-global collectors, as Prometheus intends).

The four series every request updates (requests, latency, rate-limit decisions, cache lookups) are
:class:`Tally` and :class:`Latency` families: plain numbers that the event loop's thread, their only writer,
updates, and that a scrape reads as they are. prometheus_client's own Counter and Histogram take a lock and
check labels and exemplars on each update, which on a cached read cost more than the cache lookup itself.
"""

from __future__ import annotations

import time
from abc import abstractmethod
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge
from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString


class _Count:
    __slots__ = ("created", "value")

    def __init__(self) -> None:
        self.value = 0.0
        self.created = time.time()

    def inc(self, amount: float = 1.0) -> None:
        """Add ``amount`` (1 by default)."""
        self.value += amount


class _Distribution:
    __slots__ = ("_bounds", "counts", "created", "total")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self._bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last one is +Inf
        self.total = 0.0
        self.created = time.time()

    def observe(self, value: float) -> None:
        """Count ``value`` in the first bucket whose upper bound is at least ``value``."""
        self.counts[bisect_left(self._bounds, value)] += 1
        self.total += value


class _Family(Collector):
    def __init__(self, name: str, documentation: str, labelnames: Sequence[str], registry: CollectorRegistry):
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self._children: dict[tuple[str, ...], Any] = {}
        registry.register(self)

    @abstractmethod
    def _new(self) -> Any:
        """A new series of this family's kind."""

    def labels(self, *values: str) -> Any:
        """The series of these label values (created on first use)."""
        found = self._children.get(values)
        if found is None:
            if len(values) != len(self.labelnames) or not all(isinstance(v, str) for v in values):
                raise ValueError(f"{self.name} takes string values for {self.labelnames}, got {values!r}")
            found = self._children[values] = self._new()
        return found

    def describe(self) -> Iterator[Metric]:
        """No samples: registration only needs the family's name and type."""
        yield from self._families()

    def collect(self) -> Iterator[Metric]:
        """Every series as it is now."""
        yield from self._families(list(self._children.items()))

    @abstractmethod
    def _families(self, series: list[tuple[tuple[str, ...], Any]] | None = None) -> Iterator[Metric]:
        """The family's metric with ``series`` as its samples (none for :meth:`describe`)."""


class Tally(_Family):
    """A counter family (see the module docstring); ``name`` without ``_total``."""

    def __init__(
        self, name: str, documentation: str, labelnames: Sequence[str], registry: CollectorRegistry = REGISTRY
    ) -> None:
        super().__init__(name, documentation, labelnames, registry)

    def _new(self) -> _Count:
        return _Count()

    def _families(self, series: list[tuple[tuple[str, ...], Any]] | None = None) -> Iterator[Metric]:
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for values, count in series or ():
            family.add_metric(values, count.value, created=count.created)
        yield family


class Latency(_Family):
    """A histogram family of durations in seconds (see the module docstring)."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        buckets: Sequence[float],
        registry: CollectorRegistry = REGISTRY,
    ) -> None:
        self.bounds = tuple(sorted(buckets))
        self._les = [*(floatToGoString(b) for b in self.bounds), "+Inf"]  # type: ignore[no-untyped-call]
        super().__init__(name, documentation, labelnames, registry)

    def _new(self) -> _Distribution:
        return _Distribution(self.bounds)

    def _families(self, series: list[tuple[tuple[str, ...], Any]] | None = None) -> Iterator[Metric]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for values, distribution in series or ():
            cumulative, buckets = 0, []
            for le, count in zip(self._les, list(distribution.counts), strict=True):
                cumulative += count
                buckets.append((le, float(cumulative)))
            family.add_metric(values, buckets, distribution.total)
        yield family


HTTP_REQUESTS = Tally(
    "etsygen_gateway_http_requests",
    "HTTP requests by route template, method and status",
    ["route", "method", "status"],
)
HTTP_SECONDS = Latency(
    "etsygen_gateway_http_request_seconds",
    "HTTP request latency by route template",
    ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


class RequestSeries:
    """The request count and latency series of one route, method and status, updated together."""

    __slots__ = ("_count", "_latency")

    def __init__(self, route: str, method: str, status: int) -> None:
        self._count: _Count = HTTP_REQUESTS.labels(route, method, str(status))
        self._latency: _Distribution = HTTP_SECONDS.labels(route, method)

    def record(self, seconds: float) -> None:
        """Count one request that took ``seconds``."""
        self._count.value += 1
        self._latency.observe(seconds)


RATE_DECISIONS = Tally(
    "etsygen_gateway_ratelimit_decisions",
    "Rate-limit decisions by tier and outcome",
    ["tier", "outcome"],
)
RATE_FAIL_OPEN = Counter(
    "etsygen_gateway_ratelimit_fail_open_total",
    "Requests admitted without a decision because Redis was unreachable",
    ["tier"],
)
CACHE_REQUESTS = Tally(
    "etsygen_gateway_cache_requests",
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
