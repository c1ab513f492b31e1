"""Opaque keyset cursors: the sort value and id of the last item of a page, base64url-encoded JSON.

Keyset pagination stays correct while rows are inserted (no skipped or repeated items, unlike OFFSET) and
each page costs one index range scan. A cursor carries the sort it was made for, so a cursor from one
ordering cannot be replayed against another.
"""

from __future__ import annotations

import base64
import binascii

import msgspec


class Cursor(msgspec.Struct, frozen=True, array_like=True):
    """Position after the last item returned: the ordering, its sort value and the item id."""

    sort: str
    value: float | str
    id: str


class CursorError(ValueError):
    """A cursor was malformed or made for a different ordering."""


def encode_cursor(cursor: Cursor) -> str:
    """The cursor as an opaque URL-safe string."""
    return base64.urlsafe_b64encode(msgspec.json.encode(cursor)).decode().rstrip("=")


def decode_cursor(token: str, sort: str) -> Cursor:
    """Parse a cursor made for ``sort``.

    Raises:
        CursorError: the token does not decode, or belongs to another ordering.
    """
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        cursor = msgspec.json.decode(raw, type=Cursor)
    except (binascii.Error, ValueError, msgspec.DecodeError) as exc:
        raise CursorError("cursor is not valid; use the next_cursor of a previous page") from exc
    if cursor.sort != sort:
        raise CursorError("cursor was made for a different sort order")
    return cursor
