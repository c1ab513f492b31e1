"""One research job is one trace: from the gateway's HTTP request through every relay and consumer of the four
services to the generated product, with database and outbound HTTP spans inside it.

The four services run as ``build_app`` runtimes in this process (as in ``test_pipeline``) and share the
process's tracer provider, which the ``recorded_spans`` fixture points at an in-memory exporter; the records
still travel through the real broker, PostgreSQL, Redis and the marketplace simulator over HTTP.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

from etsygen_analyzer.bootstrap import build_app as build_analyzer
from etsygen_analyzer.settings import AnalyzerSection, AnalyzerSettings
from etsygen_common import contracts
from etsygen_common.devstack import free_port
from etsygen_common.runtime import ServiceRuntime
from etsygen_common.settings import PostgresSettings, ServiceSettings
from etsygen_common.testing.plugin import wait_until
from etsygen_gateway.handlers import GROUP as GATEWAY_GROUP
from etsygen_gateway.service_layer.first_admin import create_admin
from etsygen_generator.bootstrap import build_app as build_generator
from etsygen_generator.settings import DraftSection, GeneratorSettings, GuardSection, ProviderSection
from etsygen_scraper.bootstrap import build_app as build_scraper
from etsygen_scraper.settings import EtsySettings, ScraperSection, ScraperSettings
from etsygen_simulators.etsy.server import running_simulator

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]
KEYWORD = "personalized dog collar"
PASSWORD = "correct horse battery"

# The job's path: each record is sent by a relay (or a consumer's hand-over) and processed by the next
# service, so the spans alternate send → process, each the child of the one before.
HOPS = [
    (contracts.RESEARCH_REQUESTED, "etsygen-scraper"),
    (contracts.KEYWORD_SCRAPE_REQUESTED, "etsygen-scraper"),
    (contracts.LISTINGS_SCRAPED, "etsygen-analyzer"),
    (contracts.TRENDS_SCORED, "etsygen-generator"),
]


@pytest.fixture
async def stack(
    recorded_spans: Any, make_settings: Any, make_gateway: Any, fresh_pg_url: str
) -> AsyncIterator[dict[str, Any]]:
    port = free_port()
    common = make_settings(
        postgres=PostgresSettings(url=fresh_pg_url, pool_min=1, pool_max=5),
        service=ServiceSettings(port=port, shutdown_grace_s=5.0),
    )
    async with running_simulator() as sim:
        gateway = make_gateway(common)
        workers: list[ServiceRuntime] = [
            build_scraper(
                ScraperSettings(
                    common=common,
                    etsy=EtsySettings(api_key="synthetic:secret", base_url=sim.base_url),
                    scraper=ScraperSection(top_n_reviews=10),
                )
            ),
            build_analyzer(AnalyzerSettings(common=common, analyzer=AnalyzerSection())),
            build_generator(
                GeneratorSettings(
                    common=common, provider=ProviderSection(), guards=GuardSection(), drafts=DraftSection()
                )
            ),
        ]
        await gateway.start()
        for worker in workers:
            await worker.start(serve_http=False)
        try:
            yield {"gateway": gateway, "base": f"http://127.0.0.1:{port}", "spans": recorded_spans}
        finally:
            for runtime in [*reversed(workers), gateway]:
                await runtime.stop()


async def _submit_job(base_url: str) -> str:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        login = await client.post("/v1/auth/login", json={"email": "admin@example.com", "password": PASSWORD})
        response = await client.post(
            "/v1/jobs",
            headers={"x-csrf-token": login.json()["csrf_token"]},
            json={
                "keywords": [KEYWORD],
                "generation": {"concepts_per_niche": 1, "min_score": 0, "max_risk": "high"},
            },
        )
        assert response.status_code in (200, 201, 202), response.text
        return str(response.json()["id"])


async def test_a_research_job_is_one_trace_from_the_http_request_to_the_generated_product(
    stack: dict[str, Any],
) -> None:
    await create_admin(stack["gateway"].pool, "admin@example.com", PASSWORD)
    # The test is a client without tracing: its requests carry no trace context (an instrumented client
    # outside any span would send an unsampled one, and the gateway would follow it).
    with suppress_instrumentation():
        job_id = await _submit_job(stack["base"])

    exporter = stack["spans"]

    def spans() -> list[ReadableSpan]:
        return list(exporter.get_finished_spans())

    def product_in_read_model() -> bool:
        return any(s.name == f"process {contracts.PRODUCTS_GENERATED}" for s in spans())

    await wait_until(
        product_in_read_model, timeout=90, interval=0.2, what="the gateway to process the product"
    )

    finished = spans()
    (request,) = [s for s in finished if s.name == "POST /v1/jobs" and s.kind is SpanKind.SERVER]
    trace_id = request.context.trace_id
    job = [s for s in finished if s.context.trace_id == trace_id]
    by_id = {s.context.span_id: s for s in job}

    def child(parent: ReadableSpan, name: str, kind: SpanKind, group: str | None = None) -> ReadableSpan:
        found = [
            s
            for s in job
            if s.name == name
            and s.kind is kind
            and s.parent is not None
            and s.parent.span_id == parent.context.span_id
            and (group is None or (s.attributes or {}).get("messaging.consumer.group.name") == group)
        ]
        assert found, f"no {kind.name} span {name!r} under {parent.name!r} in the job's trace"
        return found[0]

    # The tree: gateway HTTP → send → process → send → ... → generator's send of the product.
    parent = request
    path = [request.name]
    for topic, group in HOPS:
        sent = child(parent, f"send {topic}", SpanKind.PRODUCER)
        parent = child(sent, f"process {topic}", SpanKind.CONSUMER, group)
        path += [sent.name, parent.name]
        attributes = parent.attributes or {}
        assert attributes["messaging.system"] == "kafka"
        assert attributes["messaging.operation.type"] == "process"
        assert str(attributes["messaging.destination.name"]).endswith(topic)
        assert int(str(attributes["messaging.kafka.offset"])) >= 0
        assert attributes["messaging.message.id"]
    product = child(parent, f"send {contracts.PRODUCTS_GENERATED}", SpanKind.PRODUCER)
    assert str((product.attributes or {})["messaging.kafka.message.key"]).startswith(job_id)
    child(product, f"process {contracts.PRODUCTS_GENERATED}", SpanKind.CONSUMER, GATEWAY_GROUP)

    # Every Kafka span that names the job's records is in this one trace.
    keyed = [
        s
        for s in finished
        if str((s.attributes or {}).get("messaging.kafka.message.key", "")).startswith(job_id)
    ]
    assert keyed
    assert {s.context.trace_id for s in keyed} == {trace_id}, path

    # Inside it: the services' database queries and the scraper's calls to the Etsy API.
    def parent_of(span: ReadableSpan) -> ReadableSpan | None:
        return by_id.get(span.parent.span_id) if span.parent is not None else None

    queries = [s for s in job if s.kind is SpanKind.CLIENT and (s.attributes or {}).get("db.system.name")]
    assert any(parent_of(q) is request for q in queries), "the gateway's queries"
    assert any(parent_of(q) is parent for q in queries), "the generator's queries"
    fetches = [s for s in job if s.kind is SpanKind.CLIENT and "http.request.method" in (s.attributes or {})]
    scraping = [s for s in job if s.name == f"process {contracts.KEYWORD_SCRAPE_REQUESTED}"]
    assert any(parent_of(f) in scraping for f in fetches), "the scraper's calls to the Etsy API"
