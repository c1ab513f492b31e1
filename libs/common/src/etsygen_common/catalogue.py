"""Declared metrics: every ``etsygen_*`` metric is created through this module, with what the catalogue says.

A declaration records a metric's name, type, unit, meaning, the services that export it and its labels with
their bounded values, next to the metric itself. ``docs/metrics.md`` is rendered from these declarations
(``etsygen metrics catalogue``) and a test fails when the checked-in file differs, so the catalogue cannot
drift from the code. Labels are bounded by construction: a label is declared with the tuple of its values, or
with a sentence naming the finite set it takes values from (topic names, route templates); ids, keywords and
free text are never labels.

Every metric carries a ``service`` label naming the service whose process exports it. The label is set by
the code, not by the scrape: prometheus_client collectors are process-global, and tests (and one-process
tools) run several services in one process, where only the code can tell them apart.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal, TypeVar

from prometheus_client import Counter, Gauge, Histogram

Kind = Literal["counter", "gauge", "histogram"]
Values = tuple[str, ...] | str
"""A label's values: the tuple of every value, or a sentence naming the finite set they come from."""

M = TypeVar("M", Counter, Gauge, Histogram)

SERVICES: Final = ("gateway", "scraper", "analyzer", "generator")
"""Every service of the platform: the values of the ``service`` label of metrics every service exports."""


@dataclass(frozen=True)
class MetricSpec:
    """What the catalogue says about one metric."""

    name: str
    """The family name (a counter's samples add ``_total``, a histogram's ``_bucket``/``_sum``/``_count``)."""
    kind: Kind
    unit: str
    meaning: str
    owners: tuple[str, ...]
    labels: tuple[tuple[str, Values], ...] = field(default=())
    note: str = ""
    """When the metric has no series yet (labels only known once the event happens), say when it appears."""

    @property
    def label_names(self) -> tuple[str, ...]:
        """``service`` first, then the declared labels."""
        return ("service", *(name for name, _ in self.labels))

    @property
    def sample_names(self) -> tuple[str, ...]:
        """The names of this metric's samples in the exposition and in PromQL."""
        if self.kind == "counter":
            return (f"{self.name}_total",)
        if self.kind == "histogram":
            return (f"{self.name}_bucket", f"{self.name}_sum", f"{self.name}_count")
        return (self.name,)

    def enumerated(self) -> bool:
        """True when every label but ``service`` lists its values (every series can exist from the start)."""
        return all(isinstance(values, tuple) for _, values in self.labels)

    def combinations(self) -> Iterable[tuple[str, ...]]:
        """Every combination of the declared label values (only when :meth:`enumerated`)."""
        value_sets = [values for _, values in self.labels if isinstance(values, tuple)]
        return itertools.product(*value_sets)


CATALOGUE: dict[str, MetricSpec] = {}
_CREATED: dict[str, object] = {}


def declare(
    name: str,
    kind: Kind,
    meaning: str,
    *,
    unit: str,
    owners: Sequence[str],
    labels: Mapping[str, Values] | None = None,
    note: str = "",
) -> MetricSpec:
    """Record a metric in the catalogue (once; a second, different declaration of the name is a bug)."""
    if not name.startswith("etsygen_"):
        raise ValueError(f"metric {name!r} must start with etsygen_")
    unknown = set(owners) - set(SERVICES)
    if not owners or unknown:
        raise ValueError(f"metric {name!r}: owners must be services of {SERVICES}, got {owners!r}")
    spec = MetricSpec(
        name=name,
        kind=kind,
        unit=unit,
        meaning=meaning,
        owners=tuple(owners),
        labels=tuple((labels or {}).items()),
        note=note,
    )
    if "service" in dict(spec.labels):
        raise ValueError(f"metric {name!r}: `service` is added to every metric; do not declare it")
    known = CATALOGUE.get(name)
    if known is not None and known != spec:
        raise ValueError(f"metric {name!r} is declared twice, differently")
    CATALOGUE[name] = spec
    return spec


def counter(name: str, meaning: str, *, unit: str, owners: Sequence[str], **kwargs: object) -> Counter:
    """A declared prometheus_client Counter (``name`` without ``_total``); labels ``service`` + declared."""
    spec = declare(name, "counter", meaning, unit=unit, owners=owners, **kwargs)  # type: ignore[arg-type]
    return _remember(spec, Counter(name, meaning, spec.label_names))


