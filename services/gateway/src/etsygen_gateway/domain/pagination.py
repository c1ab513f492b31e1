"""Keyset cursors: the ordering, the sort value and the id of the last item of a page, as ``sort~value~id``.

Keyset pagination stays correct while rows are inserted (no skipped or repeated items, unlike OFFSET) and
each page costs one index range scan. A cursor carries the sort it was made for, so a cursor from one
ordering cannot be replayed against another.

The grammar is regular and the API declares it as each cursor parameter's pattern: a creation time is
microseconds since the epoch and a score a decimal number, so every cursor that matches the pattern is a
position to continue from (the server refuses no cursor its document allows, save one made for another
ordering), and none can reach a query as a value it cannot use.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Final

import msgspec

from etsygen_gateway.domain.text import whole

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECONDS: Final = r"[0-9]{1,16}"
"""Microseconds since the epoch (16 digits reach the year 2286)."""
_SCORE: Final = r"-?[0-9]{1,20}(?:\.[0-9]{1,20})?(?:e[-+]?[0-9]{1,3})?"
"""What ``repr`` writes for a finite float."""
RESOURCE_ID: Final = r"[A-Za-z0-9_.:-]{1,64}"
"""The ids of trends and products (the path parameter's grammar)."""
UUID_ID: Final = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
"""The ids of jobs, as the API writes them."""
_ANY: Final = re.compile(r"^(-?(?:created|score))~")


class Cursor(msgspec.Struct, frozen=True):
    """Position after the last item returned: the ordering, its sort value and the item id."""

    sort: str
    value: float | datetime
    id: str


class CursorError(ValueError):
    """A cursor was malformed or made for a different ordering."""


def cursor_pattern(sorts: Iterable[str], ids: str = RESOURCE_ID) -> str:
    """The pattern of the cursors of ``sorts`` (``created``, ``-score``, ...) with ids matching ``ids``."""
    positions = "|".join(f"{sort}~{_SCORE if sort.endswith('score') else _MICROSECONDS}" for sort in sorts)
    return whole(f"(?:{positions})~{ids}")


def encode_cursor(cursor: Cursor) -> str:
    """The cursor as a URL-safe string."""
    value = cursor.value
    position = (
        str((value - EPOCH) // timedelta(microseconds=1)) if isinstance(value, datetime) else repr(value)
    )
    return f"{cursor.sort}~{position}~{cursor.id}"


def decode_cursor(token: str, sort: str, ids: str = RESOURCE_ID) -> Cursor:
    """Parse a cursor made for ``sort``.

    Raises:
        CursorError: the token does not match the grammar, or belongs to another ordering.
    """
    if re.search(cursor_pattern([sort], ids), token) is None:
        made_for = _ANY.match(token)
        if made_for is not None and made_for.group(1) != sort:
            raise CursorError("cursor was made for a different sort order")
        raise CursorError("cursor is not valid; use the next_cursor of a previous page")
    _, position, item = token.split("~")
    value = float(position) if sort.endswith("score") else EPOCH + timedelta(microseconds=int(position))
    return Cursor(sort=sort, value=value, id=item)
