"""Custom resources in the builds: the kinds the Kubernetes OpenAPI schemas do not know.

Each known kind (apiVersion + kind) has a vendored JSON Schema of the fields we use (crd-schemas/, strict:
an unknown field fails, as for built-in kinds) and optionally house rules. A kind missing from
:data:`CRD_KINDS` is still an error ("unknown kind/apiVersion"), so a new CRD needs an entry here:

    CrdKind("monitoring.coreos.com/v1", "PrometheusRule", "prometheusrule.json", rules=...)

A rule takes the resource and the build's :class:`Facts` and returns problems (strings).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kafka_durability

SCHEMA_DIR = Path(__file__).resolve().parent / "crd-schemas"


@dataclass(frozen=True)
class Facts:
    """What rules may need to know about the whole build."""

    partitions: int
    single_broker: bool


Rule = Callable[[dict[str, Any], Facts], list[str]]


@dataclass(frozen=True)
class CrdKind:
    """A custom resource kind the validator knows: its schema file and its rules."""

    api_version: str
    kind: str
    schema: str
    rules: tuple[Rule, ...] = ()


CRD_KINDS: dict[tuple[str, str], CrdKind] = {
    (c.api_version, c.kind): c
    for c in (
        CrdKind(
            "kafka.strimzi.io/v1beta2",
            "KafkaTopic",
            "kafkatopic.json",
            rules=(kafka_durability.kafka_topic_problems,),
        ),
    )
}


def crd_of(doc: dict[str, Any]) -> CrdKind | None:
    """The table entry of a resource, or None for every other kind (built-ins, unknown CRDs)."""
    return CRD_KINDS.get((str(doc.get("apiVersion")), str(doc.get("kind"))))


def schema_problems(doc: dict[str, Any], crd: CrdKind) -> list[str]:
    """The resource against its vendored schema; each problem names the path."""
    import jsonschema  # comes with kubernetes-validate

    schema = json.loads((SCHEMA_DIR / crd.schema).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    return [
        f"schema (crd-schemas/{crd.schema}, strict): {_path(e.absolute_path)}: {e.message}"
        for e in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    ]


def _path(parts: Any) -> str:
    return ".".join(str(p) for p in parts) or "<root>"


def rule_problems(doc: dict[str, Any], crd: CrdKind, facts: Facts) -> list[str]:
    return [p for rule in crd.rules for p in rule(doc, facts)]
