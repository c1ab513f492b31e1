"""Event contracts: the checked-in JSON Schemas match the code, and incompatible changes are caught."""

from __future__ import annotations

import copy
from pathlib import Path

from etsygen_common.schemas import breaking_changes, check, event_schemas

REPO = Path(__file__).resolve().parents[4]


def test_checked_in_schemas_match_the_contracts() -> None:
    assert check(REPO / "schemas" / "events") == []


def test_every_topic_with_a_body_has_a_schema() -> None:
    names = set(event_schemas())
    assert "etsygen.research.requested.v1" in names
    assert "etsygen.products.generated.v1" in names
    assert "etsygen.deadletter.v1" not in names  # its body is the failed record, unchanged


def _schema() -> dict:
    return copy.deepcopy(event_schemas()["etsygen.research.requested.v1"])


def _body(schema: dict) -> dict:
    return schema["$defs"]["ResearchRequested"]


def test_adding_an_optional_field_is_compatible() -> None:
    old, new = _schema(), _schema()
    _body(new)["properties"]["note"] = {"type": "string", "default": ""}
    assert breaking_changes(old, new) == []


def test_removing_a_field_is_breaking() -> None:
    old, new = _schema(), _schema()
    del _body(new)["properties"]["listing_budget"]
    assert any("listing_budget: removed" in p for p in breaking_changes(old, new))


def test_adding_a_required_field_is_breaking() -> None:
    old, new = _schema(), _schema()
    _body(new)["properties"]["region"] = {"type": "string"}
    _body(new)["required"].append("region")
    assert any("region: now required" in p for p in breaking_changes(old, new))


def test_changing_a_type_is_breaking() -> None:
    old, new = _schema(), _schema()
    _body(new)["properties"]["job_id"] = {"type": "integer"}
    assert any("job_id: type changed" in p for p in breaking_changes(old, new))


def test_narrowing_an_enum_is_breaking_and_widening_is_not() -> None:
    old = _schema()
    gen = old["$defs"]["GenerationOptions"]["properties"]["max_risk"]
    assert "enum" in gen
    narrowed, widened = _schema(), _schema()
    narrowed["$defs"]["GenerationOptions"]["properties"]["max_risk"]["enum"] = ["low"]
    widened["$defs"]["GenerationOptions"]["properties"]["max_risk"]["enum"] = [*gen["enum"], "extreme"]
    assert breaking_changes(old, narrowed)
    assert breaking_changes(old, widened) == []
