"""docs/metrics.md is what the code declares, and every etsygen_ metric is declared."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import REGISTRY, Gauge

from etsygen_cli import metricsdoc
from etsygen_common import catalogue

REPO = Path(__file__).resolve().parents[3]
CATALOGUE = REPO / "docs" / "metrics.md"


def test_the_checked_in_catalogue_is_what_the_code_declares() -> None:
    generated = metricsdoc.render()
    assert CATALOGUE.read_text() == generated, (
        "docs/metrics.md is stale: run `uv run etsygen metrics catalogue` (`make metrics-doc`) and commit it"
    )


def test_the_catalogue_lists_every_declared_metric_with_its_type_and_owners() -> None:
    documented = metricsdoc.parse(CATALOGUE.read_text())
    specs = metricsdoc.load()
    assert {spec.sample_names[0] if spec.kind == "counter" else spec.name for spec in specs} == set(
        documented
    )
    for spec in specs:
        entry = documented[spec.sample_names[0] if spec.kind == "counter" else spec.name]
        assert (entry.kind, entry.owners, entry.sample_names) == (spec.kind, spec.owners, spec.sample_names)


def test_a_metric_created_without_a_declaration_is_refused_by_name() -> None:
    bare = Gauge("etsygen_test_undeclared", "made with prometheus_client directly")
    try:
        with pytest.raises(metricsdoc.UndeclaredMetricError, match="etsygen_test_undeclared"):
            metricsdoc.load()
    finally:
        REGISTRY.unregister(bare)


def test_service_is_added_to_every_metric_and_cannot_be_declared_again() -> None:
    with pytest.raises(ValueError, match="service"):
        catalogue.declare(
            "etsygen_test_x", "gauge", "x", unit="x", owners=("gateway",), labels={"service": "x"}
        )
    with pytest.raises(ValueError, match="owners"):
        catalogue.declare("etsygen_test_y", "gauge", "y", unit="y", owners=("billing",))
    assert "etsygen_test_x" not in catalogue.CATALOGUE


def test_every_label_value_listed_is_a_plain_word_and_no_label_is_an_id() -> None:
    for spec in metricsdoc.load():
        for label, values in spec.labels:
            assert not label.endswith("_id"), spec.name
            assert label not in {"keyword", "user", "owner", "email"}, spec.name
            if isinstance(values, tuple):
                assert values, (spec.name, label)
                assert all(v and "|" not in v for v in values), (spec.name, label)


@pytest.mark.parametrize("service", catalogue.SERVICES)
def test_a_starting_service_exports_every_series_of_enumerated_labels_at_once(service: str) -> None:
    specs = [s for s in metricsdoc.load() if service in s.owners and s.enumerated()]
    catalogue.initialise(service)
    collected = [s for s in specs if not s.name.startswith("etsygen_db_pool")]  # read from pools at scrape
    assert collected
    for spec in collected:
        sample = spec.sample_names[-1]  # a counter's _total, a histogram's _count, a gauge itself
        for combination in spec.combinations():
            labels = dict(zip(spec.label_names, (service, *combination), strict=True))
            assert REGISTRY.get_sample_value(sample, labels) is not None, (sample, labels)
