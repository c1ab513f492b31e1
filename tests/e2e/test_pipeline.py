"""The worker pipeline end to end: research request → scraper → analyzer → generator, over a real broker,
real PostgreSQL and the marketplace simulator, each service built by its own ``build_app``."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import msgspec
import pytest
from faststream import AckPolicy
from faststream.kafka import KafkaMessage

from etsygen_analyzer.bootstrap import build_app as build_analyzer
from etsygen_analyzer.settings import AnalyzerSection, AnalyzerSettings
from etsygen_common import contracts
from etsygen_common.devstack import free_port
from etsygen_common.envelope import wrap
from etsygen_common.kafka import KafkaPublisher, create_broker, ensure_topics
from etsygen_common.runtime import ServiceRuntime
from etsygen_common.settings import PostgresSettings, ServiceSettings
from etsygen_common.testing.plugin import wait_until
from etsygen_gateway.service_layer.first_admin import create_admin
from etsygen_generator.bootstrap import build_app as build_generator
from etsygen_generator.settings import DraftSection, GeneratorSettings, GuardSection, ProviderSection
from etsygen_scraper.bootstrap import build_app as build_scraper
from etsygen_scraper.settings import EtsySettings, ScraperSection, ScraperSettings
from etsygen_simulators.etsy.server import running_simulator

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]

KEYWORDS = ["personalized dog collar", "minimalist gold necklace", "boho wall art"]


class Pipeline:
    """The three worker services plus a collector of the generator's outcomes."""

    def __init__(self, settings: Any, simulator_url: str, provider: ProviderSection | None = None) -> None:
        common = settings
        self.scraper = build_scraper(
            ScraperSettings(
                common=common,
                etsy=EtsySettings(api_key="synthetic:secret", base_url=simulator_url),
                scraper=ScraperSection(top_n_reviews=10),
            )
        )
        self.analyzer = build_analyzer(AnalyzerSettings(common=common, analyzer=AnalyzerSection()))
        self.generator = build_generator(
            GeneratorSettings(
                common=common,
                provider=provider or ProviderSection(),
                guards=GuardSection(),
                drafts=DraftSection(),
            )
        )
        self.services: list[ServiceRuntime] = [self.scraper, self.analyzer, self.generator]
        self.outcomes: dict[tuple[str, str], list[Any]] = defaultdict(list)
        self.collector = create_broker(common.kafka, client_id="e2e-collector")
        self.kafka = common.kafka
        for topic, body in (
            (contracts.PRODUCTS_GENERATED, contracts.ProductGenerated),
            (contracts.PRODUCTS_REJECTED, contracts.ProductRejected),
        ):
            self.collector.subscriber(
                self.kafka.topic(topic),
                group_id=f"e2e-{uuid.uuid4().hex[:6]}",
                ack_policy=AckPolicy.MANUAL,
                auto_offset_reset="earliest",
            )(self._collector_for(body))

    def _collector_for(self, body: type[Any]) -> Any:
        async def collect(msg: KafkaMessage) -> None:
            event = msgspec.json.decode(msg.body, type=body)
            self.outcomes[(event.job_id, event.keyword)].append(event)
            await msg.ack()

        return collect

    async def start(self) -> None:
        await ensure_topics(
            self.kafka,
            [contracts.PRODUCTS_GENERATED, contracts.PRODUCTS_REJECTED, contracts.RESEARCH_REQUESTED],
        )
        for service in self.services:
            await service.start(serve_http=False)
        await self.collector.start()

    async def stop(self) -> None:
        await self.collector.stop()
        for service in reversed(self.services):
            await service.stop()

    async def submit(self, job_id: str, keywords: list[str], concepts: int = 1, attempt: int = 0) -> None:
        publisher = KafkaPublisher(self.collector, self.kafka)
        try:
            await publisher.publish(
                wrap(
                    contracts.ResearchRequested(
                        job_id=job_id,
                        owner_id="owner-e2e",
                        keywords=keywords,
                        listing_budget=40,
                        generation=contracts.GenerationOptions(
                            concepts_per_niche=concepts, min_score=0.0, max_risk="high"
                        ),
                        attempt=attempt,
                    ),
                    source="e2e",
                )
            )
        finally:
            await publisher.close()

    def finished(self, job_id: str, keywords: list[str]) -> bool:
        for keyword in keywords:
            events = self.outcomes.get((job_id, keyword), [])
            if not events or len({e.concept_index for e in events}) < events[0].expected_concepts:
                return False
        return True


@pytest.fixture
async def pipeline(make_settings: Any, fresh_pg_url: str) -> AsyncIterator[Pipeline]:
    settings = make_settings(postgres=PostgresSettings(url=fresh_pg_url, pool_min=1, pool_max=5))
    async with running_simulator() as sim:
        p = Pipeline(settings, sim.base_url)
        await p.start()
        try:
            yield p
        finally:
            await p.stop()


