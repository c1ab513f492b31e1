"""Projections: events move keywords through their stages, finish jobs, and fill the read models."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from gateway_testkit import (
    TestUser,
    generated,
    job_detail,
    new_job,
    project,
    rejected,
    scored,
    scraped,
)

from etsygen_common.contracts import ListingPublished, TrendScored
from etsygen_common.kafka import FatalError
from etsygen_common.testing.plugin import wait_until
from etsygen_gateway.gateway import Gateway

pytestmark = pytest.mark.integration


async def test_a_job_runs_through_every_stage_and_finishes(
    client: Any, gateway: Gateway, alice: TestUser
) -> None:
    job_id = await new_job(client, alice, ["mug", "collar"])
    await project(gateway, scraped(job_id, alice.id, "mug"))
    detail = await job_detail(client, alice, job_id)  # also warms the cache the next events must invalidate
    assert detail["job"]["status"] == "running"
    assert detail["keywords"][0]["stages"]["scrape"] == "ok"

    trend = scored(job_id, alice.id, "mug")
    await project(gateway, trend)
    await project(gateway, generated(job_id, alice.id, "mug", index=0, expected=2))
    await project(gateway, rejected(job_id, alice.id, "mug", "score_too_low", index=1, expected=2))
    await project(gateway, scraped(job_id, alice.id, "collar", ok=False))
    await project(gateway, rejected(job_id, alice.id, "collar", "upstream_failed"))

    detail = await job_detail(client, alice, job_id)
    mug, collar = detail["keywords"]
    assert mug["status"] == "succeeded"
    assert mug["stages"] == {"scrape": "ok", "analyze": "ok", "generate": "ok"}
    assert (mug["generated"], mug["rejected"], mug["expected_concepts"]) == (1, 1, 2)
    assert mug["trend_id"] == trend.snapshot_id
    assert collar["status"] == "failed"
    assert collar["error"] == "marketplace unreachable"
    assert detail["job"]["status"] == "partially_failed"
    assert detail["job"]["keywords_finished"] == 2
    assert detail["job"]["finished_at"] is not None
    kinds = [
        e["kind"]
        for e in (await client.get(f"/v1/jobs/{job_id}/timeline", headers=alice.headers)).json()["items"]
    ]
    assert kinds[0] == "job.accepted"
    # The job finished when the collar's scrape failed; the generator's late rejection is still recorded.
    assert kinds[-2:] == ["job.finished", "product.rejected"]
    assert kinds.count("product.generated") == 1


async def test_a_redelivered_outcome_is_counted_once(client: Any, gateway: Gateway, alice: TestUser) -> None:
    job_id = await new_job(client, alice, ["mug"])
    outcome = generated(job_id, alice.id, "mug", index=0, expected=2)
    await project(gateway, scored(job_id, alice.id, "mug"))
    await project(gateway, outcome)
    await project(gateway, outcome)  # same concept again (a replay with a new event id)
    mug = (await job_detail(client, alice, job_id))["keywords"][0]
    assert (mug["generated"], mug["status"]) == (1, "running")


async def test_every_keyword_failing_fails_the_job(client: Any, gateway: Gateway, alice: TestUser) -> None:
    job_id = await new_job(client, alice, ["mug"])
    await project(gateway, scored(job_id, alice.id, "mug", ok=False))
    detail = await job_detail(client, alice, job_id)
    assert detail["job"]["status"] == "failed"
    assert detail["keywords"][0]["stages"]["analyze"] == "failed"


async def test_trends_are_listed_filtered_sorted_and_explained(
    client: Any, gateway: Gateway, alice: TestUser
) -> None:
    job_id = await new_job(client, alice, ["mug", "collar", "poster"])
    first = scored(job_id, alice.id, "mug", score=0.4, risk="high")
    await project(gateway, first)
    await project(gateway, scored(job_id, alice.id, "collar", score=0.9, risk="low"))
    await project(gateway, scored(job_id, alice.id, "poster", score=0.6, risk="low"))
    again = scored(job_id, alice.id, "Mug", score=0.5, risk="medium")
    await project(gateway, again)

    # One row per keyword (its latest run), case-insensitively; the job's own list has every run of it.
    page = (await client.get("/v1/trends", params={"sort": "-score"}, headers=alice.headers)).json()
    assert [(t["keyword"], t["score"], t["runs"]) for t in page["items"]] == [
        ("collar", 0.9, 1),
        ("poster", 0.6, 1),
        ("Mug", 0.5, 2),
    ]
    of_job = {"job_id": job_id, "sort": "-score"}
    page = (await client.get("/v1/trends", params=of_job, headers=alice.headers)).json()
    assert [t["score"] for t in page["items"]] == [0.9, 0.6, 0.5, 0.4]
    low = (
        await client.get("/v1/trends", params={"risk": "low", "min_score": 0.7}, headers=alice.headers)
    ).json()
    assert [t["keyword"] for t in low["items"]] == ["collar"]
    mugs = (await client.get("/v1/trends", params={"keyword": "MUG"}, headers=alice.headers)).json()
    assert [(t["id"], t["runs"]) for t in mugs["items"]] == [(again.snapshot_id, 2)]
    mugs = (
        await client.get("/v1/trends", params={"keyword": "MUG", "job_id": job_id}, headers=alice.headers)
    ).json()
    assert len(mugs["items"]) == 2
    for params, expected in (({}, [[0.5, 0.6, 0.9]]), ({"job_id": job_id}, [[0.4, 0.5, 0.6], [0.9]])):
        pages = []
        cursor = None
        while True:
            query = {"sort": "score", "limit": 3, **params, **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/v1/trends", params=query, headers=alice.headers)).json()
            pages.append([t["score"] for t in page["items"]])
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert pages == expected

    detail = (await client.get(f"/v1/trends/{again.snapshot_id}", headers=alice.headers)).json()
    assert detail["trend"]["keyword"] == "Mug"
    assert [f["name"] for f in detail["factors"]] == ["demand", "competition", "price"]
    assert {"value", "input", "input_label", "weight", "contribution", "sentence"} <= set(
        detail["factors"][0]
    )
    assert [h["id"] for h in detail["history"]] == [again.snapshot_id, first.snapshot_id]


async def test_another_concept_for_a_trend_reemits_it_through_the_outbox(
    client: Any, gateway: Gateway, alice: TestUser
) -> None:
    job_id = await new_job(client, alice, ["mug"])
    trend = scored(job_id, alice.id, "mug", score=0.3)
    await project(gateway, trend)
    response = await client.post(f"/v1/trends/{trend.snapshot_id}/generate", headers=alice.headers)
    assert response.status_code == 202, response.text
    assert response.headers["ratelimit-policy"] == '"ai";q=20;w=3600, "api";q=100;w=900'
    async with gateway.pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM outbox WHERE topic = 'etsygen.trends.scored.v1'")
    event = msgspec.json.decode(row["payload"], type=TrendScored)
    assert row["headers"]["ce_id"] == response.json()["event_id"]
    assert row["headers"]["x-etsygen-regenerate"] == trend.snapshot_id
    assert (event.concepts_per_niche, event.generation_enabled, event.keyword) == (1, True, "mug")
    assert event.min_score <= event.score  # the caller chose this niche
    # The gateway's own consumer sees the re-emitted event: it must not reapply it.
    before = await job_detail(client, alice, job_id)
    await project(gateway, event, headers={"x-etsygen-regenerate": trend.snapshot_id})
    assert (await job_detail(client, alice, job_id))["keywords"] == before["keywords"]


async def test_products_are_listed_published_and_exported(
    client: Any, gateway: Gateway, alice: TestUser
) -> None:
    job_id = await new_job(client, alice, ["mug"])
    product = generated(job_id, alice.id, "mug", title="=cmd|' /C calc'!A0")
    await project(gateway, product)
    listed = (await client.get("/v1/products", headers=alice.headers)).json()
    assert [p["id"] for p in listed["items"]] == [product.product_id]
    detail = (await client.get(f"/v1/products/{product.product_id}", headers=alice.headers)).json()
    assert detail["concept"]["tags"] == product.concept.tags
    assert detail["price"]["price"]["amount"] == 24.5

    published = await client.post(
        f"/v1/products/{product.product_id}/publish", json={"shop_id": 777}, headers=alice.headers
    )
    assert published.status_code == 202, published.text
    assert published.json()["product"]["status"] == "publish_requested"
    again = await client.post(
        f"/v1/products/{product.product_id}/publish", json={"shop_id": 777}, headers=alice.headers
    )
    assert again.status_code == 409
    async with gateway.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT * FROM outbox WHERE topic = 'etsygen.products.publish-requested.v1'"
        )
    assert msgspec.json.decode(row["payload"])["shop_id"] == 777

    await project(
        gateway,
        ListingPublished(
            job_id=job_id, owner_id=alice.id, product_id=product.product_id, remote_listing_id=99, shop_id=777
        ),
    )
    detail = (await client.get(f"/v1/products/{product.product_id}", headers=alice.headers)).json()
    assert detail["product"]["status"] == "published"
    assert detail["product"]["remote_listing_id"] == 99

    export = await client.get("/v1/products/export.csv", headers=alice.headers)
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    lines = export.text.splitlines()
    assert lines[0].startswith("TITLE,DESCRIPTION,PRICE,CURRENCY_CODE,QUANTITY,TAGS")
    assert lines[1].startswith("'=cmd")


async def test_an_event_with_a_malformed_owner_is_a_contract_violation(gateway: Gateway) -> None:
    with pytest.raises(FatalError):
        await project(gateway, scored("00000000-0000-0000-0000-000000000000", "not-a-user", "mug"))


async def test_projections_wake_listeners_after_commit(
    gateway: Gateway, client: Any, alice: TestUser
) -> None:
    job_id = await new_job(client, alice, ["mug"])
    assert gateway.live is not None
    await wait_until(lambda: gateway.live is not None and gateway.live.connected, what="the listener")
    queue = gateway.live.subscribe(job_id)
    await project(gateway, scraped(job_id, alice.id, "mug"))
    notice = await queue.get()
    assert (notice.job_id, notice.owner_id) == (job_id, alice.id)
    assert "jobs" in notice.namespaces
