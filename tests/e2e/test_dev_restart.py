"""A restart is boring: `etsygen dev` stopped with Ctrl-C in the middle of a 10-keyword job and started again
with the default settings comes back on the same gateway port, and the job finishes within a minute: the
embedded broker (memory storage) forgot the records in flight, the gateway notices at once and re-drives the
unfinished keywords, and the stages that had finished answer from their stored outputs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from etsygen_common.devstack import free_port
from etsygen_common.testing.dev_stack import SETUP_LINK, DevStack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

KEYWORDS = [
    "personalized dog collar",
    "minimalist gold necklace",
    "boho wall art",
    "custom name sign",
    "crochet baby blanket",
    "leather wallet",
    "soy candle",
    "ceramic mug",
    "wedding guest book",
    "macrame plant hanger",
]
TERMINAL = {"succeeded", "partially_failed", "failed", "cancelled"}
PASSWORD = "correct horse battery"


def _api_key(base: str, link: str) -> str:
    token = link.rpartition("token=")[2]
    with httpx.Client(base_url=base, timeout=30) as client:
        created = client.post(
            "/v1/auth/setup", json={"token": token, "email": "a@example.com", "password": PASSWORD}
        )
        assert created.status_code == 201, created.text
        login = client.post("/v1/auth/login", json={"email": "a@example.com", "password": PASSWORD})
        assert login.status_code == 200, login.text
        # The session cookie is Secure (browsers treat 127.0.0.1 as a secure origin; httpx does not), so it
        # is sent by hand, as a browser would.
        cookie = "; ".join(f"{name}={value}" for name, value in login.cookies.items())
        key = client.post(
            "/v1/api-keys",
            headers={"x-csrf-token": login.json()["csrf_token"], "cookie": cookie},
            json={"name": "restart-test", "scopes": ["read", "write", "generate"]},
        )
        assert key.status_code == 201, key.text
        return str(key.json()["key"])


def _job(client: httpx.Client, job_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/jobs/{job_id}")
    response.raise_for_status()
    detail: dict[str, Any] = response.json()
    return detail


def test_stopping_the_dev_stack_mid_job_and_starting_it_again_finishes_the_job(tmp_path: Path) -> None:
    port = free_port()
    stack = DevStack(tmp_path / "data", port, tmp_path / "dev.log")
    stack.start()
    try:
        stack.wait_ready()
        link = stack.wait_for(SETUP_LINK, 60).group(1)
        headers = {"authorization": f"Bearer {_api_key(stack.gateway_url, link)}"}
        with httpx.Client(base_url=stack.gateway_url, timeout=30, headers=headers) as client:
            submitted = client.post(
                "/v1/jobs",
                json={
                    "keywords": KEYWORDS,
                    "listing_budget": 60,
                    "generation": {"concepts_per_niche": 1, "min_score": 0.0, "max_risk": "high"},
                },
            )
            assert submitted.status_code == 202, submitted.text
            job_id = submitted.json()["id"]
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline:
                finished = _job(client, job_id)["job"]["keywords_finished"]
                if finished >= 4:
                    break
                time.sleep(1.0)  # the API tier allows 100 requests per 15 minutes to this key
            assert 4 <= finished < len(KEYWORDS), f"{finished} keywords finished before the stop"
        assert stack.stop() == 0

        stack.start()
        ports = stack.wait_ready()
        ready_at = time.monotonic()
        assert ports["gateway"] == port, stack.output()[-3000:]  # the dashboard a user has open keeps working
        with httpx.Client(base_url=stack.gateway_url, timeout=30, headers=headers) as client:
            while time.monotonic() - ready_at < 60:
                detail = _job(client, job_id)
                if detail["job"]["status"] in TERMINAL:
                    break
                time.sleep(1.5)
            took = time.monotonic() - ready_at
            assert detail["job"]["status"] in TERMINAL, (
                f"job still {detail['job']['status']} after {took:.0f} s"
            )
            assert {k["status"] for k in detail["keywords"]} <= TERMINAL
            assert detail["job"]["keywords_finished"] == len(KEYWORDS)
            timeline = client.get(f"/v1/jobs/{job_id}/timeline").json()["items"]
            recovering = [e for e in timeline if e["kind"] == "job.recovering"]
            assert len(recovering) == 1, timeline
            assert "lost acknowledged records" in recovering[0]["detail"]["detected"]
            products = client.get("/v1/products", params={"job_id": job_id, "limit": 100}).json()["items"]
            concepts = [(p["keyword"], p.get("concept_index", 0)) for p in products]
            assert len(concepts) == len(set(concepts)), "a concept has two products"
            generated = sum(k["generated"] for k in detail["keywords"])
            assert len(products) == generated
        print(f"job {detail['job']['status']} {took:.1f} s after the restart; {generated} products")
    finally:
        stack.stop()
