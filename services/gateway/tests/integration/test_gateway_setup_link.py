"""The first admin through a one-time setup link: issued only while no account exists, spent once, retired by
a newer link, refused when used, expired or replaced (with a problem that names the fix)."""

from __future__ import annotations

from typing import Any

import pytest
from gateway_testkit import PASSWORD

from etsygen_gateway.gateway import Gateway
from etsygen_gateway.service_layer.first_admin import issue_setup_link

pytestmark = pytest.mark.integration


async def test_a_setup_link_creates_the_first_admin_once(gateway: Gateway, client: Any) -> None:
    link = await issue_setup_link(gateway.pool, 900)
    assert link is not None

    status = await client.get("/v1/auth/setup", params={"token": link.token})
    assert status.status_code == 200, status.text
    assert status.json()["expires_at"]

    created = await client.post(
        "/v1/auth/setup", json={"token": link.token, "email": "Root@Example.com", "password": PASSWORD}
    )
    assert created.status_code == 201, created.text
    assert created.json()["role"] == "admin"
    assert created.json()["email"] == "root@example.com"
    login = await client.post("/v1/auth/login", json={"email": "root@example.com", "password": PASSWORD})
    assert login.status_code == 200

    again = await client.post(
        "/v1/auth/setup", json={"token": link.token, "email": "second@example.com", "password": PASSWORD}
    )
    assert again.status_code == 404
    assert again.headers["content-type"] == "application/problem+json"
    assert "etsygen users setup-link" in again.json()["detail"]
    assert (await client.get("/v1/auth/setup", params={"token": link.token})).status_code == 404
    # Once an account exists there is no new link either.
    assert await issue_setup_link(gateway.pool, 900) is None
    assert await gateway.pool.fetchval("SELECT count(*) FROM users") == 1


async def test_a_newer_link_retires_the_older_one_and_a_weak_password_keeps_the_link(
    gateway: Gateway, client: Any
) -> None:
    first = await issue_setup_link(gateway.pool, 900)
    second = await issue_setup_link(gateway.pool, 900)
    assert first is not None
    assert second is not None
    assert first.token != second.token
    replaced = await client.post(
        "/v1/auth/setup", json={"token": first.token, "email": "a@example.com", "password": PASSWORD}
    )
    assert replaced.status_code == 404

    weak = await client.post(
        "/v1/auth/setup", json={"token": second.token, "email": "a@example.com", "password": "short"}
    )
    assert weak.status_code == 400  # refused by the request schema, before the link is touched
    assert "password" in weak.text
    created = await client.post(
        "/v1/auth/setup", json={"token": second.token, "email": "a@example.com", "password": PASSWORD}
    )
    assert created.status_code == 201, created.text


async def test_an_expired_link_is_refused(gateway: Gateway, client: Any) -> None:
    link = await issue_setup_link(gateway.pool, 900)
    assert link is not None
    # Time passes: the link's expiry is moved into the past (the server compares with its own clock).
    await gateway.pool.execute("UPDATE setup_links SET expires_at = now() - interval '1 second'")
    expired = await client.post(
        "/v1/auth/setup", json={"token": link.token, "email": "late@example.com", "password": PASSWORD}
    )
    assert expired.status_code == 404
    assert "expired" in expired.json()["detail"]
    assert await gateway.pool.fetchval("SELECT count(*) FROM users") == 0


async def test_four_concurrent_setups_with_one_link_make_one_admin(gateway: Gateway, client: Any) -> None:
    import asyncio

    link = await issue_setup_link(gateway.pool, 900)
    assert link is not None
    answers = await asyncio.gather(
        *(
            client.post(
                "/v1/auth/setup",
                json={"token": link.token, "email": f"race{i}@example.com", "password": PASSWORD},
            )
            for i in range(4)
        )
    )
    assert sorted(a.status_code for a in answers) == [201, 404, 404, 404]
    assert await gateway.pool.fetchval("SELECT count(*) FROM users WHERE role = 'admin'") == 1
