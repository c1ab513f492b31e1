"""The broker alone killed mid-job and started again empty (memory storage) on the same port: the services
notice within seconds, re-create their topics and restart their consumers, the gateway re-drives the
unfinished keywords, and the job finishes within a minute of the restart, one product per concept."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from chaos import KEYWORDS, Chaos, parse_args

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# Twenty distinct niches from the suite's own keyword list, so the job runs long enough to be cut mid-way.
JOB_KEYWORDS = [f"{style} {thing}" for style in ("rustic", "vintage") for thing in KEYWORDS[:10]]
TERMINAL = {"succeeded", "partially_failed", "failed", "cancelled"}


async def _job(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    response = await client.get(url)
    response.raise_for_status()
    detail: dict[str, Any] = response.json()
    return detail


async def test_a_broker_restarted_empty_mid_job_loses_no_work(tmp_path: Path) -> None:
    chaos = Chaos(parse_args(["--jobs", "1"]), tmp_path)
    try:
        await asyncio.to_thread(chaos.start_stack)
        await asyncio.to_thread(chaos.make_admin_key)
        headers = {"authorization": f"Bearer {chaos.api_key}"}
        async with httpx.AsyncClient(timeout=10, headers=headers) as client:
            submitted = await client.post(
                chaos.gateway("/v1/jobs"),
                json={
                    "keywords": JOB_KEYWORDS,
                    "listing_budget": 100,
                    "generation": {"concepts_per_niche": 1, "min_score": 0.0, "max_risk": "high"},
                },
            )
            assert submitted.status_code == 202, submitted.text
            url = chaos.gateway(f"/v1/jobs/{submitted.json()['id']}")
            while (await _job(client, url))["job"]["keywords_finished"] < 2:
                await asyncio.sleep(0.2)
            finished_at_kill = (await _job(client, url))["job"]["keywords_finished"]
            assert finished_at_kill < len(JOB_KEYWORDS), "the job finished before the broker could be killed"

            started = time.monotonic()
            await chaos.kill_broker()
            detail: dict[str, Any] = {}
            while time.monotonic() - started < 60:
                detail = await _job(client, url)
                if detail["job"]["status"] in TERMINAL:
                    break
                await asyncio.sleep(1)
            took = time.monotonic() - started
            assert detail["job"]["status"] in TERMINAL, f"still {detail['job']['status']} {took:.0f} s after"
            assert detail["job"]["keywords_finished"] == len(JOB_KEYWORDS)
            timeline = (await client.get(f"{url}/timeline")).json()["items"]
            assert [e for e in timeline if e["kind"] == "job.recovering"], "the loss was not noticed"
            products = (
                await client.get(
                    chaos.gateway("/v1/products"), params={"job_id": detail["job"]["id"], "limit": 100}
                )
            ).json()["items"]
            concepts = [(p["keyword"], p.get("concept_index", 0)) for p in products]
            assert len(concepts) == len(set(concepts)), "a concept has two products"
            with_product = {p["keyword"] for p in products}
            counted = {k["keyword"] for k in detail["keywords"] if k["generated"]}
            assert counted <= with_product, "a keyword counts a product the read model does not hold"
        print(f"job {detail['job']['status']} {took:.1f} s after the broker was killed")
    finally:
        chaos.stop_all()
