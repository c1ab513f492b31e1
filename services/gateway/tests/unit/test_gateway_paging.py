"""The SQL of a keyset page: filters set, the position after the last page, one row more than asked."""

from __future__ import annotations

import pytest

from etsygen_gateway.adapters.paging import fetch_page, page_query

SELECT = "SELECT id FROM jobs"


def test_the_first_page_has_only_the_filters_that_are_set() -> None:
    sql, args, _ = page_query(
        SELECT,
        filters=[("owner_id = {}", "u1"), None, ("status = {}", "queued")],
        keyset=("created_at", "id"),
        descending=True,
        after=None,
        limit=20,
    )
    assert sql == (
        "SELECT id FROM jobs WHERE owner_id = $1 AND status = $2 ORDER BY created_at DESC, id DESC LIMIT $3"
    )
    assert args == ["u1", "queued", 21]


def test_a_later_page_continues_after_the_last_rows_keyset() -> None:
    sql, args, _ = page_query(
        SELECT,
        filters=[("owner_id = {}", "u1")],
        keyset=("score", "id"),
        descending=False,
        after=(0.5, "t9"),
        limit=10,
    )
    assert sql == (
        "SELECT id FROM jobs WHERE owner_id = $1 AND (score, id) > ($2, $3)"
        " ORDER BY score ASC, id ASC LIMIT $4"
    )
    assert args == ["u1", 0.5, "t9", 11]


def test_a_single_column_keyset_without_filters() -> None:
    sql, args, _ = page_query(
        SELECT, filters=[None, None], keyset=("id",), descending=True, after=(42,), limit=5
    )
    assert sql == "SELECT id FROM jobs WHERE id < $1 ORDER BY id DESC LIMIT $2"
    assert args == [42, 6]
    sql, args, _ = page_query(SELECT, filters=[], keyset=("id",), descending=True, after=None, limit=5)
    assert sql == "SELECT id FROM jobs ORDER BY id DESC LIMIT $1"
    assert args == [6]


def test_a_set_filter_with_a_null_value_is_kept() -> None:
    # A job filter whose id parses to nothing must match nothing, not be dropped.
    sql, args, _ = page_query(
        SELECT, filters=[("job_id = {}", None)], keyset=("id",), descending=True, after=None, limit=1
    )
    assert sql == "SELECT id FROM jobs WHERE job_id = $1 ORDER BY id DESC LIMIT $2"
    assert args == [None, 2]


async def test_a_page_is_the_limit_and_whether_more_follow() -> None:
    class Conn:
        async def fetch(self, sql: str, *args: object) -> list[int]:
            return [1, 2, 3]  # what the database had, up to the one row more than a page asked for

    query = page_query(SELECT, filters=[], keyset=("id",), descending=True, after=None, limit=2)
    assert await fetch_page(Conn(), query) == ([1, 2], True)
    query = page_query(SELECT, filters=[], keyset=("id",), descending=True, after=None, limit=3)
    assert await fetch_page(Conn(), query) == ([1, 2, 3], False)


def test_a_position_must_name_every_keyset_column() -> None:
    with pytest.raises(ValueError, match="2 values"):
        page_query(SELECT, filters=[], keyset=("created_at", "id"), descending=True, after=(1,), limit=1)
