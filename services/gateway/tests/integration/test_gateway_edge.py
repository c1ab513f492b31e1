"""The HTTP edge: security headers, request ids, timing, body checks, problem details, rate limits, and
serving on when Redis is gone."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import asgi_client, running_gateway
from gateway_testkit import TestUser, make_user
from litestar import get
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client import REGISTRY

from etsygen_common.devstack import RedisServer
from etsygen_gateway.api.app import create_app

pytestmark = pytest.mark.integration

SECURITY_HEADERS = {
    "strict-transport-security",
    "content-security-policy",
    "x-frame-options",
    "x-content-type-options",
    "referrer-policy",
    "permissions-policy",
}


async def test_every_response_carries_security_headers_request_id_and_timing(
    client: Any, alice: TestUser
) -> None:
    responses = [
        await client.get("/v1/jobs", headers=alice.headers),
        await client.get("/no/such/path"),
        await client.delete("/v1/jobs", headers=alice.headers),
        await client.get("/v1/jobs"),
    ]
    assert [r.status_code for r in responses] == [200, 404, 405, 401]
    for response in responses:
        assert set(response.headers) >= SECURITY_HEADERS, response.request.url
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "default-src 'none'" in response.headers["content-security-policy"]
        assert response.headers["server-timing"].startswith("app;dur=")
        assert response.headers["x-response-time"].endswith("ms")
        assert len(response.headers["x-request-id"]) == 32
    for problem in responses[1:]:
        body = problem.json()
        assert problem.headers["content-type"] == "application/problem+json"
        assert {"type", "title", "status", "detail", "instance"} <= set(body)
        assert body["request_id"] == problem.headers["x-request-id"]
        assert body["instance"] == problem.request.url.path


async def test_a_well_formed_request_id_is_kept_and_a_bad_one_replaced(client: Any) -> None:
    kept = await client.get("/health/live", headers={"X-Request-ID": "trace-abc.123"})
    assert kept.headers["x-request-id"] == "trace-abc.123"
    replaced = await client.get("/health/live", headers={"X-Request-ID": "bad id\twith spaces"})
    assert replaced.headers["x-request-id"] != "bad id\twith spaces"
    fresh = {(await client.get("/health/live")).headers["x-request-id"] for _ in range(20)}
    assert len(fresh) == 20
    assert all(re.fullmatch("[0-9a-f]{32}", rid) for rid in fresh | {replaced.headers["x-request-id"]})


async def test_every_request_is_a_server_span_named_by_its_route_with_its_status(
    app: Any, alice: TestUser
) -> None:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    app.asgi_handler._tracer = provider.get_tracer("test")  # the edge's tracer, recording here
    job = str(uuid.uuid4())
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    async with asgi_client(app) as client:
        await client.get("/v1/trends", headers={**alice.headers, "traceparent": traceparent})
        await client.get(f"/v1/jobs/{job}", headers=alice.headers)
        await client.get("/no/such/path")
    by_name = {span.name: span for span in spans.get_finished_spans()}
    assert set(by_name) == {"GET /v1/trends", "GET /v1/jobs/{job_id}", "GET unmatched"}
    assert all(span.kind == SpanKind.SERVER for span in by_name.values())
    trends, job_span, unmatched = (
        by_name["GET /v1/trends"],
        by_name["GET /v1/jobs/{job_id}"],
        by_name["GET unmatched"],
    )
    assert dict(trends.attributes or {}) == {"http.response.status_code": 200}
    assert trends.parent is not None
    assert f"{trends.context.trace_id:032x}" == traceparent[3:35]
    assert dict(job_span.attributes or {}) == {
        "http.response.status_code": 404,
        "url.path": f"/v1/jobs/{job}",
    }
    assert job_span.parent is None
    assert dict(unmatched.attributes or {}) == {"http.response.status_code": 404, "url.path": "/no/such/path"}


async def test_bodies_must_be_json_and_small(settings_factory: Any, pg_url: str) -> None:
    async with running_gateway(settings_factory(gateway={"max_body_bytes": 200}), pg_url, listen=False) as gw:
        alice = await make_user(gw, "alice@example.com")
        async with asgi_client(create_app(gw)) as client:
            form = await client.post(
                "/v1/jobs",
                content=b"keywords=mug",
                headers={**alice.headers, "content-type": "application/x-www-form-urlencoded"},
            )
            assert form.status_code == 415
            assert form.json()["status"] == 415
            big = {"keywords": ["k" * 100, "l" * 100, "m" * 100]}
            too_large = await client.post("/v1/jobs", json=big, headers=alice.headers)
            assert too_large.status_code == 413
            assert too_large.headers["content-type"] == "application/problem+json"

            async def chunks() -> Any:  # no Content-Length: the limit applies while reading
                yield b'{"keywords": ["'
                yield b"x" * 400
                yield b'"]}'

            streamed = await client.post(
                "/v1/jobs", content=chunks(), headers={**alice.headers, "content-type": "application/json"}
            )
            assert streamed.status_code == 413


async def test_a_crash_is_a_problem_without_internals(gateway: Any) -> None:
    @get("/v1/boom", opt={"rate": "none"})
    async def boom() -> None:
        raise RuntimeError("secret connection string postgres://user:pw@db")

    async with asgi_client(create_app(gateway, extra_route_handlers=[boom])) as client:
        response = await client.get("/v1/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "secret" not in response.text
    assert response.json()["request_id"] == response.headers["x-request-id"]


async def test_the_api_tier_limits_and_says_so(settings_factory: Any, pg_url: str) -> None:
    async with running_gateway(
        settings_factory(rate={"api_limit": 3, "api_window_s": 60}), pg_url, listen=False
    ) as gw:
        alice = await make_user(gw, "alice@example.com")
        async with asgi_client(create_app(gw)) as client:
            responses = [await client.get("/v1/jobs", headers=alice.headers) for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert [r.headers["x-ratelimit-remaining"] for r in responses] == ["2", "1", "0", "0"]
    assert responses[0].headers["ratelimit-policy"] == '"api";q=3;w=60'
    assert responses[0].headers["ratelimit"] == '"api";r=2;t=20'
    limited = responses[-1]
    assert limited.headers["retry-after"] == "20"
    assert limited.json()["type"] == "https://etsygen.dev/problems/rate-limited"
    assert limited.json()["retry_after"] == 20


async def test_anonymous_clients_are_limited_per_ip_honouring_only_trusted_proxies(
    settings_factory: Any, pg_url: str
) -> None:
    settings = settings_factory(
        rate={"api_limit": 1, "api_window_s": 60}, gateway={"trusted_proxies": ["10.0.0.0/8"]}
    )
    async with running_gateway(settings, pg_url, listen=False) as gw:
        app = create_app(gw)
        async with (
            asgi_client(app, client_ip="10.1.2.3") as proxy,
            asgi_client(app, client_ip="198.51.100.9") as direct,
        ):
            # Behind the trusted proxy, each forwarded client has its own budget.
            a = [
                (await proxy.get("/v1/jobs", headers={"x-forwarded-for": "192.0.2.1"})).status_code
                for _ in range(2)
            ]
            b = (await proxy.get("/v1/jobs", headers={"x-forwarded-for": "192.0.2.2"})).status_code
            # A direct client cannot escape its budget by claiming to be someone else.
            c = [
                (await direct.get("/v1/jobs", headers={"x-forwarded-for": f"192.0.2.{i}"})).status_code
                for i in range(10, 12)
            ]
    assert a == [401, 429]
    assert b == 401
    assert c == [401, 429]


async def test_without_redis_the_gateway_serves_uncached_and_unlimited(
    settings_factory: Any, pg_url: str, tmp_path: Path
) -> None:
    server = RedisServer(tmp_path / "redis").start()
    settings = settings_factory()
    common = settings.common.__class__(
        **{
            **{f: getattr(settings.common, f) for f in settings.common.__struct_fields__},
            "redis": settings.common.redis.__class__(url=server.url, key_prefix="t:"),
        }
    )
    settings = settings.__class__(
        common=common, gateway=settings.gateway, rate=settings.rate, cache=settings.cache
    )
    try:
        async with running_gateway(settings, pg_url, listen=False) as gw:
            alice = await make_user(gw, "alice@example.com")
            async with asgi_client(create_app(gw)) as client:
                assert "x-ratelimit-limit" in (await client.get("/v1/jobs", headers=alice.headers)).headers
                server.stop()
                before = (
                    REGISTRY.get_sample_value(
                        "etsygen_gateway_ratelimit_fail_open_total", {"service": "gateway", "tier": "api"}
                    )
                    or 0
                )
                listed = await client.get("/v1/jobs", headers=alice.headers)
                created = await client.post("/v1/jobs", json={"keywords": ["mug"]}, headers=alice.headers)
                detail = await client.get(created.headers["location"], headers=alice.headers)
                ready = await client.get("/health/ready")
                health = await client.get("/v1/health", headers=alice.headers)
                after = REGISTRY.get_sample_value(
                    "etsygen_gateway_ratelimit_fail_open_total", {"service": "gateway", "tier": "api"}
                )
    finally:
        server.stop()
    assert (listed.status_code, created.status_code, detail.status_code) == (200, 202, 200)
    assert "x-ratelimit-limit" not in listed.headers
    assert after is not None
    assert after >= before + 4
    assert ready.status_code == 200
    assert ready.json()["status"] == "degraded"
    assert ready.json()["checks"]["redis"]["status"] == "degraded"
    components = {c["name"]: c["state"] for c in health.json()["components"]}
    assert components["redis"] == "degraded"
    assert components["postgres"] == "ok"
    assert 0 < health.json()["score"] < 1


async def test_options_lists_every_method_of_the_path(client: Any, alice: TestUser) -> None:
    # Litestar 2 listed only the methods of a path's first handler (GET, OPTIONS for /v1/jobs).
    for path, allowed in (
        ("/v1/jobs", "GET, OPTIONS, POST"),
        ("/v1/api-keys", "GET, OPTIONS, POST"),
        ("/health/live", "GET, OPTIONS"),
    ):
        answer = await client.options(path, headers=alice.headers)
        assert (answer.status_code, answer.headers["allow"]) == (204, allowed), path


async def test_metrics_and_the_openapi_document_are_served(client: Any, alice: TestUser) -> None:
    await client.get("/v1/jobs", headers=alice.headers)
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert (
        'etsygen_gateway_http_requests_total{method="GET",route="/v1/jobs",service="gateway",status="200"}'
        in metrics.text
    )
    labels = {"service": "gateway", "method": "GET", "route": "/v1/jobs"}
    count = REGISTRY.get_sample_value("etsygen_gateway_http_request_seconds_count", labels)
    assert count is not None
    assert count >= 1
    assert (
        REGISTRY.get_sample_value("etsygen_gateway_http_request_seconds_bucket", {**labels, "le": "+Inf"})
        == count
    )
    schema = (await client.get("/schema/openapi.json")).json()
    problem = schema["paths"]["/v1/jobs"]["post"]["responses"]["429"]["content"]
    assert "application/problem+json" in problem
    assert (await client.get("/schema/openapi.yaml")).text.startswith("components:")


async def test_the_api_docs_are_served_by_the_gateway_alone(client: Any) -> None:
    docs = await client.get("/schema")
    assert docs.status_code == 200
    csp = docs.headers["content-security-policy"]
    assert "script-src 'self';" in csp
    assert "style-src 'self';" in csp
    assert "https:" not in csp
    assert "unsafe" not in csp
    assert "http" not in docs.text.replace("http-equiv", "")  # no URL of another host in the page
    assert "ratelimit" in docs.headers
    assets = re.findall(r'(?:src|href)="(/schema/assets/[^"]+)"', docs.text)
    assert len(assets) == 5
    for asset in assets:
        response = await client.get(asset)
        assert response.status_code == 200, asset
        assert "ratelimit" not in response.headers  # the page costs one API-tier request, its files none
        assert response.headers["content-security-policy"] == csp
    assert (await client.get("/schema/assets/no-such-file.js")).status_code == 404


async def test_the_bare_url_redirects_to_the_dashboard(client: Any) -> None:
    for response in (await client.get("/"), await client.head("/")):
        assert response.status_code in {302, 307}
        assert response.headers["location"] == "/dashboard/"
        assert "ratelimit" not in response.headers
    assert "/" not in (await client.get("/schema/openapi.json")).json()["paths"]


async def test_a_static_dashboard_folder_can_be_mounted(
    settings_factory: Any, pg_url: str, tmp_path: Path
) -> None:
    (tmp_path / "index.html").write_text("<!doctype html><title>Etsy-Gen</title>")
    settings = settings_factory(gateway={"static_dir": str(tmp_path)})
    async with running_gateway(settings, pg_url, listen=False) as gw, asgi_client(create_app(gw)) as client:
        page = await client.get("/dashboard/")
    assert page.status_code == 200
    assert "Etsy-Gen" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cross-origin-opener-policy"] == "same-origin"
