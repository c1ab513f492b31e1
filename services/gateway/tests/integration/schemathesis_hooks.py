"""Schemathesis hooks for test_gateway_schemathesis (loaded through SCHEMATHESIS_HOOKS).

Each hook drops only generated requests that break a rule OpenAPI cannot state, so that the check that
would flag them (positive data acceptance) still runs on everything else.
"""

from __future__ import annotations

from typing import Any

import schemathesis

DEFAULT_TREND_SORT = "-created"


@schemathesis.hook
def filter_case(ctx: Any, case: Any) -> bool:
    """``GET /v1/trends``: a cursor continues the listing it came from, so it must have been made for the
    request's ``sort`` (its first ``~`` field). The pattern states each cursor's grammar, but no OpenAPI
    construct ties one parameter's value to another's; the server answers such a pair with 422."""
    query = case.query
    if case.operation.path != "/v1/trends" or not query:
        return True
    cursor = query.get("cursor")
    if not isinstance(cursor, str) or "~" not in cursor:
        return True
    return cursor.split("~", 1)[0] == query.get("sort", DEFAULT_TREND_SORT)
