"""Connection-pool gauges, read from the pools when Prometheus scrapes (nothing is updated per query).

asyncpg keeps the figures itself: open connections (``get_size``), idle ones (``get_idle_size``), the bound
(``get_max_size``). How many callers wait in ``acquire()`` it does not publish; they are the pending getters
of the pool's internal queue, which is what is counted here (a test exhausts a pool to keep that true across
asyncpg upgrades).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import REGISTRY
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from etsygen_common.catalogue import SERVICES, MetricSpec, declare

_GAUGES: tuple[MetricSpec, ...] = (
    declare(
        "etsygen_db_pool_size",
        "gauge",
        "Connections the service's PostgreSQL pool holds open",
        unit="connections",
        owners=SERVICES,
    ),
    declare(
        "etsygen_db_pool_max",
        "gauge",
        "Most connections the pool may open (DATABASE_POOL_MAX)",
        unit="connections",
        owners=SERVICES,
    ),
    declare(
        "etsygen_db_pool_in_use",
        "gauge",
        "Pool connections acquired by the service right now",
        unit="connections",
        owners=SERVICES,
    ),
    declare(
        "etsygen_db_pool_waiting",
        "gauge",
        "Callers waiting in acquire() for a pool connection (above 0 for long: the pool is exhausted)",
        unit="callers",
        owners=SERVICES,
    ),
)


def _waiting(pool: Any) -> int:
    getters = pool._queue._getters
    return sum(1 for waiter in getters if not waiter.done())


class PoolCollector(Collector):
    """Yields the pool gauges of every open pool, summed per service."""

    def __init__(self) -> None:
        self._pools: dict[int, tuple[str, Any]] = {}

    def watch(self, service: str, pool: Any) -> None:
        """Report ``pool`` under ``service`` until it closes."""
        self._pools[id(pool)] = (service, pool)

    def describe(self) -> Iterator[Metric]:
        """The families without samples (registration must not touch pools)."""
        for spec in _GAUGES:
            yield GaugeMetricFamily(spec.name, spec.meaning, labels=["service"])

    def collect(self) -> Iterator[Metric]:
        """Every open pool's figures now; closed pools are forgotten."""
        figures: dict[str, list[int]] = {}
        for key, (service, pool) in list(self._pools.items()):
            if pool.is_closing():
                del self._pools[key]
                continue
            size = pool.get_size()
            total = figures.setdefault(service, [0, 0, 0, 0])
            for i, value in enumerate(
                (size, pool.get_max_size(), size - pool.get_idle_size(), _waiting(pool))
            ):
                total[i] += value
        for i, spec in enumerate(_GAUGES):
            family = GaugeMetricFamily(spec.name, spec.meaning, labels=["service"])
            for service, values in sorted(figures.items()):
                family.add_metric([service], values[i])
            yield family


POOLS = PoolCollector()
REGISTRY.register(POOLS)


def watch_pool(service: str, pool: Any) -> None:
    """Report ``pool``'s gauges under ``service`` (see :class:`PoolCollector`)."""
    POOLS.watch(service, pool)
