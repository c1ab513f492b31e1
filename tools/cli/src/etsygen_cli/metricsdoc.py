"""The metrics catalogue (docs/metrics.md), generated from the metric declarations of every service.

Importing each service's composition root imports every module that defines a metric; what the declarations
say is then rendered by :func:`etsygen_common.catalogue.render`. A metric registered without a declaration
(a bare prometheus_client constructor) is refused by name, so nothing exported goes undocumented.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import REGISTRY

from etsygen_cli.services import SERVICES
from etsygen_common import catalogue

DEFAULT_PATH = Path("docs/metrics.md")


class UndeclaredMetricError(Exception):
    """A metric with the etsygen_ prefix exists without a catalogue declaration."""


def load() -> list[catalogue.MetricSpec]:
    """Every declared metric, after importing every service; raises for an undeclared etsygen_ metric."""
    import etsygen_common.dbmetrics
    import etsygen_common.metrics  # noqa: F401

    for info in SERVICES.values():
        info.bootstrap()
    registered = {family.name for family in REGISTRY.collect() if family.name.startswith("etsygen_")}
    undeclared = sorted(registered - set(catalogue.CATALOGUE))
    if undeclared:
        raise UndeclaredMetricError(
            f"metrics without a declaration: {', '.join(undeclared)}; create them with "
            "etsygen_common.catalogue.counter/gauge/histogram (or declare()) so the catalogue lists them"
        )
    return list(catalogue.CATALOGUE.values())


def render() -> str:
    """docs/metrics.md as the code says it should read."""
    return catalogue.render(load())


@dataclass(frozen=True)
class Documented:
    """One metric as docs/metrics.md lists it."""

    name: str
    kind: str
    owners: tuple[str, ...]

    @property
    def family(self) -> str:
        """The family name (prometheus_client's parser reports counters without ``_total``)."""
        return self.name.removesuffix("_total") if self.kind == "counter" else self.name

    @property
    def sample_names(self) -> tuple[str, ...]:
        """Names a PromQL expression may use for this metric."""
        if self.kind == "counter":
            return (self.name,)
        if self.kind == "histogram":
            return (f"{self.name}_bucket", f"{self.name}_sum", f"{self.name}_count")
        return (self.name,)


_ENTRY = re.compile(
    r"^### `(etsygen_\w+)`\n\n(counter|gauge|histogram), unit: [^;]*; exported by: ([a-z, ]+)", re.M
)


def parse(text: str) -> dict[str, Documented]:
    """The metrics a catalogue document lists, by name (as the headings spell them)."""
    return {
        m.group(1): Documented(m.group(1), m.group(2), tuple(o.strip() for o in m.group(3).split(",")))
        for m in _ENTRY.finditer(text)
    }
