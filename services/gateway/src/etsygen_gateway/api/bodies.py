"""JSON request bodies are checked against their declared types strictly.

Litestar 2 converts every parsed value into the handler's types with msgspec's lax rules, which suit query
and header values (text on the wire) but let a JSON body say ``0`` for ``false`` or ``"5"`` for ``5``,
which the OpenAPI document (``type: boolean``, ``type: integer``) says is not allowed. The request class
below checks the decoded body against the body type with strict rules first (with JSON Schema's notion of
an integer); what passes converts the same either way.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException


def _integral_floats_as_ints(value: Any) -> Any:
    """``285.0`` as ``285``: JSON Schema counts a number without a fractional part as an integer, as the
    lax conversion does (strict msgspec would not)."""
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, list):
        return [_integral_floats_as_ints(item) for item in value]
    if isinstance(value, dict):
        return {key: _integral_floats_as_ints(item) for key, item in value.items()}
    return value


class StrictJsonRequest(Request[Any, Any, Any]):
    """A request whose JSON body must have exactly the declared JSON types (see the module docstring)."""

    async def json(self) -> Any:
        value = await super().json()
        body = self.route_handler.parsed_fn_signature.parameters.get("data")
        if body is not None and value is not None:
            try:
                msgspec.convert(_integral_floats_as_ints(value), body.annotation, strict=True)
            except msgspec.ValidationError as exc:
                message = str(exc)
                _, at, path = message.rpartition(" - at `$")
                error = {"message": message, "source": "body"}
                if at:  # name the field as Litestar's own validation does: "keywords", "generation.enabled"
                    error["key"] = path.rstrip("`").lstrip(".")
                raise ValidationException(
                    "the request body does not match the API schema", extra=[error]
                ) from None
        return value
