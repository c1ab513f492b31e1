"""A keyword whose concept failed for good is dead-lettered; once the cause is fixed, replaying the dead
letter from the gateway's admin API completes the job (real gateway, generator, broker and fake AI server)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from etsygen_common import contracts
from etsygen_common.devstack import free_port
from etsygen_common.envelope import wrap
from etsygen_common.kafka import KafkaPublisher
from etsygen_common.settings import PostgresSettings, ServiceSettings
from etsygen_common.testing.plugin import wait_until
from etsygen_gateway.service_layer.first_admin import create_admin
from etsygen_generator.bootstrap import build_app as build_generator
from etsygen_generator.settings import DraftSection, GeneratorSettings, GuardSection, ProviderSection
from etsygen_simulators.ai import FakeAIServer

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]
KEYWORD = "soy candle"


@pytest.fixture
async def stack(make_settings: Any, make_gateway: Any, fresh_pg_url: str) -> AsyncIterator[dict[str, Any]]:
    ai = FakeAIServer()
    await ai.start()
    port = free_port()
    common = make_settings(
        postgres=PostgresSettings(url=fresh_pg_url, pool_min=1, pool_max=5),
        service=ServiceSettings(port=port, shutdown_grace_s=5.0),
    )
    gateway = make_gateway(common)
    generator = build_generator(
        GeneratorSettings(
            common=common,
            guards=GuardSection(),
            drafts=DraftSection(),
            provider=ProviderSection(
                provider="openai",
                base_url=ai.openai_base_url,
                api_key="test",
                timeout_s=3,
                breaker_fail_max=20,
            ),
        )
    )
    await gateway.start()
    await generator.start(serve_http=False)
    try:
        yield {"ai": ai, "gateway": gateway, "generator": generator, "base": f"http://127.0.0.1:{port}"}
    finally:
        await generator.stop()
        await gateway.stop()
        await ai.stop()


async def test_replaying_a_dead_letter_after_the_fix_completes_the_job(stack: dict[str, Any]) -> None:
    gateway, ai = stack["gateway"], stack["ai"]
    admin = await create_admin(gateway.pool, "admin@example.com", "correct horse battery")
    async with httpx.AsyncClient(base_url=stack["base"], timeout=10) as client:
        login = await client.post(
            "/v1/auth/login", json={"email": "admin@example.com", "password": "correct horse battery"}
        )
        csrf = {"x-csrf-token": login.json()["csrf_token"]}
        job = (
            await client.post(
                "/v1/jobs",
                headers=csrf,
                json={
                    "keywords": [KEYWORD],
                    "generation": {"concepts_per_niche": 1, "min_score": 0, "max_risk": "high"},
                },
            )
        ).json()

        # The AI provider is broken: the generator's record fails, is retried three times, and dead-lettered.
        ai.state.set_mode("500")
        publisher = KafkaPublisher(None, gateway.settings.kafka)
        try:
            for event in (
                contracts.ListingsScraped(
                    job_id=job["id"], owner_id=admin.id, keyword=KEYWORD, total_count=900
                ),
                contracts.TrendScored(
                    job_id=job["id"],
                    owner_id=admin.id,
                    keyword=KEYWORD,
                    score=0.8,
                    confidence=0.8,
                    risk="low",
                    top_tags=["soy candle", "candle gift"],
                    snapshot_id=str(uuid.uuid4()),
                ),
            ):
                await publisher.publish(wrap(event, source="e2e"))
        finally:
            await publisher.close()

        async def dead_lettered() -> list[dict[str, Any]]:
            response = await client.get("/v1/admin/dead-letters", params={"topic": contracts.TRENDS_SCORED})
            page = response.json()
            assert response.status_code == 200, page
            return [d for d in page["items"] if d["consumer_group"] == "etsygen-generator"]

        async def has_dead_letter() -> bool:
            return bool(await dead_lettered())

        await wait_until(
            has_dead_letter, timeout=120, interval=0.5, what="the generator's record in the dead letters"
        )
        letter = (await dead_lettered())[0]
        assert letter["attempts"] == 4
        assert "ProviderServerError" in (letter["exception_type"] or "")
        detail = (await client.get(f"/v1/jobs/{job['id']}")).json()
        assert detail["job"]["status"] not in ("succeeded", "failed", "partially_failed")

        # The cause is fixed; an admin replays the dead letter (a dry run first shows what would be sent).
        ai.state.set_mode("ok")
        dry = await client.post(
            f"/v1/admin/dead-letters/{letter['id']}/replay", params={"dry_run": "true"}, headers=csrf
        )
        assert dry.status_code == 200
        replay = await client.post(f"/v1/admin/dead-letters/{letter['id']}/replay", headers=csrf)
        assert replay.status_code == 200

        async def job_succeeded() -> bool:
            return (await client.get(f"/v1/jobs/{job['id']}")).json()["job"]["status"] == "succeeded"

        await wait_until(job_succeeded, timeout=90, interval=0.5, what="the job to complete after the replay")
    async with stack["generator"].pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM products WHERE job_id = $1", job["id"]) == 1
