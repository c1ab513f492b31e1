"""Gateway retention on generated old and young data: the dry run reports exactly what the real run then
removes, nothing younger than its window is touched, and archived jobs stay readable by id via the API."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from conftest import asgi_client, running_gateway
from gateway_testkit import TestUser, generated, make_user, project, scored, scraped

from etsygen_gateway.api.app import create_app
from etsygen_gateway.gateway import Gateway
from etsygen_gateway.service_layer.retention import apply_retention
from etsygen_gateway.settings import GatewaySettings

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)
# (table, key column): what each table holds before and after, to see exactly which rows went.
TABLES = [
    ("jobs", "id"),
    ("job_keywords", "job_id || '/' || keyword"),
    ("job_events", "id"),
    ("dead_letters", "id"),
    ("sessions", "encode(token_hash, 'hex')"),
    ("invitations", "encode(token_hash, 'hex')"),
    ("outbox", "id"),
    ("inbox", "event_id"),
    ("stage_results", "job_id"),
]


@pytest.fixture
async def uncached(settings_factory: Callable[..., GatewaySettings], pg_url: str) -> AsyncIterator[Gateway]:
    """A gateway without the read cache: a read after retention must come from the database."""
    settings = settings_factory(cache={"enabled": False, "local_ttl_s": 0})
    async with running_gateway(settings, pg_url, listen=False) as gw:
        yield gw


async def finished_job(gw: Gateway, client: httpx.AsyncClient, user: TestUser, days_ago: float) -> str:
    """A job that ran through every stage (keywords, outcomes, timeline) and finished ``days_ago``."""
    response = await client.post("/v1/jobs", json={"keywords": ["mug"]}, headers=user.headers)
    job_id = str(response.json()["id"])
    await project(gw, scraped(job_id, user.id, "mug"))
    await project(gw, scored(job_id, user.id, "mug"))
    await project(gw, generated(job_id, user.id, "mug"))
    async with gw.pool.acquire() as conn:
        status = await conn.fetchval(
            "UPDATE jobs SET finished_at = $2 WHERE id = $1 RETURNING status",
            uuid.UUID(job_id),
            NOW - timedelta(days=days_ago),
        )
    assert status == "succeeded"
    return job_id


async def old_and_young_rows(gw: Gateway, user: TestUser) -> None:
    """Dead letters, sessions, invitations, outbox, inbox and stage-result rows on both sides of their
    windows."""
    day = timedelta(days=1)
    async with gw.pool.acquire() as conn:
        for n, age in enumerate([31, 29]):  # GATEWAY_DEAD_LETTER_RETENTION_DAYS=30
            await conn.execute(
                """INSERT INTO dead_letters (original_topic, original_partition, original_offset,
                       consumer_group, dlq_partition, dlq_offset, headers, body, received_at)
                   VALUES ('etsygen.trends.scored.v1', 0, $1, 'g', 0, $1, '{}', '\\x00', $2)""",
                n,
                NOW - age * day,
            )
        for age in [1, -1]:  # sessions go when expired
            await conn.execute(
                """INSERT INTO sessions (token_hash, user_id, csrf_token, expires_at)
                   VALUES ($1, $2, 'c', $3)""",
                os.urandom(32),
                uuid.UUID(user.id),
                NOW - age * day,
            )
        for age in [31, 29]:  # invitations 30 days after they expired
            await conn.execute(
                """INSERT INTO invitations (token_hash, email, role, expires_at)
                   VALUES ($1, 'x@y.z', 'viewer', $2)""",
                os.urandom(32),
                NOW - age * day,
            )
        for sent_days_ago in [8, 6, None]:  # RETENTION_REDELIVERY_HORIZON_DAYS=7; pending rows stay
            await conn.execute(
                """INSERT INTO outbox (topic, headers, payload, created_at, sent_at)
                   VALUES ('t', '{}', '\\x00', $1, $2)""",
                NOW - 30 * day,
                None if sent_days_ago is None else NOW - sent_days_ago * day,
            )
        for n, age in enumerate([8, 6]):
            await conn.execute(
                "INSERT INTO inbox (consumer_group, event_id, topic, received_at) VALUES ('g', $1, 't', $2)",
                f"e{n}",
                NOW - age * day,
            )
            await conn.execute(
                "INSERT INTO stage_results (consumer_group, job_id, keyword, attempt, events, stored_at) "
                "VALUES ('g', $1, 'mug', 0, '[]', $2)",
                f"job-{n}",
                NOW - age * day,
            )


async def contents(gw: Gateway) -> dict[str, set[str]]:
    async with gw.pool.acquire() as conn:
        return {t: {str(r[0]) for r in await conn.fetch(f"SELECT {key} FROM {t}")} for t, key in TABLES}


async def test_retention_removes_exactly_what_its_dry_run_reported_and_archived_jobs_stay_readable(
    uncached: Gateway,
) -> None:
    gw = uncached
    alice = await make_user(gw, "alice@example.com")
    bob = await make_user(gw, "bob@example.com")
    async with asgi_client(create_app(gw)) as client:
        old = await finished_job(gw, client, alice, days_ago=31)
        old_of_bob = await finished_job(gw, client, bob, days_ago=45)
        young = await finished_job(gw, client, alice, days_ago=29)
        running = (await client.post("/v1/jobs", json={"keywords": ["cup"]}, headers=alice.headers)).json()
        async with gw.pool.acquire() as conn:  # an unfinished job, however old, is never archived
            await conn.execute(
                "UPDATE jobs SET created_at = $2 WHERE id = $1", uuid.UUID(running["id"]), NOW - timedelta(90)
            )
        await old_and_young_rows(gw, alice)
        detail_before = (await client.get(f"/v1/jobs/{old}", headers=alice.headers)).json()
        timeline_before = (await client.get(f"/v1/jobs/{old}/timeline", headers=alice.headers)).json()
        before = await contents(gw)

        dry = await apply_retention(gw.pool, gw.settings, now=NOW, dry_run=True)
        assert await contents(gw) == before, "a dry run removed something"
        real = await apply_retention(gw.pool, gw.settings, now=NOW, dry_run=False)
        after = await contents(gw)

        counts = {r.step: r.removed for r in real}
        assert {r.step: r.removed for r in dry} == counts
        assert [r.detail for r in dry] == [r.detail for r in real]
        assert counts == {
            "jobs_archived": 2,
            "dead_letters": 1,
            "sessions": 1,
            "invitations": 1,
            "outbox": 1,
            "inbox": 1,
            "stage_results": 1,
        }
        assert {t: len(before[t]) - len(after[t]) for t, _ in TABLES if before[t] != after[t]} == {
            "jobs": 2,
            "job_keywords": 2,
            "job_events": len(timeline_before["items"]) * 2,
            "dead_letters": 1,
            "sessions": 1,
            "invitations": 1,
            "outbox": 1,
            "inbox": 1,
            "stage_results": 1,
        }
        assert after["jobs"] == {young, running["id"]}
        assert all(after[t] <= before[t] for t, _ in TABLES)

        # Archived, yet GET /v1/jobs/{id} and the timeline answer as before, for the owner only.
        detail_after = await client.get(f"/v1/jobs/{old}", headers=alice.headers)
        assert detail_after.status_code == 200
        assert detail_after.json() == detail_before
        timeline_after = (await client.get(f"/v1/jobs/{old}/timeline", headers=alice.headers)).json()
        assert timeline_after == timeline_before
        assert (await client.get(f"/v1/jobs/{old}", headers=bob.headers)).status_code == 404
        assert (await client.get(f"/v1/jobs/{old_of_bob}", headers=bob.headers)).status_code == 200
        cancel = await client.post(f"/v1/jobs/{old}/cancel", headers=alice.headers)
        assert cancel.status_code == 409

        again = await apply_retention(gw.pool, gw.settings, now=NOW, dry_run=False)
        assert all(r.removed == 0 for r in again)


async def test_the_archive_tables_keep_every_column_of_the_live_ones(gateway: Gateway) -> None:
    async with gateway.pool.acquire() as conn:

        async def columns(table: str) -> set[Any]:
            rows = await conn.fetch(
                """SELECT column_name FROM information_schema.columns
                   WHERE table_schema = current_schema() AND table_name = $1""",
                table,
            )
            return {r[0] for r in rows}

        for table in ("jobs", "job_keywords", "job_events"):
            assert await columns(table) <= await columns(f"{table}_archive"), table
