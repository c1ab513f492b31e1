"""Stalled jobs: a keyword without progress is re-driven a bounded number of times, then failed with a
reason the user can read; keywords that progress are left alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from gateway_testkit import TestUser, project, scraped

from etsygen_common.contracts import KeywordWaiting, ResearchRequested
from etsygen_gateway.domain.deadlines import Pace
from etsygen_gateway.gateway import Gateway
from etsygen_gateway.service_layer.stalls import sweep_stalled

pytestmark = pytest.mark.integration

PACE = Pace(ceiling_s=600)


async def _age(gw: Gateway, job_id: str, keyword: str, seconds: int) -> None:
    async with gw.pool.acquire() as conn:
        await conn.execute(
            "UPDATE job_keywords SET updated_at = now() - make_interval(secs => $3) "
            "WHERE job_id = $1::uuid AND keyword = $2",
            job_id,
            keyword,
            float(seconds),
        )


async def test_a_stalled_keyword_is_redriven_then_failed_with_a_readable_reason(
    client: Any, gateway: Gateway, alice: TestUser
) -> None:
    body = {"keywords": ["boho wall art", "soy candle"], "generation": {"concepts_per_niche": 1}}
    job = (await client.post("/v1/jobs", json=body, headers=alice.headers)).json()
    await _age(gateway, job["id"], "boho wall art", 3600)  # "soy candle" made progress just now

    first = await sweep_stalled(gateway.pool, pace=PACE, max_redrives=1)
    assert first.redriven == [(job["id"], "boho wall art")]
    assert first.failed == []
    async with gateway.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT payload, headers FROM outbox WHERE topic = 'etsygen.research.requested.v1' ORDER BY id"
        )
    assert len(rows) == 2  # the job's own request, then the re-drive of the one stalled keyword
    redrive = msgspec.json.decode(rows[1]["payload"], type=ResearchRequested)
    assert redrive.keywords == ["boho wall art"]
    assert redrive.attempt == 1
    assert redrive.job_id == job["id"]
    assert rows[1]["headers"]["ce_id"] != rows[0]["headers"]["ce_id"]

    # A sweep right after finds nothing: the re-drive counts as progress.
    assert await sweep_stalled(gateway.pool, pace=PACE, max_redrives=1) == type(first)(redriven=[], failed=[])

    await _age(gateway, job["id"], "boho wall art", 3600)
    second = await sweep_stalled(gateway.pool, pace=PACE, max_redrives=1)
    assert second.failed == [(job["id"], "boho wall art")]
    detail = (await client.get(f"/v1/jobs/{job['id']}", headers=alice.headers)).json()
    stalled = next(k for k in detail["keywords"] if k["keyword"] == "boho wall art")
    assert stalled["status"] == "failed"
    assert "no progress for 60.0 min after 1 re-drive" in stalled["error"]
    assert detail["job"]["status"] == "running"  # the other keyword is still under way

    await _age(gateway, job["id"], "soy candle", 3600)
    await _age(gateway, job["id"], "soy candle", 3600)
    await sweep_stalled(gateway.pool, pace=PACE, max_redrives=0)
    detail = (await client.get(f"/v1/jobs/{job['id']}", headers=alice.headers)).json()
    assert detail["job"]["status"] == "failed"
    assert detail["job"]["finished_at"] is not None
    timeline = (await client.get(f"/v1/jobs/{job['id']}/timeline", headers=alice.headers)).json()
    kinds = [e["kind"] for e in timeline["items"]]
    assert "keyword.redriven" in kinds
    assert "keyword.stalled" in kinds
    assert kinds[-1] == "job.finished"


def waiting(job_id: str, owner: str, keyword: str, *, stage: str = "scrape", in_s: float = 3600) -> Any:
    return KeywordWaiting(
        job_id=job_id,
        owner_id=owner,
        keyword=keyword,
        stage=stage,  # type: ignore[arg-type]
        reason="daily_budget",
        detail="Etsy daily budget used up",
        resume_at=datetime.now(UTC) + timedelta(seconds=in_s),
    )


async def _waiting_of(client: Any, user: TestUser, job_id: str) -> Any:
    detail = (await client.get(f"/v1/jobs/{job_id}", headers=user.headers)).json()
    return detail["keywords"][0]["waiting"]


async def test_a_waiting_keyword_shows_why_and_is_not_redriven_before_it_resumes(
    client: Any, gateway: Gateway, alice: TestUser
) -> None:
    job = (await client.post("/v1/jobs", json={"keywords": ["soy candle"]}, headers=alice.headers)).json()
    notice = waiting(job["id"], alice.id, "soy candle")
    await project(gateway, notice)
    shown = await _waiting_of(client, alice, job["id"])
    assert shown["reason"] == "daily_budget"
    assert shown["detail"] == "Etsy daily budget used up"
    assert datetime.fromisoformat(shown["resume_at"]) == notice.resume_at
    timeline = (await client.get(f"/v1/jobs/{job['id']}/timeline", headers=alice.headers)).json()
    assert timeline["items"][-1]["kind"] == "keyword.waiting"

    # An hour without progress is past the flat ceiling, but the keyword waits for a known reason.
    await _age(gateway, job["id"], "soy candle", 3600)
    assert (await sweep_stalled(gateway.pool, pace=PACE, max_redrives=1)).redriven == []

    # The resume time and its margin have passed without progress: now it is stalled.
    async with gateway.pool.acquire() as conn:
        await conn.execute(
            "UPDATE job_keywords SET resume_at = now() - make_interval(secs => $2) WHERE job_id = $1::uuid",
            job["id"],
            PACE.margin_s + 1,
        )
    swept = await sweep_stalled(gateway.pool, pace=PACE, max_redrives=1)
    assert swept.redriven == [(job["id"], "soy candle")]
    assert await _waiting_of(client, alice, job["id"]) is None  # the re-drive is a fresh start


async def test_progress_clears_the_waiting_reason_and_a_late_notice_is_ignored(
    client: Any, gateway: Gateway, alice: TestUser
) -> None:
    job = (await client.post("/v1/jobs", json={"keywords": ["soy candle"]}, headers=alice.headers)).json()
    await project(gateway, waiting(job["id"], alice.id, "soy candle"))
    assert await _waiting_of(client, alice, job["id"]) is not None
    await project(gateway, scraped(job["id"], alice.id, "soy candle"))
    assert await _waiting_of(client, alice, job["id"]) is None
    # The scraper's notice arrives after the scrape's result: the keyword has left that stage.
    await project(gateway, waiting(job["id"], alice.id, "soy candle"))
    assert await _waiting_of(client, alice, job["id"]) is None
    # A notice whose resume time has passed already says nothing either.
    await project(gateway, waiting(job["id"], alice.id, "soy candle", stage="analyze", in_s=-5))
    assert await _waiting_of(client, alice, job["id"]) is None
    await project(gateway, waiting(job["id"], alice.id, "soy candle", stage="analyze"))
    assert (await _waiting_of(client, alice, job["id"]))["reason"] == "daily_budget"
