"""Etsy-style parameters (query strings and form bodies) parsed into values, or a 400 naming the parameter."""

from __future__ import annotations

import math
from typing import Any

from litestar import Request


class BadRequestError(Exception):
    """A request Etsy would refuse: answered as ``{"error": message}`` with ``status`` (400 unless told)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def to_int(raw: str, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise BadRequestError(f"Expected int for parameter '{name}', got '{raw}'") from None
    if minimum is not None and value < minimum:
        raise BadRequestError(f"Parameter '{name}' must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise BadRequestError(f"Parameter '{name}' must be at most {maximum}")
    return value


def to_float(raw: str, name: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise BadRequestError(f"Expected number for parameter '{name}', got '{raw}'") from None
    if not math.isfinite(value):
        raise BadRequestError(f"Parameter '{name}' must be a finite number")
    return value


def array_param(form: dict[str, list[str]], name: str) -> list[str]:
    """Array parameter given as repeated keys, comma-separated values, or both."""
    return [item.strip() for raw in form.get(name, []) for item in raw.split(",") if item.strip()]


def query_params(request: Request[Any, Any, Any]) -> dict[str, list[str]]:
    return {key: request.query_params.getall(key) for key in request.query_params}


def int_param(
    query: dict[str, list[str]],
    name: str,
    default: int | None,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int | None:
    values = query.get(name)
    if not values or values[0] == "":
        return default
    return to_int(values[0], name, minimum=minimum, maximum=maximum)


def float_param(query: dict[str, list[str]], name: str) -> float | None:
    values = query.get(name)
    if not values or values[0] == "":
        return None
    return to_float(values[0], name)
