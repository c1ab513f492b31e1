"""What the OpenAPI document must say beyond what Litestar 2 generates from the routes.

Litestar drops three things the server does enforce, so the document would promise requests the server
refuses: an empty ``security`` (public operations need no credentials), the constraints of list items (each
keyword's length and pattern), and msgspec's ``extra_json_schema`` (``format: email``). Request bodies are
msgspec Structs, so their exact JSON Schema comes from msgspec, from the very declarations that validate
requests; this module copies the constraints Litestar left out into its document, once, when Litestar
builds it (Litestar's own private plugin state is used for that: the unit test of the document notices if
a Litestar upgrade changes it).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

import msgspec
from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import OpenAPI, Operation, PathItem, Reference, Schema
from litestar.openapi.spec.enums import OpenAPIFormat
from litestar.routes import HTTPRoute
from litestar.typing import FieldDefinition

_CONSTRAINTS: Final = {
    "minLength": "min_length",
    "maxLength": "max_length",
    "pattern": "pattern",
    "minimum": "minimum",
    "maximum": "maximum",
    "exclusiveMinimum": "exclusive_minimum",
    "exclusiveMaximum": "exclusive_maximum",
    "minItems": "min_items",
    "maxItems": "max_items",
    "uniqueItems": "unique_items",
    "description": "description",
}
"""JSON Schema keywords (as msgspec writes them) and the ``Schema`` fields Litestar holds them in."""


class _CompletingPlugin(OpenAPIPlugin):
    """Litestar's OpenAPI plugin, completing the document when it first builds it (on the first request
    for it: building it with every app would cost each one, and tests build hundreds, most of a tenth of a
    second)."""

    __slots__ = ()  # the same layout, so the app's plugin can become one

    def provide_openapi(self) -> OpenAPI:
        if not self._openapi:
            self._openapi = complete(self.app, self._build_openapi())
        return self._openapi


def complete_when_built(app: Litestar) -> None:
    """Have the app's OpenAPI document completed (see the module docstring) when Litestar builds it."""
    app.plugins.get(OpenAPIPlugin).__class__ = _CompletingPlugin


def complete(app: Litestar, document: OpenAPI) -> OpenAPI:
    """Add to ``document``, the app's OpenAPI document, what Litestar leaves out."""
    bodies: set[type[msgspec.Struct]] = set()
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        item = (document.paths or {}).get(route.path_format or "/")
        for handler in route.route_handlers:
            if not handler.resolve_include_in_schema() or item is None:
                continue
            if _public(handler):
                for operation in _operations(item, handler):
                    operation.security = []
            data = handler.parsed_fn_signature.parameters.get("data")
            if data is not None:
                bodies.update(_structs(data))
    components = document.components.schemas if document.components else None
    if bodies and components:
        _, declared = msgspec.json.schema_components(sorted(bodies, key=lambda t: t.__name__))
        for name, spec in declared.items():
            target = components.get(name)
            if isinstance(target, Schema):
                _merge(target, spec)
    return document


def _public(handler: HTTPRouteHandler) -> bool:
    """Operations anyone may call: ``opt["public"]`` (the access check ignores credentials there)."""
    return bool(handler.opt.get("public"))


def _operations(item: PathItem, handler: HTTPRouteHandler) -> Iterator[Operation]:
    for method in handler.http_methods:
        operation = getattr(item, method.lower(), None)
        if isinstance(operation, Operation):
            yield operation


def _structs(field: FieldDefinition) -> Iterator[type[msgspec.Struct]]:
    for candidate in (field.annotation, *(arg.annotation for arg in field.inner_types)):
        if isinstance(candidate, type) and issubclass(candidate, msgspec.Struct):
            yield candidate


def _merge(target: Schema, spec: Mapping[str, Any]) -> None:
    """Copy the constraints of ``spec`` (msgspec's JSON Schema) that ``target`` lacks, recursively."""
    for branch in spec.get("anyOf", ()):  # an optional field: Litestar puts the constraints on the field
        if branch.get("type") != "null":
            _merge(target, branch)
    for keyword, attribute in _CONSTRAINTS.items():
        if keyword in spec and getattr(target, attribute) is None:
            setattr(target, attribute, spec[keyword])
    if "format" in spec and target.format is None:
        target.format = OpenAPIFormat(spec["format"])
    items = spec.get("items")
    if isinstance(items, Mapping) and isinstance(target.items, Schema):
        _merge(target.items, items)
    for name, prop in spec.get("properties", {}).items():
        field = (target.properties or {}).get(name)
        if isinstance(field, Schema):
            _merge(field, prop)
        elif isinstance(field, Reference):
            continue  # another component: merged under its own name
