"""The hot queries can use their indexes (with sequential scans off, the planner must find one)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from etsygen_gateway.gateway import Gateway

pytestmark = pytest.mark.integration

OWNER = str(uuid.uuid4())
HOT_QUERIES = {
    "jobs_owner_created_idx": (
        "SELECT id FROM jobs WHERE owner_id = $1 ORDER BY created_at DESC, id DESC LIMIT 21",
        [OWNER],
    ),
    "jobs_owner_status_created_idx": (
        "SELECT id FROM jobs WHERE owner_id = $1 AND status = 'running' "
        "ORDER BY created_at DESC, id DESC LIMIT 21",
        [OWNER],
    ),
    "trends_owner_score_idx": (
        "SELECT id FROM trends WHERE owner_id = $1 ORDER BY score DESC, id DESC LIMIT 21",
        [OWNER],
    ),
    # The trends list: one row per keyword, its latest run.
    "trends_owner_latest_created_idx": (
        "SELECT id FROM trends WHERE owner_id = $1 AND latest ORDER BY created_at DESC, id DESC LIMIT 21",
        [OWNER],
    ),
    "trends_owner_latest_score_idx": (
        "SELECT id FROM trends WHERE owner_id = $1 AND latest ORDER BY score DESC, id DESC LIMIT 21",
        [OWNER],
    ),
    "trends_owner_keyword_idx": (
        "SELECT id FROM trends WHERE owner_id = $1 AND lower(keyword) = lower('mug') "
        "ORDER BY created_at DESC",
        [OWNER],
    ),
    "products_owner_created_idx": (
        "SELECT id FROM products WHERE owner_id = $1 ORDER BY created_at DESC, id DESC LIMIT 21",
        [OWNER],
    ),
    "job_events_job_idx": ("SELECT id FROM job_events WHERE job_id = $1 AND id > 0 ORDER BY id", [OWNER]),
    "api_keys_lookup_key": ("SELECT id FROM api_keys WHERE lookup = 'abc'", []),
    "dead_letters_status_idx": (
        "SELECT id FROM dead_letters WHERE status = 'pending' ORDER BY id DESC LIMIT 51",
        [],
    ),
    # Retention: the jobs due for the archive, and an archived job's timeline.
    "jobs_finished_idx": (
        "SELECT id FROM jobs WHERE finished_at IS NOT NULL AND finished_at < now() "
        "AND status = ANY('{succeeded,failed}'::text[]) ORDER BY finished_at LIMIT 100",
        [],
    ),
    "job_events_archive_job_idx": (
        "SELECT id FROM job_events_archive WHERE job_id = $1 AND id > 0 ORDER BY id",
        [OWNER],
    ),
}


ALTERNATIVES = {"jobs_owner_created_idx": {"jobs_owner_status_created_idx"}}
"""Equally good for the planner on an empty table: both lead with the owner and order by creation."""


@pytest.mark.parametrize("index", sorted(HOT_QUERIES))
async def test_hot_query_uses_its_index(gateway: Gateway, index: str) -> None:
    sql, args = HOT_QUERIES[index]
    async with gateway.pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")
        plan: Any = await conn.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *args)
    used = set(re.findall(r"'Index Name': '(\w+)'", str(plan)))
    assert used, plan
    assert index in used or used & ALTERNATIVES.get(index, set()), (index, used)
