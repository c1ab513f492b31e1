"""What a keyword ended with and why: a guard's or a gate's decision is a success with its reason shown, a
duplicate of the owner's product links the keyword to it, and the keyword keeps its trend whatever order the
events are projected in."""

from __future__ import annotations

from typing import Any

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

from etsygen_common.contracts import Event
from etsygen_gateway.gateway import Gateway

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("order", ["analysis first", "product first"])
async def test_the_keyword_keeps_its_trend_whatever_order_the_events_arrive_in(
    client: Any, gateway: Gateway, alice: TestUser, order: str
) -> None:
    job_id = await new_job(client, alice, ["mug"])
    trend = scored(job_id, alice.id, "mug")
    events: list[Event] = [scraped(job_id, alice.id, "mug"), trend, generated(job_id, alice.id, "mug")]
    if order == "product first":
        events.reverse()
    for event in events:
        await project(gateway, event)

    detail = await job_detail(client, alice, job_id)
    (mug,) = detail["keywords"]
    assert (mug["status"], mug["trend_id"], mug["outcome"]) == ("succeeded", trend.snapshot_id, "new_product")
    assert detail["job"]["status"] == "succeeded"
    assert detail["job"]["status_reason"] is None  # nothing to explain: a new product


async def test_a_duplicate_of_the_owners_product_links_the_keyword_to_it(
    client: Any, gateway: Gateway, alice: TestUser
) -> None:
    first_job = await new_job(client, alice, ["mug"])
    await project(gateway, scored(first_job, alice.id, "mug"))
    product = generated(first_job, alice.id, "mug")
    await project(gateway, product)

    job_id = await new_job(client, alice, ["mug"])  # the same keyword researched again
    await project(gateway, scored(job_id, alice.id, "mug"))
    duplicate = f"near-duplicate of product {product.product_id}: title similarity 1.00, tag similarity 1.00"
    await project(
        gateway,
        rejected(
            job_id, alice.id, "mug", "guard_failed", detail=duplicate, existing_product_id=product.product_id
        ),
    )

    detail = await job_detail(client, alice, job_id)
    (mug,) = detail["keywords"]
    assert mug["status"] == "succeeded"
    assert mug["outcome"] == "existing_product"
    assert mug["existing_product_id"] == product.product_id
    assert mug["reason"].startswith(f"existing product {product.product_id}")
    assert detail["job"]["status"] == "succeeded"
    assert detail["job"]["status_reason"] == f"mug: {mug['reason']}"
    timeline = (await client.get(f"/v1/jobs/{job_id}/timeline", headers=alice.headers)).json()["items"]
    (entry,) = [e for e in timeline if e["kind"] == "product.rejected"]
    assert entry["detail"]["existing_product_id"] == product.product_id
    assert entry["detail"]["outcome"] == "existing_product"
    finished = [e for e in timeline if e["kind"] == "job.finished"]
    assert finished[0]["detail"]["reason"] == detail["job"]["status_reason"]


async def test_guard_and_gate_decisions_succeed_with_their_reason_and_errors_fail(
    client: Any, gateway: Gateway, alice: TestUser
) -> None:
    keywords = ["brand mug", "weak mug", "budget mug", "broken mug"]
    job_id = await new_job(client, alice, keywords)
    outcomes = {
        "brand mug": ("guard_failed", "brand term 'disney'"),
        "weak mug": ("score_too_low", "score 0.412 is below 0.500"),
        "budget mug": ("budget_exceeded", "daily AI token budget: 100 used + 0 expected of 100 allowed"),
        "broken mug": ("provider_failed", "401 from the provider; check AI_* settings"),
    }
    for keyword, (reason, detail) in outcomes.items():
        await project(gateway, scored(job_id, alice.id, keyword))
        await project(gateway, rejected(job_id, alice.id, keyword, reason, detail=detail))

    detail = await job_detail(client, alice, job_id)
    by_keyword = {k["keyword"]: k for k in detail["keywords"]}
    for keyword in ("brand mug", "weak mug", "budget mug"):
        shown = by_keyword[keyword]
        assert (shown["status"], shown["outcome"]) == ("succeeded", "no_concept"), keyword
        assert shown["reason"].startswith("no concept: "), shown
        assert outcomes[keyword][1] in shown["reason"]
        assert shown["existing_product_id"] is None
    broken = by_keyword["broken mug"]
    assert (broken["status"], broken["outcome"]) == ("failed", "failed")
    assert "check AI_* settings" in broken["reason"]
    assert detail["job"]["status"] == "partially_failed"
    for keyword in keywords:
        assert f"{keyword}: {by_keyword[keyword]['reason']}" in detail["job"]["status_reason"]


async def test_a_new_product_outranks_another_concepts_rejection_but_its_reason_stays(
    client: Any, gateway: Gateway, alice: TestUser
) -> None:
    job_id = await new_job(client, alice, ["mug"])
    await project(gateway, scored(job_id, alice.id, "mug"))
    await project(gateway, generated(job_id, alice.id, "mug", index=1, expected=2))
    await project(
        gateway, rejected(job_id, alice.id, "mug", "guard_failed", index=0, expected=2, detail="brand 'lego'")
    )
    (mug,) = (await job_detail(client, alice, job_id))["keywords"]
    assert (mug["status"], mug["outcome"]) == ("succeeded", "new_product")
    assert "brand 'lego'" in mug["reason"]


async def test_the_trends_list_holds_one_row_per_keyword_across_jobs(
    client: Any, gateway: Gateway, alice: TestUser
) -> None:
    runs = []
    for score in (0.61, 0.74, 0.55):
        job_id = await new_job(client, alice, ["mug", "collar"])
        trend = scored(job_id, alice.id, "mug", score=score)
        await project(gateway, trend)
        runs.append(trend)
    await project(gateway, scored(job_id, alice.id, "collar", score=0.8))
    # A run already projected, delivered again, changes nothing: the newest stays the one listed.
    await project(gateway, runs[0])

    for sort in ("-created", "-score", "score", "created"):
        page = (await client.get("/v1/trends", params={"sort": sort}, headers=alice.headers)).json()
        listed = {t["keyword"]: (t["id"], t["runs"]) for t in page["items"]}
        assert len(page["items"]) == 2, page
        assert listed == {"mug": (runs[-1].snapshot_id, 3), "collar": (listed["collar"][0], 1)}
    detail = (await client.get(f"/v1/trends/{runs[-1].snapshot_id}", headers=alice.headers)).json()
    assert detail["trend"]["runs"] == 3
    assert [h["id"] for h in detail["history"]] == [r.snapshot_id for r in reversed(runs)]
