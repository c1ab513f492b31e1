"""Keyset pages of a filtered list: the one query every list endpoint runs.

A page is ``SELECT ... WHERE <filters> AND (<keyset>) < (<last row's keyset>) ORDER BY <keyset> LIMIT n + 1``:
the filters a request set, the position after the previous page, and one row more than the page holds, so
whether another page follows is known without a count. Ordering on the keyset columns (a sort column, then
the id to break ties) is what the list indexes serve; each page is one index range scan (see
``domain.pagination`` for the cursors that carry the position).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

Filter = tuple[str, Any]
"""A condition with one ``{}`` where its parameter goes (``"status = {}"``), and its value."""


def given(condition: str, value: Any) -> Filter | None:
    """The filter ``condition`` on ``value``, or None (no filter) when the request left it unset (None)."""
    return None if value is None else (condition, value)


class PageQuery(NamedTuple):
    """The SQL of one page, its parameters, and the page's size."""

    sql: str
    args: list[Any]
    limit: int


def page_query(
    select: str,
    *,
    filters: Sequence[Filter | None],
    keyset: Sequence[str],
    descending: bool,
    after: Sequence[Any] | None,
    limit: int,
) -> PageQuery:
    """The query of one page: ``limit`` rows plus one, to tell whether more follow.

    Args:
        select: ``SELECT <columns> FROM <table>`` (fixed identifiers of ours, never request data).
        filters: conditions and their values, ANDed; None entries (filters not set) are left out.
        keyset: the ordering columns, the tie-breaking id last (``("created_at", "id")``, ``("id",)``).
        descending: newest (largest) first.
        after: the keyset values of the previous page's last row (None: the first page).
        limit: rows in a page.
    """
    where: list[str] = []
    args: list[Any] = []
    for entry in filters:
        if entry is not None:
            condition, value = entry
            args.append(value)
            where.append(condition.format(f"${len(args)}"))
    if after is not None:
        if len(after) != len(keyset):
            raise ValueError(f"a position needs {len(keyset)} values, one per keyset column")
        first = len(args) + 1
        args.extend(after)
        placeholders = [f"${i}" for i in range(first, len(args) + 1)]
        where.append(f"{_row(keyset)} {'<' if descending else '>'} {_row(placeholders)}")
    direction = "DESC" if descending else "ASC"
    args.append(limit + 1)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    order = ", ".join(f"{column} {direction}" for column in keyset)
    return PageQuery(f"{select}{clause} ORDER BY {order} LIMIT ${len(args)}", args, limit)


def _row(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"({', '.join(items)})"


async def fetch_page(conn: Any, query: PageQuery) -> tuple[list[Any], bool]:
    """The rows of one page and whether another page follows."""
    rows = await conn.fetch(query.sql, *query.args)
    return rows[: query.limit], len(rows) > query.limit
