"""Sign-up, login sessions with CSRF, API keys and roles, through the HTTP API."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import asgi_client, running_gateway
from gateway_testkit import PASSWORD, TestUser, make_user

from etsygen_gateway.api.app import create_app
from etsygen_gateway.gateway import Gateway

pytestmark = pytest.mark.integration


async def login(client: Any, email: str, password: str = PASSWORD) -> str:
    response = await client.post("/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["csrf_token"])


def set_cookie_headers(response: Any) -> list[str]:
    return [v for k, v in response.headers.multi_items() if k == "set-cookie"]


async def test_open_signup_then_login_sets_hardened_cookies(client: Any) -> None:
    created = await client.post("/v1/auth/signup", json={"email": "New@Example.com", "password": PASSWORD})
    assert created.status_code == 201, created.text
    assert created.json()["email"] == "new@example.com"
    assert created.json()["role"] == "operator"

    response = await client.post("/v1/auth/login", json={"email": "new@example.com", "password": PASSWORD})
    assert response.status_code == 200
    session, csrf = sorted(set_cookie_headers(response), key=lambda c: "csrf" in c)
    assert session.startswith("__Host-etsygen_session=")
    for flag in ("HttpOnly", "Secure", "SameSite=strict", "Path=/"):
        assert flag in session
    assert csrf.startswith("__Host-etsygen_csrf=")
    assert "HttpOnly" not in csrf
    assert "Secure" in csrf

    me = await client.get("/v1/auth/me")
    assert me.status_code == 200
    assert me.json()["method"] == "session"


async def test_a_duplicate_signup_conflicts_and_a_weak_password_is_refused(
    client: Any, alice: TestUser
) -> None:
    duplicate = await client.post(
        "/v1/auth/signup", json={"email": "ALICE@example.com", "password": PASSWORD}
    )
    assert duplicate.status_code == 409
    assert duplicate.headers["content-type"] == "application/problem+json"
    weak = await client.post("/v1/auth/signup", json={"email": "weak@example.com", "password": "short"})
    # The minimum length is declared in the document, so request validation refuses it (400).
    assert weak.status_code == 400
    assert ">= 10" in weak.json()["errors"][0]["message"]
    same = await client.post("/v1/auth/signup", json={"email": "weak@example.com", "password": "ab" * 6})
    assert same.status_code == 400, "at least four different characters, as the document says"


async def test_invite_only_signup_needs_a_valid_invitation(settings_factory: Any, pg_url: str) -> None:
    async with running_gateway(
        settings_factory(gateway={"signup_mode": "invite"}), pg_url, listen=False
    ) as gw:
        root = await make_user(gw, "root@example.com", role="admin")
        async with asgi_client(create_app(gw)) as client:
            body = {"email": "invited@example.com", "password": PASSWORD}
            refused = await client.post("/v1/auth/signup", json=body)
            assert refused.status_code == 403

            invitation = await client.post(
                "/v1/admin/invitations",
                json={"email": "Invited@example.com", "role": "viewer"},
                headers=root.headers,
            )
            assert invitation.status_code == 201, invitation.text
            token = invitation.json()["token"]

            wrong_email = await client.post(
                "/v1/auth/signup",
                json={"email": "other@example.com", "password": PASSWORD, "invitation": token},
            )
            assert wrong_email.status_code == 403
            accepted = await client.post("/v1/auth/signup", json={**body, "invitation": token})
            assert accepted.status_code == 201
            assert accepted.json()["role"] == "viewer"
            reused = await client.post(
                "/v1/auth/signup",
                json={"email": "again@example.com", "password": PASSWORD, "invitation": token},
            )
            assert reused.status_code == 403


async def test_sign_in_attempts_are_limited_per_account_and_per_client_ip(
    settings_factory: Any, pg_url: str
) -> None:
    # The test client connects from 203.0.113.7: make it a trusted proxy so X-Forwarded-For names clients.
    settings = settings_factory(gateway={"trusted_proxies": ["203.0.113.0/24"]})
    async with running_gateway(settings, pg_url, listen=False) as gw:
        alice = await make_user(gw, "alice@example.com")
        async with asgi_client(create_app(gw)) as client:
            statuses = []
            for attempt in range(6):  # six different clients, one account
                response = await client.post(
                    "/v1/auth/login",
                    json={"email": alice.email, "password": "not the password"},
                    headers={"x-forwarded-for": f"198.51.100.{attempt}"},
                )
                statuses.append(response.status_code)
            assert statuses == [401] * 5 + [429]
            assert int(response.headers["retry-after"]) > 0
            assert response.json()["type"].endswith("/rate-limited")
            assert response.headers["x-ratelimit-remaining"] == "0"

            statuses = []
            for attempt in range(6):  # one client, six different accounts
                response = await client.post(
                    "/v1/auth/login",
                    json={"email": f"nobody{attempt}@example.com", "password": "whatever it is"},
                    headers={"x-forwarded-for": "192.0.2.50"},
                )
                statuses.append(response.status_code)
            assert statuses == [401] * 5 + [429]


async def test_cookie_sessions_need_the_csrf_token_for_unsafe_requests(client: Any, alice: TestUser) -> None:
    csrf = await login(client, alice.email)
    without = await client.post("/v1/jobs", json={"keywords": ["mug"]})
    assert without.status_code == 403
    assert "CSRF" in without.json()["detail"]
    wrong = await client.post("/v1/jobs", json={"keywords": ["mug"]}, headers={"X-CSRF-Token": "forged"})
    assert wrong.status_code == 403
    ok = await client.post("/v1/jobs", json={"keywords": ["mug"]}, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 202
    read = await client.get("/v1/jobs")
    assert read.status_code == 200  # safe methods need no token


async def test_api_keys_need_no_csrf_token(client: Any, alice: TestUser) -> None:
    response = await client.post("/v1/jobs", json={"keywords": ["mug"]}, headers=alice.headers)
    assert response.status_code == 202


async def test_logout_ends_the_session(client: Any, alice: TestUser) -> None:
    csrf = await login(client, alice.email)
    response = await client.post("/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 204
    assert any("Max-Age=0" in c for c in set_cookie_headers(response))
    assert (await client.get("/v1/jobs")).status_code == 401


async def test_api_keys_are_shown_once_scoped_and_revocable(
    client: Any, gateway: Gateway, alice: TestUser
) -> None:
    csrf = await login(client, alice.email)
    headers = {"X-CSRF-Token": csrf}
    created = await client.post("/v1/api-keys", json={"name": "ci", "scopes": ["read"]}, headers=headers)
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    key_id = created.json()["id"]
    listed = await client.get("/v1/api-keys")
    assert all("key" not in k for k in listed.json()["items"])
    assert any(k["id"] == key_id and k["prefix"] == key[: len(k["prefix"])] for k in listed.json()["items"])

    async with asgi_client(create_app(gateway)) as program:
        assert (await program.get("/v1/jobs", headers={"Authorization": f"Bearer {key}"})).status_code == 200
        assert (
            await program.post("/v1/jobs", json={"keywords": ["x"]}, headers={"X-API-Key": key})
        ).status_code == 403
        used = await client.get("/v1/api-keys")
        assert next(k for k in used.json()["items"] if k["id"] == key_id)["last_used_at"] is not None

        assert (await client.delete(f"/v1/api-keys/{key_id}", headers=headers)).status_code == 204
        revoked = await program.get("/v1/jobs", headers={"X-API-Key": key})
        assert revoked.status_code == 401
        assert revoked.headers["www-authenticate"].startswith("Bearer")


async def test_nobody_grants_more_than_they_have(client: Any, gateway: Gateway) -> None:
    viewer = await make_user(gateway, "viewer@example.com", role="viewer")
    csrf = await login(client, viewer.email)
    response = await client.post(
        "/v1/api-keys", json={"name": "x", "scopes": ["read", "write"]}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code == 403
    # A key cannot mint keys unless it carries the admin scope.
    by_key = await client.post("/v1/api-keys", json={"name": "x", "scopes": ["read"]}, headers=viewer.headers)
    assert by_key.status_code == 403


async def test_roles_decide_what_each_user_may_do(client: Any, gateway: Gateway, alice: TestUser) -> None:
    viewer = await make_user(gateway, "viewer@example.com", role="viewer")
    assert (await client.get("/v1/jobs", headers=viewer.headers)).status_code == 200
    assert (
        await client.post("/v1/jobs", json={"keywords": ["x"]}, headers=viewer.headers)
    ).status_code == 403
    assert (await client.get("/v1/admin/dead-letters", headers=alice.headers)).status_code == 403
    anonymous = await client.get("/v1/jobs")
    assert anonymous.status_code == 401
    assert anonymous.json()["status"] == 401
    bad_key = await client.get("/v1/jobs", headers={"X-API-Key": "egk_0123456789ab_nope"})
    assert bad_key.status_code == 401
