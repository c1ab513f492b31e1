"""A re-drive of a keyword every stage had finished (what the gateway sends after a stall or a broker that
lost its records) is answered from the stages' stored outputs: no Etsy request, no AI call, no second
product, and the same product re-emitted, so the gateway's read model completes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from test_pipeline import Pipeline

from etsygen_common import contracts
from etsygen_common.settings import PostgresSettings
from etsygen_common.testing.plugin import wait_until
from etsygen_generator.settings import ProviderSection
from etsygen_simulators.ai import FakeAIServer
from etsygen_simulators.etsy.server import running_simulator

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]

KEYWORD = "personalized dog collar"


@pytest.fixture
async def stack(make_settings: Any, fresh_pg_url: str) -> AsyncIterator[tuple[Pipeline, Any, FakeAIServer]]:
    settings = make_settings(postgres=PostgresSettings(url=fresh_pg_url, pool_min=1, pool_max=5))
    async with running_simulator() as sim, FakeAIServer() as ai:
        pipeline = Pipeline(
            settings,
            sim.base_url,
            ProviderSection(provider="openai", base_url=ai.openai_base_url, api_key="e2e", timeout_s=10),
        )
        await pipeline.start()
        try:
            yield pipeline, sim, ai
        finally:
            await pipeline.stop()


async def test_a_redrive_of_finished_work_spends_no_etsy_or_ai_call(
    stack: tuple[Pipeline, Any, FakeAIServer], fresh_pg_url: str
) -> None:
    pipeline, sim, ai = stack
    await pipeline.submit("job-r", [KEYWORD])
    await wait_until(lambda: pipeline.finished("job-r", [KEYWORD]), timeout=120, what="the first run")
    etsy_calls, ai_calls = sim.stats()["requests"], ai.state.total_requests
    assert etsy_calls > 0
    assert ai_calls > 0
    [first] = pipeline.outcomes[("job-r", KEYWORD)]
    assert isinstance(first, contracts.ProductGenerated)

    # The gateway's re-drive: the same job and keyword, the next attempt, a new event id.
    await pipeline.submit("job-r", [KEYWORD], attempt=1)
    await wait_until(
        lambda: len(pipeline.outcomes[("job-r", KEYWORD)]) == 2, timeout=90, what="the re-drive's outcome"
    )
    again = pipeline.outcomes[("job-r", KEYWORD)][1]
    assert isinstance(again, contracts.ProductGenerated)
    assert again.product_id == first.product_id  # the stored product re-emitted, not a new one
    assert sim.stats()["requests"] == etsy_calls
    assert ai.state.total_requests == ai_calls

    conn = await asyncpg.connect(fresh_pg_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM generator.products WHERE job_id = 'job-r'") == 1
        assert await conn.fetchval("SELECT count(*) FROM scraper.scrape_runs WHERE job_id = 'job-r'") == 1
        assert await conn.fetchval("SELECT count(*) FROM analyzer.trend_snapshots") == 1
        stored = await conn.fetch(
            "SELECT consumer_group, attempt FROM scraper.stage_results UNION ALL "
            "SELECT consumer_group, attempt FROM analyzer.stage_results UNION ALL "
            "SELECT consumer_group, attempt FROM generator.stage_results"
        )
        assert sorted(r["consumer_group"] for r in stored) == [
            "etsygen-analyzer",
            "etsygen-generator",
            "etsygen-scraper",
        ]
        assert {r["attempt"] for r in stored} == {0}  # what the real run stored stays the answer
    finally:
        await conn.close()
