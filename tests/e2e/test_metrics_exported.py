"""After a research job through all four services, every service's /metrics exports what docs/metrics.md
lists for it, and nothing undocumented under the etsygen_ prefix.

The three workers come from the pipeline test's :class:`Pipeline` (simulated Etsy, built-in AI provider),
here serving HTTP on ports of their own, plus a gateway that takes the job over its API. All four run in
this process and so share prometheus_client's registry: which service a series belongs to is its `service`
label, set by the code, which is what this test checks series by series.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from test_pipeline import Pipeline

from etsygen_cli import metricsdoc
from etsygen_common.catalogue import CATALOGUE
from etsygen_common.devstack import free_port
from etsygen_common.runtime import ServiceRuntime
from etsygen_common.settings import PostgresSettings
from etsygen_common.testing.plugin import wait_until
from etsygen_gateway.bootstrap import build_app as build_gateway
from etsygen_gateway.service_layer.first_admin import create_admin
from etsygen_gateway.settings import CacheSection, GatewaySection, GatewaySettings, RateLimitSection
from etsygen_simulators.etsy.server import running_simulator

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]
PLATFORM_SERVICES = frozenset({"gateway", "scraper", "analyzer", "generator"})
"""The registry is the process's: tests that ran earlier in it leave series under their own service names
(a schema name, "test"); only the platform's services are this test's."""

Series = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _series_now() -> Series:
    """Every sample of the process-wide registry, by name and labels, with its value."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in REGISTRY.collect()
        for sample in family.samples
    }


CATALOGUE_FILE = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"
TERMINAL = {"succeeded", "partially_failed", "failed", "cancelled"}


def _on_own_port(runtime: ServiceRuntime) -> int:
    port = free_port()
    common = runtime.settings
    runtime.settings = msgspec.structs.replace(
        common, service=msgspec.structs.replace(common.service, port=port)
    )
    return port


@pytest.fixture
async def stack(make_settings: Any, fresh_pg_url: str) -> AsyncIterator[dict[str, Any]]:
    settings = make_settings(postgres=PostgresSettings(url=fresh_pg_url, pool_min=1, pool_max=5))
    # Tests that ran earlier in this process may have left series under a platform service's name (the
    # limiter's own test counts a tier "fast" as service="gateway"): those are not this stack's.
    before = _series_now()
    async with running_simulator() as sim:
        pipeline = Pipeline(settings, sim.base_url)
        gateway = build_gateway(
            GatewaySettings(
                common=settings,
                gateway=GatewaySection(cookie_secure=False),
                rate=RateLimitSection(api_limit=100_000),
                cache=CacheSection(),
            )
        )
        runtimes = [gateway, *pipeline.services]
        ports = {runtime.name: _on_own_port(runtime) for runtime in runtimes}
        started: list[ServiceRuntime] = []
        try:
            for runtime in runtimes:
                await runtime.start()
                started.append(runtime)
            yield {"gateway": gateway, "ports": ports, "before": before}
        finally:
            for runtime in reversed(started):
                await runtime.stop()


async def test_every_documented_metric_is_exported_by_its_service_after_a_research_job(
    stack: dict[str, Any],
) -> None:
    ports: dict[str, int] = stack["ports"]
    await create_admin(stack["gateway"].pool, "ops@example.com", "correct horse battery")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports['gateway']}", timeout=10) as client:
        login = await client.post(
            "/v1/auth/login", json={"email": "ops@example.com", "password": "correct horse battery"}
        )
        csrf = {"x-csrf-token": login.json()["csrf_token"]}
        job = await client.post(
            "/v1/jobs",
            headers=csrf,
            json={
                "keywords": ["personalized dog collar", "boho wall art"],
                "generation": {"concepts_per_niche": 1, "min_score": 0, "max_risk": "high"},
            },
        )
        assert job.status_code == 202, job.text

        async def finished() -> bool:
            answer = await client.get(f"/v1/jobs/{job.json()['id']}")
            assert answer.status_code == 200, answer.text
            return answer.json()["job"]["status"] in TERMINAL

        await wait_until(finished, timeout=120, what="the research job to finish")
        await client.get("/v1/health")  # the health score gauge, without waiting for its 15 s refresh

        scraped = {
            name: (await client.get(f"http://127.0.0.1:{port}/metrics")).text for name, port in ports.items()
        }

    documented = metricsdoc.parse(CATALOGUE_FILE.read_text())
    by_family = {entry.family: entry for entry in documented.values()}
    for service, text in scraped.items():
        families = {
            f.name: f
            for f in text_string_to_metric_families(text)
            # prometheus_client's <counter|histogram>_created samples parse as families of their own
            if f.name.startswith("etsygen_")
            and not (f.name.endswith("_created") and f.name.removesuffix("_created") in by_family)
        }
        undocumented = sorted(set(families) - set(by_family))
        assert not undocumented, f"{service} exports metrics docs/metrics.md does not list: {undocumented}"
        owned = {family for family, entry in by_family.items() if service in entry.owners}
        missing = sorted(owned - set(families))
        assert not missing, f"{service} does not export {missing}"
        for name, family in families.items():
            spec = CATALOGUE[name]
            allowed = {label: values for label, values in spec.labels if isinstance(values, tuple)}
            for sample in family.samples:
                if sample.labels.get("service") not in PLATFORM_SERVICES:
                    continue  # left in the process-wide registry by a test that ran earlier (service="test")
                if (sample.name, tuple(sorted(sample.labels.items()))) in stack["before"]:
                    continue  # there before this stack started
                assert sample.labels.get("service") in spec.owners, (name, sample.labels)
                for label, values in allowed.items():
                    assert sample.labels[label] in values, (name, label, sample.labels[label])
        # Series of this service's own: what its start created at zero, and what the job made it do.
        own = {
            name
            for name, family in families.items()
            if any(s.labels.get("service") == service for s in family.samples)
        }
        expected = {
            spec.name for spec in CATALOGUE.values() if service in spec.owners and spec.enumerated()
        } | {"etsygen_events_consumed", "etsygen_consumer_lag", "etsygen_db_query_seconds"}
        assert expected <= own, f"{service} has no series of {sorted(expected - own)}"

    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(scraped["gateway"])
        for s in f.samples
    }

    before: Series = stack["before"]

    def total(name: str, **labels: str) -> float:
        """The series of ``name`` summed as this stack's services export them (for gauges)."""
        return sum(v for (n, ls), v in samples.items() if n == name and labels.items() <= dict(ls).items())

    def added(name: str, **labels: str) -> float:
        """What this stack added to the counter ``name`` (earlier tests in the process count too)."""
        return sum(
            v - before.get((n, ls), 0.0)
            for (n, ls), v in samples.items()
            if n == name and labels.items() <= dict(ls).items()
        )

    assert added("etsygen_gateway_jobs_finished_total") == 1
    assert added("etsygen_gateway_job_duration_seconds_count") == 1
    assert added("etsygen_analyzer_estimated_monthly_revenue_count", service="analyzer") >= 1
    assert total("etsygen_scraper_etsy_rate_limit", service="scraper", window="day") > 0
    assert total("etsygen_gateway_health_score", service="gateway") > 0