def gauge(name: str, meaning: str, *, unit: str, owners: Sequence[str], **kwargs: object) -> Gauge:
    """A declared prometheus_client Gauge; labels ``service`` + declared."""
    spec = declare(name, "gauge", meaning, unit=unit, owners=owners, **kwargs)  # type: ignore[arg-type]
    return _remember(spec, Gauge(name, meaning, spec.label_names))


def histogram(
    name: str,
    meaning: str,
    *,
    unit: str,
    owners: Sequence[str],
    buckets: Sequence[float] = Histogram.DEFAULT_BUCKETS,
    **kwargs: object,
) -> Histogram:
    """A declared prometheus_client Histogram; labels ``service`` + declared."""
    spec = declare(name, "histogram", meaning, unit=unit, owners=owners, **kwargs)  # type: ignore[arg-type]
    return _remember(spec, Histogram(name, meaning, spec.label_names, buckets=buckets))


def _remember(spec: MetricSpec, metric: M) -> M:
    track(spec, metric)
    return metric


def track(spec: MetricSpec, metric: object) -> None:
    """Let :func:`initialise` create ``metric``'s series (for collectors made outside this module: anything
    with prometheus_client's ``labels(*values)``)."""
    _CREATED[spec.name] = metric


def initialise(service: str) -> None:
    """Create, at zero, every series of ``service`` whose labels are all enumerated.

    Called when a service starts, so a scrape shows each such metric from the first moment (an alert on
    ``rate()`` needs the zero before the first increment) and only with the ``service`` of the process.
    """
    for spec in CATALOGUE.values():
        metric = _CREATED.get(spec.name)
        if metric is None or service not in spec.owners or not spec.enumerated():
            continue
        for combination in spec.combinations():
            metric.labels(service, *combination)  # type: ignore[attr-defined]


_HEADER: Final = """# Metrics catalogue

<!-- Generated by `etsygen metrics catalogue` (or `make metrics-doc`) from the metric declarations in the
code; do not edit by hand. A unit test fails when this file and the code disagree. -->

Every metric below is exported on each service's `/metrics` and carries a **`service`** label set by the
code (`gateway`, `scraper`, `analyzer` or `generator`, the process that exports it); Prometheus adds only
its own `job` and `instance` target labels, and no scrape config sets `service`. Counters are exposed with
the `_total` suffix (and prometheus_client's `_created`), histograms as `_bucket`, `_sum` and `_count`.
Labels take only the values listed (or the finite set named); no label holds an id, a keyword or free text.
A metric whose labels are all listed exports every series at zero from the service's start; the others say
when their series appear.
"""


def _owners_title(owners: tuple[str, ...]) -> str:
    return "Every service" if set(owners) == set(SERVICES) else ", ".join(owners)


def render(specs: Iterable[MetricSpec]) -> str:
    """The catalogue as Markdown: one section per set of owning services, one entry per metric by name."""
    groups: dict[tuple[str, ...], list[MetricSpec]] = {}
    for spec in specs:
        groups.setdefault(spec.owners, []).append(spec)
    order = sorted(
        groups, key=lambda owners: (set(owners) != set(SERVICES), [SERVICES.index(o) for o in owners])
    )
    out = [_HEADER]
    for owners in order:
        out.append(f"## {_owners_title(owners)}\n")
        for spec in sorted(groups[owners], key=lambda s: s.name):
            out.append(f"### `{spec.sample_names[0] if spec.kind == 'counter' else spec.name}`\n")
            out.append(
                f"{spec.kind}, unit: {spec.unit}; exported by: {', '.join(spec.owners)}"
                + (
                    f"; samples: {', '.join(f'`{n}`' for n in spec.sample_names)}"
                    if spec.kind == "histogram"
                    else ""
                )
                + "\n"
            )
            out.append(f"{spec.meaning}.\n")
            out.append("| label | values |\n|---|---|")
            out.append(f"| `service` | {', '.join(f'`{o}`' for o in spec.owners)} |")
            for label, values in spec.labels:
                shown = ", ".join(f"`{v}`" for v in values) if isinstance(values, tuple) else values
                out.append(f"| `{label}` | {shown} |")
            out.append("")
            if spec.note:
                out.append(f"{spec.note}\n")
    return "\n".join(out).rstrip() + "\n"
