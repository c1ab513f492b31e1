"""Research jobs through the API: one transaction with the outbox, idempotency, listing, cancelling."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from conftest import gateway_with
from gateway_testkit import TestUser

from etsygen_common.contracts import ResearchRequested
from etsygen_gateway.gateway import Gateway
from etsygen_gateway.service_layer import jobs as job_service

pytestmark = pytest.mark.integration


async def outbox(gw: Gateway, topic: str) -> list[Any]:
    async with gw.pool.acquire() as conn:
        return list(await conn.fetch("SELECT * FROM outbox WHERE topic = $1 ORDER BY id", topic))


async def test_a_job_is_accepted_with_its_keywords_and_its_event_in_one_go(
    client: Any, gateway: Gateway, alice: TestUser
) -> None:
    body = {"keywords": ["Custom  mug", "custom mug", "dog collar"], "generation": {"concepts_per_niche": 2}}
    response = await client.post("/v1/jobs", json=body, headers=alice.headers)
    assert response.status_code == 202
    job = response.json()
    assert response.headers["location"] == f"/v1/jobs/{job['id']}"
    assert job["status"] == "queued"
    assert job["keyword_count"] == 2

    rows = await outbox(gateway, "etsygen.research.requested.v1")
    assert len(rows) == 1
    event = msgspec.json.decode(rows[0]["payload"], type=ResearchRequested)
    assert event.job_id == job["id"]
    assert event.owner_id == alice.id
    assert event.keywords == ["Custom mug", "dog collar"]
    assert event.generation.concepts_per_niche == 2
    assert rows[0]["headers"]["ce_type"] == "etsygen.research.requested.v1"
    assert rows[0]["headers"]["ce_subject"] == job["id"]
    assert rows[0]["key"] == job["id"].encode()

    detail = (await client.get(response.headers["location"], headers=alice.headers)).json()
    assert [k["keyword"] for k in detail["keywords"]] == ["Custom mug", "dog collar"]
    assert detail["keywords"][0]["stages"] == {
        "scrape": "pending",
        "analyze": "pending",
        "generate": "pending",
    }
    timeline = (await client.get(f"/v1/jobs/{job['id']}/timeline", headers=alice.headers)).json()
    assert [e["kind"] for e in timeline["items"]] == ["job.accepted"]


async def test_nothing_is_stored_when_the_event_cannot_be_written(
    client: Any, gateway: Gateway, alice: TestUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken_enqueue(*_: Any) -> int:
        raise RuntimeError("outbox unavailable")

    monkeypatch.setattr(job_service, "enqueue", broken_enqueue)
    response = await client.post("/v1/jobs", json={"keywords": ["mug"]}, headers=alice.headers)
    assert response.status_code == 500
    assert response.json()["request_id"] == response.headers["x-request-id"]
    async with gateway.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM jobs") == 0
        assert await conn.fetchval("SELECT count(*) FROM job_keywords") == 0
    monkeypatch.undo()
    stored = await client.post("/v1/jobs", json={"keywords": ["mug"]}, headers=alice.headers)
    assert '"ai";r=19;' in stored.headers["ratelimit"]  # the job that was not stored gave its concept back


async def test_a_repeated_idempotency_key_returns_the_first_job(
    client: Any, gateway: Gateway, alice: TestUser
) -> None:
    headers = {**alice.headers, "Idempotency-Key": "order-42"}
    first = await client.post("/v1/jobs", json={"keywords": ["mug"]}, headers=headers)
    second = await client.post("/v1/jobs", json={"keywords": ["other"]}, headers=headers)
    assert first.json()["id"] == second.json()["id"]
    assert len(await outbox(gateway, "etsygen.research.requested.v1")) == 1


async def test_invalid_jobs_are_refused_with_problems(client: Any, alice: TestUser) -> None:
    empty = await client.post("/v1/jobs", json={"keywords": []}, headers=alice.headers)
    assert empty.status_code == 400
    assert empty.json()["errors"][0]["key"] == "keywords"
    # A keyword's rules are declared in the document, so request validation refuses what breaks them (400).
    for keyword in ("   ", "k" * 121, "mug\u0000", "mug\ttea"):
        refused = await client.post("/v1/jobs", json={"keywords": [keyword]}, headers=alice.headers)
        assert refused.status_code == 400, keyword
        assert refused.json()["errors"][0]["source"] == "body"
    spaced = await client.post("/v1/jobs", json={"keywords": [" coffee   mug "]}, headers=alice.headers)
    assert spaced.status_code == 202
    assert spaced.json()["keyword_count"] == 1
    unknown = await client.post(
        "/v1/jobs", json={"keywords": ["x"], "from_the_future": 1}, headers=alice.headers
    )
    assert unknown.status_code == 202  # a tolerant reader ignores fields it does not know
    too_many = await client.post(
        "/v1/jobs", json={"keywords": [f"k{i}" for i in range(51)]}, headers=alice.headers
    )
    assert too_many.status_code == 400


async def test_jobs_are_listed_newest_first_with_cursors_and_filters(
    client: Any, gateway: Gateway, alice: TestUser
) -> None:
    ids = [
        (await client.post("/v1/jobs", json={"keywords": [f"k{i}"]}, headers=alice.headers)).json()["id"]
        for i in range(5)
    ]
    await client.post(f"/v1/jobs/{ids[0]}/cancel", headers=alice.headers)

    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/jobs", params=params, headers=alice.headers)).json()
        seen += [j["id"] for j in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))

    cancelled = (await client.get("/v1/jobs", params={"status": "cancelled"}, headers=alice.headers)).json()
    assert [j["id"] for j in cancelled["items"]] == [ids[0]]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    later = await client.get("/v1/jobs", params={"created_after": future}, headers=alice.headers)
    assert later.json()["items"] == []
    bad = await client.get("/v1/jobs", params={"cursor": "garbage"}, headers=alice.headers)
    assert bad.status_code == 400  # the cursor grammar is declared: request validation refuses it
    # A cursor of the declared grammar is a position, wherever it points: the page after it.
    far = await client.get(
        "/v1/jobs", params={"cursor": "created~0~00000000-0000-0000-0000-000000000000"}, headers=alice.headers
    )
    assert far.status_code == 200
    assert far.json()["items"] == []
    early = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    since = await client.get("/v1/jobs", params={"created_after": early}, headers=alice.headers)
    assert since.json()["items"]
    for instant in ("0.5", "2026-02-30T00:00:00Z", "2026-01-01"):
        refused = await client.get("/v1/jobs", params={"created_after": instant}, headers=alice.headers)
        assert refused.status_code in (400, 422), instant


async def test_a_job_is_cancelled_once(client: Any, alice: TestUser) -> None:
    job = (await client.post("/v1/jobs", json={"keywords": ["mug"]}, headers=alice.headers)).json()
    cancelled = await client.post(f"/v1/jobs/{job['id']}/cancel", headers=alice.headers)
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    again = await client.post(f"/v1/jobs/{job['id']}/cancel", headers=alice.headers)
    assert again.status_code == 409
    detail = (await client.get(f"/v1/jobs/{job['id']}", headers=alice.headers)).json()
    assert detail["job"]["status"] == "cancelled"  # the cached detail was invalidated


def ai_limited(settings_factory: Any, pg_url: str) -> gateway_with:
    """A gateway whose AI tier is 10 concepts an hour."""
    return gateway_with(settings_factory(rate={"ai_limit": 10, "ai_window_s": 3600}), pg_url)


def job(keywords: int, concepts: int = 1, *, enabled: bool = True) -> dict[str, Any]:
    return {
        "keywords": [f"niche {i}" for i in range(keywords)],
        "generation": {"enabled": enabled, "concepts_per_niche": concepts},
    }


async def test_a_job_that_asks_for_concepts_spends_the_ai_tier_by_them(
    settings_factory: Any, pg_url: str
) -> None:
    async with ai_limited(settings_factory, pg_url) as (gw, client, alice):
        first = await client.post("/v1/jobs", json=job(3, 2), headers=alice.headers)
        assert first.status_code == 202
        assert '"ai";r=4;' in first.headers["ratelimit"]  # 3 keywords x 2 concepts of 10
        assert '"api";r=99;' in first.headers["ratelimit"]

        refused = await client.post("/v1/jobs", json=job(3, 2), headers=alice.headers)
        assert refused.status_code == 429
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["detail"] == (
            "this job may generate 6 concepts (3 keywords x 2 per keyword), but only 4 of your AI budget of "
            "10 per 60 minutes are left; enough for this job in 12 minutes, the whole budget in 36 minutes. "
            "Submit fewer keywords or concepts per keyword, or set generation.enabled to false"
        )
        assert int(refused.headers["retry-after"]) == 720  # two more concepts, one every 6 minutes
        assert refused.headers["x-ratelimit-limit"] == "10"
        assert refused.headers["x-ratelimit-remaining"] == "4"

        exact = await client.post("/v1/jobs", json=job(2, 2), headers=alice.headers)
        assert exact.status_code == 202  # what is left fits
        assert '"ai";r=0;' in exact.headers["ratelimit"]
        generate = await client.post(f"/v1/trends/{uuid.uuid4()}/generate", headers=alice.headers)
        assert generate.status_code == 429  # the same AI budget as a single generation
        async with gw.pool.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM jobs") == 2  # the refused job was not stored


async def test_a_job_without_generation_spends_no_ai_budget(settings_factory: Any, pg_url: str) -> None:
    async with ai_limited(settings_factory, pg_url) as (_, client, alice):
        for body in (job(20, 1, enabled=False), job(20, 0)):
            response = await client.post("/v1/jobs", json=body, headers=alice.headers)
            assert response.status_code == 202
            assert '"ai"' not in response.headers["ratelimit-policy"]
        full = await client.post("/v1/jobs", json=job(10), headers=alice.headers)
        assert full.status_code == 202  # the whole budget was still there
        assert '"ai";r=0;' in full.headers["ratelimit"]


async def test_a_job_needing_more_than_the_whole_ai_budget_is_refused_outright(
    settings_factory: Any, pg_url: str
) -> None:
    async with ai_limited(settings_factory, pg_url) as (_, client, alice):
        response = await client.post("/v1/jobs", json=job(6, 2), headers=alice.headers)
        assert response.status_code == 422  # no wait would ever help: no 429, no Retry-After
        assert "retry-after" not in response.headers
        assert response.json()["detail"] == (
            "this job may generate 12 concepts (6 keywords x 2 per keyword), more than the AI budget ever "
            "allows (10 per 60 minutes); submit at most 5 keywords with 2 concepts each, fewer concepts per "
            "keyword, or set generation.enabled to false"
        )
        after = await client.post("/v1/jobs", json=job(1), headers=alice.headers)
        assert '"ai";r=9;' in after.headers["ratelimit"]  # the refused job spent nothing


async def test_a_replayed_job_spends_no_ai_budget_again(settings_factory: Any, pg_url: str) -> None:
    async with ai_limited(settings_factory, pg_url) as (_, client, alice):
        headers = {**alice.headers, "Idempotency-Key": "once"}
        first = await client.post("/v1/jobs", json=job(4), headers=headers)
        again = await client.post("/v1/jobs", json=job(4), headers=headers)
        assert first.json()["id"] == again.json()["id"]
        assert '"ai"' not in again.headers["ratelimit-policy"]
        after = await client.post("/v1/jobs", json=job(1), headers=alice.headers)
        assert '"ai";r=5;' in after.headers["ratelimit"]  # 10 - 4 - 1: the replay spent nothing


async def test_concurrent_jobs_cannot_together_take_more_than_is_left(
    settings_factory: Any, pg_url: str
) -> None:
    async with ai_limited(settings_factory, pg_url) as (_, client, alice):
        responses = await asyncio.gather(
            *(client.post("/v1/jobs", json=job(3), headers=alice.headers) for _ in range(5))
        )
        assert sorted(r.status_code for r in responses) == [202] * 3 + [429] * 2
