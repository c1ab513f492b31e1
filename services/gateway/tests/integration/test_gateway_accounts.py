"""Sign-up, login sessions with CSRF, API keys and roles, through the HTTP API."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from conftest import asgi_client, gateway_with, running_gateway
from gateway_testkit import PASSWORD, TestUser, make_user
from prometheus_client import REGISTRY

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


def behind_proxy(settings_factory: Any, pg_url: str, **rate: Any) -> gateway_with:
    """A gateway where the test client (203.0.113.7) is a trusted proxy, so each request names its client in
    X-Forwarded-For; ``rate`` overrides limits."""
    settings = settings_factory(gateway={"trusted_proxies": ["203.0.113.0/24"]}, rate=rate)
    return gateway_with(settings, pg_url)


async def attempt(client: Any, path: str, email: str, password: str, ip: str = "192.0.2.1") -> Any:
    """A sign-in (``path`` login) or sign-up (``path`` signup) from client ``ip``."""
    return await client.post(
        f"/v1/auth/{path}", json={"email": email, "password": password}, headers={"x-forwarded-for": ip}
    )


def password_failures() -> float:
    return REGISTRY.get_sample_value("etsygen_gateway_auth_failures_total", {"kind": "password"}) or 0


async def test_successful_sign_ins_never_lock_anyone_out(client: Any, alice: TestUser) -> None:
    statuses = [(await attempt(client, "login", alice.email, PASSWORD)).status_code for _ in range(6)]
    assert statuses == [200] * 6  # within a minute, more than the 5 failures an account may have
    # Nor do they spend the failure budget: four failures and a success leave one failure to go.
    statuses = [(await attempt(client, "login", alice.email, "wrong one")).status_code for _ in range(4)]
    assert statuses == [401] * 4
    ok = await attempt(client, "login", alice.email, PASSWORD)
    assert ok.status_code == 200
    assert '"auth-failures-account";r=1;' in ok.headers["ratelimit"]
    statuses = [(await attempt(client, "login", alice.email, "wrong one")).status_code for _ in range(2)]
    assert statuses == [401, 429]


async def test_failed_sign_ins_lock_the_account_even_against_the_right_password(
    settings_factory: Any, pg_url: str
) -> None:
    async with behind_proxy(settings_factory, pg_url) as (_, client, alice):
        # Five different clients, one account.
        statuses = [
            (await attempt(client, "login", alice.email, "not it", ip=f"198.51.100.{i}")).status_code
            for i in range(5)
        ]
        assert statuses == [401] * 5
        # OWASP: once locked, the account refuses further attempts until the window lets one back, the right
        # password included (else the lock would only slow a guesser down until it finds it), and it refuses
        # them before any password is checked.
        checked = password_failures()
        locked = await attempt(client, "login", alice.email, PASSWORD, ip="198.51.100.99")
        assert locked.status_code == 429
        assert locked.headers["content-type"] == "application/problem+json"
        assert locked.json()["type"].endswith("/rate-limited")
        # One attempt comes back every 900 s / 5.
        assert locked.json()["detail"] == (
            "too many failed sign-in attempts for this account; try again in 3 minutes"
        )
        assert int(locked.headers["retry-after"]) == 180
        assert locked.headers["x-ratelimit-remaining"] == "0"
        assert '"auth-failures-account";q=5;w=900' in locked.headers["ratelimit-policy"]
        guess = await attempt(client, "login", alice.email, "another guess", ip="198.51.100.98")
        assert guess.status_code == 429
        assert password_failures() == checked
        await attempt(client, "signup", "bob@example.com", PASSWORD, ip="198.51.100.99")
        unlocked = await attempt(client, "login", "bob@example.com", PASSWORD, ip="198.51.100.99")
        assert unlocked.status_code == 200  # the lock is the account's, not everyone's


async def test_failures_from_one_address_across_accounts_lock_that_address(
    settings_factory: Any, pg_url: str
) -> None:
    async with behind_proxy(settings_factory, pg_url) as (_, client, alice):
        ip = "192.0.2.50"
        statuses = [
            (await attempt(client, "login", f"nobody{i}@example.com", "whatever", ip=ip)).status_code
            for i in range(5)
        ]
        assert statuses == [401] * 5
        locked = await attempt(client, "login", alice.email, PASSWORD, ip=ip)
        assert locked.status_code == 429
        assert locked.json()["detail"].startswith(
            "too many failed sign-in attempts from your network address; try again in"
        )
        elsewhere = await attempt(client, "login", alice.email, PASSWORD, ip="192.0.2.51")
        assert elsewhere.status_code == 200


async def test_concurrent_failed_attempts_do_not_slip_past_the_limit(client: Any, alice: TestUser) -> None:
    responses = await asyncio.gather(
        *(attempt(client, "login", alice.email, f"guess {i}") for i in range(12))
    )
    assert sorted(r.status_code for r in responses) == [401] * 5 + [429] * 7


async def test_the_wide_per_address_limit_stops_a_flood_of_successful_sign_ins(
    settings_factory: Any, pg_url: str
) -> None:
    async with behind_proxy(settings_factory, pg_url, auth_requests_limit=3) as (_, client, alice):
        ok = [(await attempt(client, "login", alice.email, PASSWORD)).status_code for _ in range(2)]
        assert ok == [200, 200]
        malformed = await client.post(
            "/v1/auth/signup", json={"email": 1}, headers={"x-forwarded-for": "192.0.2.1"}
        )
        assert malformed.status_code == 400  # it counts too: the flood limit applies before any parsing
        flood = await attempt(client, "login", alice.email, PASSWORD)
        assert flood.status_code == 429
        assert flood.json()["detail"] == (
            "too many sign-up and sign-in requests from your network address; try again in 5 minutes"
        )
        assert flood.headers["ratelimit-policy"] == '"auth";q=3;w=900'
        assert int(flood.headers["retry-after"]) == 300
        other = await attempt(client, "login", alice.email, PASSWORD, ip="192.0.2.61")
        assert other.status_code == 200


async def test_sign_ups_that_fail_count_as_failed_attempts_and_created_accounts_do_not(
    settings_factory: Any, pg_url: str
) -> None:
    async with behind_proxy(settings_factory, pg_url) as (_, client, _):
        created = [
            (await attempt(client, "signup", f"new{i}@example.com", PASSWORD)).status_code for i in range(6)
        ]
        assert created == [201] * 6
        # A weak password is refused before the attempt counts: nothing was guessed.
        weak = [(await attempt(client, "signup", "new9@example.com", "short")).status_code for _ in range(6)]
        assert weak == [400] * 6
        # Probing which addresses have accounts does count.
        taken = [
            (await attempt(client, "signup", f"new{i}@example.com", PASSWORD)).status_code for i in range(6)
        ]
        assert taken == [409] * 5 + [429]
        refused = await attempt(client, "signup", "new7@example.com", PASSWORD)
        assert refused.json()["detail"].startswith("too many failed sign-up attempts from your network")


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
