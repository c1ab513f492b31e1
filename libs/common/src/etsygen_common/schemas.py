"""JSON Schemas of the event contracts, exported into the repo and checked for compatible evolution.

``etsygen schemas export`` writes ``schemas/events/<topic>.json``. The compatibility rule within a topic
version: a new schema may add optional properties only. Removing a property, making one required, or
changing a property's type is a breaking change and needs a new topic version.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec

from etsygen_common.contracts import TOPICS


def event_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema of each topic's body, keyed by topic name."""
    out: dict[str, dict[str, Any]] = {}
    for name, topic in sorted(TOPICS.items()):
        if topic.body is None:
            continue
        schema = msgspec.json.schema(topic.body)
        schema["$id"] = f"https://etsygen.dev/schemas/{name}.json"
        schema["title"] = name
        schema["description"] = topic.description
        out[name] = schema
    return out


def render(schema: dict[str, Any]) -> str:
    """Stable text form of a schema."""
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def export(directory: Path) -> list[Path]:
    """Write every schema into ``directory``; return the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in event_schemas().items():
        path = directory / f"{name}.json"
        path.write_text(render(schema))
        written.append(path)
    return written


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref and ref.startswith("#/$defs/"):
        resolved: dict[str, Any] = root["$defs"][ref.split("/")[-1]]
        return resolved
    return schema


def _type_sig(schema: dict[str, Any], root: dict[str, Any]) -> Any:
    schema = _resolve(schema, root)
    if "anyOf" in schema:
        return sorted(json.dumps(_type_sig(s, root), sort_keys=True) for s in schema["anyOf"])
    if "enum" in schema:
        return {"enum": sorted(map(str, schema["enum"]))}
    if schema.get("type") == "array":
        return {"array": _type_sig(schema.get("items", {}), root)}
    return schema.get("type", "object" if "properties" in schema else "any")


def breaking_changes(old: dict[str, Any], new: dict[str, Any], path: str = "$") -> list[str]:
    """List changes from ``old`` to ``new`` that break consumers of the same topic version."""
    problems: list[str] = []
    old_root, new_root = old, new

    def walk(o: dict[str, Any], n: dict[str, Any], where: str) -> None:
        o, n = _resolve(o, old_root), _resolve(n, new_root)
        o_props, n_props = o.get("properties", {}), n.get("properties", {})
        problems.extend(f"{where}.{prop}: removed" for prop in o_props if prop not in n_props)
        new_required = set(n.get("required", [])) - set(o.get("required", []))
        problems.extend(f"{where}.{prop}: now required" for prop in sorted(new_required))
        for prop, o_schema in o_props.items():
            if prop not in n_props:
                continue
            n_schema = n_props[prop]
            o_sig, n_sig = _type_sig(o_schema, old_root), _type_sig(n_schema, new_root)
            if o_sig != n_sig and not _widened(o_sig, n_sig):
                problems.append(f"{where}.{prop}: type changed from {o_sig} to {n_sig}")
            o_r, n_r = _resolve(o_schema, old_root), _resolve(n_schema, new_root)
            if "properties" in o_r and "properties" in n_r:
                walk(o_r, n_r, f"{where}.{prop}")
            if o_r.get("type") == "array" and n_r.get("type") == "array":
                oi, ni = _resolve(o_r.get("items", {}), old_root), _resolve(n_r.get("items", {}), new_root)
                if "properties" in oi and "properties" in ni:
                    walk(oi, ni, f"{where}.{prop}[]")

    walk(old, new, path)
    return problems


def _widened(old: Any, new: Any) -> bool:
    """An enum that gained values, or a type that became nullable, still accepts every old document."""
    if isinstance(old, dict) and isinstance(new, dict) and "enum" in old and "enum" in new:
        return set(old["enum"]) <= set(new["enum"])
    if isinstance(new, list):
        return json.dumps(old, sort_keys=True) in new
    return False


def check(directory: Path) -> list[str]:
    """Compare the code's schemas with those in ``directory``: breaking changes and stale files."""
    problems: list[str] = []
    for name, schema in event_schemas().items():
        path = directory / f"{name}.json"
        if not path.exists():
            problems.append(f"{name}: no checked-in schema (run `etsygen schemas export`)")
            continue
        old = json.loads(path.read_text())
        problems.extend(f"{name}: {p}" for p in breaking_changes(old, schema))
        if render(old) != render(schema) and not breaking_changes(old, schema):
            problems.append(f"{name}: compatible change not exported (run `etsygen schemas export`)")
    return problems
