"""Roles, scopes, API-key shape and password rules."""

from __future__ import annotations

from etsygen_gateway.domain.accounts import (
    Principal,
    api_key_lookup,
    email_problem,
    issue_api_key,
    password_problem,
    same_digest,
)


def test_an_issued_key_is_found_by_its_lookup_and_verified_by_its_digest() -> None:
    issued = issue_api_key()
    assert issued.secret.startswith("egk_")
    assert api_key_lookup(issued.secret) == issued.lookup
    assert same_digest(issued.secret, issued.digest)
    assert not same_digest(issued.secret + "x", issued.digest)


def test_strings_not_shaped_like_our_keys_have_no_lookup() -> None:
    for bad in ["", "egk_", "egk_nothex12zzzz_secret", "Bearer x", "egk_0123456789ab", "x" * 300]:
        assert api_key_lookup(bad) is None


def test_a_key_can_do_only_what_both_its_scopes_and_its_owners_role_allow() -> None:
    viewer_key = Principal(
        user_id="u",
        email="v@example.com",
        role="viewer",
        method="api_key",
        key_scopes=frozenset({"read", "write"}),
    )
    assert viewer_key.allows("read")
    assert not viewer_key.allows("write")
    operator_key = Principal(
        user_id="u", email="o@example.com", role="operator", method="api_key", key_scopes=frozenset({"read"})
    )
    assert not operator_key.allows("generate")


def test_a_session_has_its_roles_scopes() -> None:
    admin = Principal(user_id="u", email="a@example.com", role="admin", method="session")
    assert admin.allows("admin")
    assert admin.rate_identity == "user:u"


def test_short_or_trivial_passwords_are_refused() -> None:
    assert password_problem("short") is not None
    assert password_problem("aaaaaaaaaaaa") is not None
    assert password_problem("me@example.com", "me@example.com") is not None
    assert password_problem("correct horse battery staple") is None


def test_email_addresses_are_checked_for_shape() -> None:
    assert email_problem("Someone@Example.COM") is None
    assert email_problem("not-an-email") is not None
