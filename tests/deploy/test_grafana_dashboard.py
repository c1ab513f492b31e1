"""The Grafana dashboard queries only metrics the catalogue lists and covers every area."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from observability import DASHBOARD, documented_names, metric_names

AREAS = ("Health", "Pipeline", "Etsy", "AI", "cache", "Database", "Business")


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels") or []


def test_every_query_uses_only_metrics_the_catalogue_lists() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    known = documented_names()
    for panel in panels(dashboard):
        for target in panel.get("targets") or []:
            names = metric_names(target["expr"])
            assert names, f"panel {panel['title']!r} queries no etsygen_ metric: {target['expr']}"
            unknown = names - known
            assert not unknown, f"panel {panel['title']!r} uses undocumented metrics {sorted(unknown)}"
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            assert metric_names(variable["definition"]) <= known, variable["name"]


def test_there_is_a_row_with_panels_for_every_area() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    rows = [p for p in dashboard["panels"] if p["type"] == "row"]
    for area in AREAS:
        found = [r for r in rows if area in r["title"]]
        assert found, f"no row for {area}"
        after = dashboard["panels"].index(found[0]) + 1
        assert dashboard["panels"][after]["type"] != "row", f"the {area} row has no panels"
