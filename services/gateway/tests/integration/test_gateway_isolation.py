"""Tenant isolation over every route: bob never sees or changes alice's jobs, trends, products or keys, and
what is not his is "not found" (404), not "forbidden" (which would confirm it exists)."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import asgi_client
from gateway_testkit import TestUser, WebSocketSession, generated, project, scored

from etsygen_gateway.gateway import Gateway

pytestmark = pytest.mark.integration

PUBLIC_OR_ACCOUNT_ROUTES = {
    "/health/live",
    "/health/ready",
    "/metrics",
    "/v1/health",
    "/v1/health/live-stream",
    "/v1/auth/signup",
    "/v1/auth/setup",
    "/v1/auth/login",
    "/v1/auth/logout",
    "/v1/auth/me",
    "/v1/api-keys",
    "/v1/admin/dead-letters",
    "/v1/admin/dead-letters/{letter_id:int}",
    "/v1/admin/dead-letters/{letter_id:int}/replay",
    "/v1/admin/dead-letters/{letter_id:int}/discard",
    "/v1/admin/breakers",
    "/v1/admin/invitations",
    "/",
    "/dashboard",
    "/dashboard/{file_path:path}",
}
"""Routes without owned resources in their path (platform-wide, static files, the caller's own account, or
admin-only, which bob's role refuses: see test_gateway_accounts)."""


async def test_bob_cannot_see_or_touch_anything_of_alices(
    app: Any, client: Any, gateway: Gateway, alice: TestUser, bob: TestUser
) -> None:
    job = (await client.post("/v1/jobs", json={"keywords": ["mug"]}, headers=alice.headers)).json()["id"]
    trend = scored(job, alice.id, "mug")
    product = generated(job, alice.id, "mug")
    await project(gateway, trend)
    await project(gateway, product)
    async with gateway.pool.acquire() as conn:
        outbox_before = await conn.fetchval("SELECT count(*) FROM outbox")

    owned = {
        ("GET", "/v1/jobs/{job_id:uuid}"): f"/v1/jobs/{job}",
        ("GET", "/v1/jobs/{job_id:uuid}/timeline"): f"/v1/jobs/{job}/timeline",
        ("GET", "/v1/jobs/{job_id:uuid}/events"): f"/v1/jobs/{job}/events",
        ("POST", "/v1/jobs/{job_id:uuid}/cancel"): f"/v1/jobs/{job}/cancel",
        ("GET", "/v1/trends/{trend_id:str}"): f"/v1/trends/{trend.snapshot_id}",
        ("POST", "/v1/trends/{trend_id:str}/generate"): f"/v1/trends/{trend.snapshot_id}/generate",
        ("GET", "/v1/products/{product_id:str}"): f"/v1/products/{product.product_id}",
        ("POST", "/v1/products/{product_id:str}/publish"): f"/v1/products/{product.product_id}/publish",
    }
    for (method, _), path in owned.items():
        body = {"shop_id": 1} if path.endswith("/publish") else None
        response = await client.request(method, path, json=body, headers=bob.headers)
        assert response.status_code == 404, (method, path, response.status_code)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 404

    # Keys are managed with a session: bob logs in and tries to revoke alice's key.
    async with asgi_client(app) as browser:
        login = await browser.post("/v1/auth/login", json={"email": bob.email, "password": bob.password})
        revoke = await browser.delete(
            f"/v1/api-keys/{alice.key_id}", headers={"X-CSRF-Token": login.json()["csrf_token"]}
        )
        assert revoke.status_code == 404
        owned[("DELETE", "/v1/api-keys/{key_id:uuid}")] = revoke.request.url.path

    collections = {
        "/v1/jobs": {},
        "/v1/trends": {"job_id": job},
        "/v1/products": {"job_id": job},
    }
    for path, params in collections.items():
        for query in ({}, params):
            assert (await client.get(path, params=query, headers=bob.headers)).json()["items"] == [], path
    export = await client.get("/v1/products/export.csv", headers=bob.headers)
    assert len(export.text.splitlines()) == 1  # the header only
    keys = (await client.get("/v1/api-keys", headers=bob.headers)).json()["items"]
    assert alice.key_id not in {k["id"] for k in keys}
    async with WebSocketSession(app, f"/v1/jobs/{job}/live", headers=bob.headers) as ws:
        assert not ws.accepted

    # Nothing of alice's changed, and bob's attempts emitted nothing.
    detail = (await client.get(f"/v1/jobs/{job}", headers=alice.headers)).json()
    assert detail["job"]["status"] != "cancelled"
    mine = (await client.get(f"/v1/products/{product.product_id}", headers=alice.headers)).json()
    assert mine["product"]["status"] == "draft"
    assert (await client.get("/v1/jobs", headers=alice.headers)).status_code == 200  # her key still works
    async with gateway.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM outbox") == outbox_before

    # Every route with an owned resource in its path was tried above.
    templates = {route.path for route in app.routes}
    tried = (
        {template for _, template in owned}
        | set(collections)
        | {
            "/v1/products/export.csv",
            "/v1/jobs/{job_id:uuid}/live",
        }
    )
    untested = {t for t in templates if not t.startswith("/schema")} - tried - PUBLIC_OR_ACCOUNT_ROUTES
    assert not untested, f"routes missing from the isolation test: {sorted(untested)}"
