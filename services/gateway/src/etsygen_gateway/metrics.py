"""Prometheus metrics of the gateway (process-global collectors, as Prometheus intends).

The four series every request updates (requests, latency, rate-limit decisions, cache lookups) are
:class:`Tally` and :class:`Latency` families: plain numbers that the event loop's thread, their only writer,
updates, and that a scrape reads as they are. prometheus_client's own Counter and Histogram take a lock and
check labels and exemplars on each update, which on a cached read cost more than the cache lookup itself.
"""

from __future__ import annotations

import time
import weakref
from abc import abstractmethod
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from typing import Any, Final

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from etsygen_common.catalogue import MetricSpec, counter, declare, gauge, histogram, track

SERVICE: Final = "gateway"
OWNERS: Final = (SERVICE,)
NAMESPACES: Final = ("jobs", "products", "trends")
"""The read caches (one per read model)."""
TIERS: Final = ("api", "auth", "auth-failures-ip", "auth-failures-account", "ai", "replay")
"""The rate-limit tiers the gateway enforces."""
JOB_END_STATES: Final = ("succeeded", "partially_failed", "failed", "cancelled")
ROUTE: Final = "a route template of the gateway (e.g. /v1/jobs/{job_id}), or unmatched"
METHOD: Final = "the HTTP method"


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
    def __init__(self, spec: MetricSpec, registry: CollectorRegistry):
        self.name = spec.name
        self.documentation = spec.meaning
        self.labelnames = spec.label_names
        self._children: dict[tuple[str, ...], Any] = {}
        registry.register(self)
        if registry is REGISTRY:
            track(spec, self)  # its series start at zero like the other declared metrics'

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
    """A counter family (see the module docstring) of a declared counter."""

    def __init__(self, spec: MetricSpec, registry: CollectorRegistry = REGISTRY) -> None:
        super().__init__(spec, registry)

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
        self, spec: MetricSpec, buckets: Sequence[float], registry: CollectorRegistry = REGISTRY
    ) -> None:
        self.bounds = tuple(sorted(buckets))
        self._les = [*(floatToGoString(b) for b in self.bounds), "+Inf"]  # type: ignore[no-untyped-call]
        super().__init__(spec, registry)

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
    declare(
        "etsygen_gateway_http_requests",
        "counter",
        "HTTP requests by route template, method and status",
        unit="requests",
        owners=OWNERS,
        labels={"route": ROUTE, "method": METHOD, "status": "the HTTP status code answered"},
        note="Series appear with the first request of their route, method and status.",
    )
)
HTTP_SECONDS = Latency(
    declare(
        "etsygen_gateway_http_request_seconds",
        "histogram",
        "HTTP request latency by route template",
        unit="seconds",
        owners=OWNERS,
        labels={"route": ROUTE, "method": METHOD},
        note="Series appear with the first request of their route and method.",
    ),
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


class RequestSeries:
    """The request count and latency series of one route, method and status, updated together."""

    __slots__ = ("_count", "_latency")

    def __init__(self, route: str, method: str, status: int) -> None:
        self._count: _Count = HTTP_REQUESTS.labels(SERVICE, route, method, str(status))
        self._latency: _Distribution = HTTP_SECONDS.labels(SERVICE, route, method)

    def record(self, seconds: float) -> None:
        """Count one request that took ``seconds``."""
        self._count.value += 1
        self._latency.observe(seconds)


RATE_DECISIONS = Tally(
    declare(
        "etsygen_gateway_ratelimit_decisions",
        "counter",
        "Rate-limit decisions by tier and outcome",
        unit="decisions",
        owners=OWNERS,
        labels={"tier": TIERS, "outcome": ("allowed", "limited")},
    )
)
RATE_FAIL_OPEN = counter(
    "etsygen_gateway_ratelimit_fail_open",
    "Requests admitted without a decision because Redis was unreachable",
    unit="requests",
    owners=OWNERS,
    labels={"tier": TIERS},
)
CACHE_REQUESTS = Tally(
    declare(
        "etsygen_gateway_cache_requests",
        "counter",
        "Read-cache lookups by cache and result (local_hit and hit are hits, early_refresh a hit that also "
        "recomputes, miss and bypass went to Postgres)",
        unit="lookups",
        owners=OWNERS,
        labels={"cache": NAMESPACES, "result": ("local_hit", "hit", "miss", "early_refresh", "bypass")},
    )
)
CACHE_RECOMPUTES = counter(
    "etsygen_gateway_cache_recomputes",
    "Values computed from Postgres for the cache",
    unit="computations",
    owners=OWNERS,
    labels={"cache": NAMESPACES},
)
CACHE_INVALIDATIONS = counter(
    "etsygen_gateway_cache_invalidations",
    "Cache invalidations by cache",
    unit="invalidations",
    owners=OWNERS,
    labels={"cache": NAMESPACES},
)
PROJECTED = counter(
    "etsygen_gateway_projected_events",
    "Events applied to the gateway's read models",
    unit="events",
    owners=OWNERS,
    labels={"topic": "a logical topic the gateway projects (listings.scraped, trends.scored, products.*)"},
    note="Series appear with the first event of their topic.",
)
DEAD_LETTERS_STORED = counter(
    "etsygen_gateway_dead_letters_stored",
    "Dead letters stored (new ones only)",
    unit="records",
    owners=OWNERS,
    labels={"original_topic": "the logical topic the record failed on (etsygen_common.contracts)"},
    note="Series appear with the first dead letter of their topic.",
)
LIVE_SUBSCRIBERS = gauge(
    "etsygen_gateway_live_subscribers",
    "Open WebSocket/SSE streams by kind",
    unit="streams",
    owners=OWNERS,
    labels={"kind": ("sse", "websocket", "health")},
)
AUTH_FAILURES = counter(
    "etsygen_gateway_auth_failures",
    "Rejected credentials by kind",
    unit="attempts",
    owners=OWNERS,
    labels={"kind": ("password", "session", "api_key")},
)
JOBS_FINISHED = counter(
    "etsygen_gateway_jobs_finished",
    "Research jobs that reached a terminal state, by that state",
    unit="jobs",
    owners=OWNERS,
    labels={"status": JOB_END_STATES},
)
JOB_SECONDS = histogram(
    "etsygen_gateway_job_duration_seconds",
    "Time from a job's submission to its terminal state, by that state",
    unit="seconds",
    owners=OWNERS,
    labels={"status": JOB_END_STATES},
    buckets=(1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200),
)
HEALTH_SCORE = gauge(
    "etsygen_gateway_health_score",
    "The system health score of /v1/health (0 down to 1 healthy, weighted by component), refreshed every "
    "15 s and on each /v1/health request",
    unit="ratio",
    owners=OWNERS,
)


class LocalEntries(Collector):
    """Entries in the near caches of this process, by cache, counted when Prometheus scrapes."""

    spec = declare(
        "etsygen_gateway_cache_local_entries",
        "gauge",
        "Entries the read caches keep in this process (near cache, GATEWAY_CACHE_LOCAL_TTL_S; the shared "
        "entries live in Redis)",
        unit="entries",
        owners=OWNERS,
        labels={"cache": NAMESPACES},
    )

    def __init__(self) -> None:
        self._caches: weakref.WeakSet[Any] = weakref.WeakSet()

    def watch(self, cache: Any) -> None:
        """Count ``cache``'s entries (a ReadCache: ``local_entries()`` by namespace) while it exists."""
        self._caches.add(cache)

    def describe(self) -> Iterator[Metric]:
        """The family without samples."""
        yield GaugeMetricFamily(self.spec.name, self.spec.meaning, labels=self.spec.label_names)

    def collect(self) -> Iterator[Metric]:
        """Every cache's entries now, summed by namespace (each namespace reported, 0 when empty)."""
        totals = dict.fromkeys(NAMESPACES, 0)
        for cache in list(self._caches):
            for namespace, entries in cache.local_entries().items():
                totals[namespace] = totals.get(namespace, 0) + entries
        family = GaugeMetricFamily(self.spec.name, self.spec.meaning, labels=self.spec.label_names)
        for namespace, entries in totals.items():
            family.add_metric([SERVICE, namespace], entries)
        yield family


LOCAL_ENTRIES = LocalEntries()
REGISTRY.register(LOCAL_ENTRIES)


def job_finished(status: str, seconds: float) -> None:
    """Count a job that just reached the terminal ``status`` after ``seconds``."""
    JOBS_FINISHED.labels(SERVICE, status).inc()
    JOB_SECONDS.labels(SERVICE, status).observe(seconds)


_children: dict[tuple[int, tuple[str, ...]], Any] = {}


def child(metric: Any, *labels: str) -> Any:
    """``metric.labels(SERVICE, *labels)``, remembered: the lookup costs more than the increment on hot
    paths."""
    key = (id(metric), labels)
    found = _children.get(key)
    if found is None:
        found = _children[key] = metric.labels(SERVICE, *labels)
    return found
