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


def _collectors_by_name() -> dict[str, catalogue.MetricSpec]:
    """Module-level metric variables of every service (``EVENTS_CONSUMED``) and their catalogue entries."""
    import sys

    from prometheus_client.metrics import MetricWrapperBase

    metricsdoc.load()
    found: dict[str, catalogue.MetricSpec] = {}
    for name, module in list(sys.modules.items()):
        if not name.startswith("etsygen_") or not name.endswith("metrics"):
            continue
        for attribute, value in vars(module).items():
            if isinstance(value, MetricWrapperBase) and value._name in catalogue.CATALOGUE:
                found[attribute] = catalogue.CATALOGUE[value._name]
    return found


Found = list[tuple[int, str, str, str]]


def _literal_label_values(source: str, known: dict[str, catalogue.MetricSpec]) -> Found:
    """(line, metric, label, value) for each string literal passed to ``METRIC.labels(...)`` in ``source``."""
    import ast

    def literals(node: ast.expr) -> list[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value]
        if isinstance(node, ast.IfExp):
            return literals(node.body) + literals(node.orelse)
        return []

    found: Found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        if node.func.attr != "labels":
            continue
        target = node.func.value
        metric = target.id if isinstance(target, ast.Name) else getattr(target, "attr", None)
        if metric not in known:
            continue
        spec = known[metric]
        positional = zip(spec.label_names, node.args, strict=False)
        named = [*positional, *((kw.arg or "", kw.value) for kw in node.keywords)]
        for label, value in named:
            found += [(node.lineno, spec.name, label, literal) for literal in literals(value)]
    return found


def test_every_literal_label_value_in_the_code_is_one_the_catalogue_lists() -> None:
    """A value the code sets but the catalogue does not list is a series docs/metrics.md and alerts miss."""
    known = _collectors_by_name()
    assert "EVENTS_CONSUMED" in known  # the scan sees the shared metrics
    sources = [path for root in ("libs", "services", "tools") for path in (REPO / root).glob("*/src/**/*.py")]
    wrong = []
    seen = 0
    for path in sources:
        for line, metric, label, value in _literal_label_values(path.read_text(), known):
            seen += 1
            allowed = dict(catalogue.CATALOGUE[metric].labels).get(label)
            if isinstance(allowed, tuple) and value not in allowed:
                where = f"{path.relative_to(REPO)}:{line}"
                wrong.append(f"{where} {metric} {label}={value!r} (listed: {allowed})")
    assert seen > 20, "the scan found almost no labelled metric calls; it no longer sees the code"
    assert not wrong, "label values the catalogue does not list:\n" + "\n".join(wrong)


def test_the_label_scan_sees_values_in_both_branches_of_a_conditional() -> None:
    known = {"EVENTS_CONSUMED": catalogue.CATALOGUE["etsygen_events_consumed"]}
    source = 'EVENTS_CONSUMED.labels(svc, topic, "retried" if a else "dropped").inc()\n'
    assert [value for *_, value in _literal_label_values(source, known)] == ["retried", "dropped"]