async def test_a_research_job_flows_to_products_and_a_rerun_duplicates_nothing(
    pipeline: Pipeline, fresh_pg_url: str
) -> None:
    await pipeline.submit("job-1", KEYWORDS, concepts=2)
    await wait_until(
        lambda: pipeline.finished("job-1", KEYWORDS), timeout=120, what="every keyword's outcomes"
    )

    conn = await asyncpg.connect(fresh_pg_url)
    try:
        for keyword in KEYWORDS:
            events = pipeline.outcomes[("job-1", keyword)]
            assert {e.concept_index for e in events} == {0, 1}
        products = await conn.fetchval("SELECT count(*) FROM generator.products WHERE job_id = 'job-1'")
        generated = {
            e.product_id
            for events in pipeline.outcomes.values()
            for e in events
            if isinstance(e, contracts.ProductGenerated)
        }
        assert products == len(generated) >= 1
        assert await conn.fetchval("SELECT count(*) FROM analyzer.trend_snapshots") == len(KEYWORDS)
        snapshots = await conn.fetchval("SELECT count(*) FROM scraper.listing_snapshots")
        assert snapshots > 0
        runs = await conn.fetchval("SELECT count(*) FROM scraper.scrape_runs WHERE status = 'ok'")
        assert runs == len(KEYWORDS)

        # The same job again (a re-drive): new runs, but no listing observed twice on the same day.
        await pipeline.submit("job-1", KEYWORDS, concepts=2)

        async def second_run_stored() -> bool:
            return bool(await conn.fetchval("SELECT count(*) FROM scraper.scrape_runs") == 2 * len(KEYWORDS))

        await wait_until(second_run_stored, timeout=90, what="second run of the same job")
        assert await conn.fetchval("SELECT count(*) FROM scraper.listing_snapshots") == snapshots
        # What each service actually published is what its AsyncAPI operations declare.
        for service in pipeline.services:
            published = {
                r["topic"] for r in await conn.fetch(f"SELECT DISTINCT topic FROM {service.name}.outbox")
            }
            assert published <= set(service.extra_topics), (service.name, published)
        duplicates = await conn.fetchval(
            "SELECT count(*) FROM (SELECT listing_id, observed_on FROM scraper.listing_snapshots "
            "GROUP BY 1, 2 HAVING count(*) > 1) d"
        )
        assert duplicates == 0
    finally:
        await conn.close()


@pytest.fixture
async def stack(
    make_settings: Any, make_gateway: Any, fresh_pg_url: str
) -> AsyncIterator[tuple[Pipeline, ServiceRuntime]]:
    """The pipeline behind a real gateway (its API, outbox and projections)."""
    settings = make_settings(
        postgres=PostgresSettings(url=fresh_pg_url, pool_min=1, pool_max=5),
        service=ServiceSettings(port=free_port(), shutdown_grace_s=5.0),
    )
    async with running_simulator() as sim:
        gateway = make_gateway(settings)
        p = Pipeline(settings, sim.base_url)
        await gateway.start()
        await p.start()
        try:
            yield p, gateway
        finally:
            await p.stop()
            await gateway.stop()


async def test_a_keyword_researched_again_succeeds_and_links_to_the_existing_product(
    stack: tuple[Pipeline, ServiceRuntime],
) -> None:
    _, gateway = stack
    keyword = KEYWORDS[0]
    await create_admin(gateway.pool, "owner@example.com", "correct horse battery")
    base = f"http://127.0.0.1:{gateway.settings.service.port}"
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        login = await client.post(
            "/v1/auth/login", json={"email": "owner@example.com", "password": "correct horse battery"}
        )
        csrf = {"x-csrf-token": login.json()["csrf_token"]}

        async def research() -> dict[str, Any]:
            body = {
                "keywords": [keyword],
                "listing_budget": 40,
                "generation": {"concepts_per_niche": 1, "min_score": 0, "max_risk": "high"},
            }
            job = (await client.post("/v1/jobs", headers=csrf, json=body)).json()

            async def finished() -> bool:
                detail = (await client.get(f"/v1/jobs/{job['id']}")).json()
                return detail["job"]["status"] not in ("queued", "running")

            await wait_until(finished, timeout=120, interval=0.5, what="the research job to finish")
            return dict((await client.get(f"/v1/jobs/{job['id']}")).json())

        first = await research()
        assert first["job"]["status"] == "succeeded"
        (researched,) = first["keywords"]
        assert researched["outcome"] == "new_product"
        (product,) = (await client.get("/v1/products", params={"job_id": first["job"]["id"]})).json()["items"]

        for _ in range(2):  # researched twice more: each run ends succeeded, linked to the first product
            again = await research()
            assert again["job"]["status"] == "succeeded", again
            (shown,) = again["keywords"]
            assert shown["status"] == "succeeded"
            assert shown["outcome"] == "existing_product"
            assert shown["existing_product_id"] == product["id"]
            assert shown["reason"].startswith(f"existing product {product['id']}")
            assert shown["trend_id"] is not None
            assert again["job"]["status_reason"] == f"{keyword}: {shown['reason']}"
            timeline = (await client.get(f"/v1/jobs/{again['job']['id']}/timeline")).json()["items"]
            assert any(
                e["kind"] == "product.rejected" and e["detail"]["existing_product_id"] == product["id"]
                for e in timeline
            )

        trends = (await client.get("/v1/trends")).json()["items"]
        assert [(t["keyword"], t["runs"]) for t in trends] == [(keyword, 3)]
        assert trends[0]["id"] == shown["trend_id"]  # the latest run
        history = (await client.get(f"/v1/trends/{trends[0]['id']}")).json()["history"]
        assert len(history) == 3
        products = (await client.get("/v1/products")).json()["items"]
        assert [p["id"] for p in products] == [product["id"]]
