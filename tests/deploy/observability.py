"""What the alert and dashboard tests share: the repository's files and the metric names they may use."""

from __future__ import annotations

import re
from pathlib import Path

from etsygen_cli import metricsdoc

REPO = Path(__file__).resolve().parents[2]
ALERTS = REPO / "deploy" / "prometheus" / "alerts.yml"
ALERT_TESTS = REPO / "deploy" / "prometheus" / "alerts.test.yml"
DASHBOARD = REPO / "deploy" / "grafana" / "dashboards" / "etsygen-overview.json"
_METRIC = re.compile(r"\betsygen_[a-z0-9_]+")


def documented_names() -> set[str]:
    """Every sample name of every metric docs/metrics.md lists (counters' _total, histograms' suffixes)."""
    listed = metricsdoc.parse((REPO / "docs" / "metrics.md").read_text())
    return {name for entry in listed.values() for name in entry.sample_names}


def metric_names(expression: str) -> set[str]:
    """The etsygen_ metric names a PromQL expression uses (label values such as topic names excluded)."""
    without_strings = re.sub(r'"[^"]*"', '""', expression)
    return set(_METRIC.findall(without_strings))
