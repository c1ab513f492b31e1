"""The request-path metric families expose what prometheus_client's own Counter and Histogram would."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from etsygen_common.catalogue import MetricSpec
from etsygen_gateway.metrics import Latency, Tally


def spec(name: str, kind: str, *labels: str) -> MetricSpec:
    """A spec outside the catalogue (these families are registered in their own registries)."""
    return MetricSpec(
        name=name,
        kind=kind,  # type: ignore[arg-type]
        unit="",
        meaning=name,
        owners=("gateway",),
        labels=tuple((label, "any") for label in labels),
    )


def test_a_tally_counts_per_label_values_and_exposes_a_total() -> None:
    registry = CollectorRegistry()
    tally = Tally(spec("t_requests", "counter", "route", "status"), registry=registry)
    tally.labels("gateway", "/a", "200").inc()
    tally.labels("gateway", "/a", "200").inc(2)
    tally.labels("gateway", "/b", "404").inc()
    assert (
        registry.get_sample_value("t_requests_total", {"service": "gateway", "route": "/a", "status": "200"})
        == 3
    )
    assert (
        registry.get_sample_value("t_requests_total", {"service": "gateway", "route": "/b", "status": "404"})
        == 1
    )
    assert "# TYPE t_requests_total counter" in generate_latest(registry).decode()


def test_a_latency_histogram_has_cumulative_buckets_a_count_and_a_sum() -> None:
    registry = CollectorRegistry()
    latency = Latency(spec("t_seconds", "histogram", "route"), buckets=(0.01, 0.1, 1.0), registry=registry)
    for seconds in (0.005, 0.01, 0.05, 0.5, 7.0):
        latency.labels("gateway", "/a").observe(seconds)

    def bucket(le: str) -> float | None:
        return registry.get_sample_value("t_seconds_bucket", {"service": "gateway", "route": "/a", "le": le})

    assert [bucket(le) for le in ("0.01", "0.1", "1.0", "+Inf")] == [2, 3, 4, 5]
    assert registry.get_sample_value("t_seconds_count", {"service": "gateway", "route": "/a"}) == 5
    assert registry.get_sample_value("t_seconds_sum", {"service": "gateway", "route": "/a"}) == pytest.approx(
        7.565
    )


def test_label_values_must_match_the_label_names() -> None:
    tally = Tally(spec("t_checked", "counter", "a"), registry=CollectorRegistry())
    for bad in (("only-one",), ("x", 2)):
        try:
            tally.labels(*bad)  # type: ignore[arg-type]
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} was accepted")
