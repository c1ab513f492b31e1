"""The first admin: ``etsygen users create-admin``, and one-time setup links while no account exists."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import msgspec

from etsygen_gateway.adapters import accounts as repo
from etsygen_gateway.adapters.passwords import Passwords
from etsygen_gateway.domain.accounts import (
    digest,
    new_token,
)
from etsygen_gateway.domain.views import UserView
from etsygen_gateway.errors import (
    ConflictError,
    NotFoundError,
)
from etsygen_gateway.service_layer.accounts import check_credentials, claim_attempt, user_view
from etsygen_gateway.service_layer.budgets import Budgets


async def create_admin(pool: Any, email: str, password: str, passwords: Passwords | None = None) -> UserView:
    """Create an admin account, or make an existing account an admin with this password.

    What ``etsygen users create-admin`` runs: the way to the first admin when sign-up is by invitation.

    Raises:
        InvalidRequestError: bad email or weak password.
    """
    email = check_credentials(email, password)
    hashed = await (passwords or Passwords()).hash(password)
    async with pool.acquire() as conn, conn.transaction():
        existing = await repo.user_by_email(conn, email)
        if existing is not None:
            await repo.set_password_and_role(conn, existing.id, hashed, "admin")
            return UserView(
                id=existing.id, email=existing.email, role="admin", created_at=existing.created_at
            )
        user = await repo.insert_user(conn, email=email, password_hash=hashed, role="admin")
        if user is None:  # created concurrently between our read and insert
            raise ConflictError("an account with this email was created concurrently; run the command again")
        return user_view(user)


FIRST_ADMIN_LOCK: Final = "etsygen.gateway.first-admin"
"""Advisory lock that serialises issuing and using setup links, so two links can never make two admins."""

SETUP_LINK_GONE: Final = (
    "this setup link was used, has expired, or was replaced by a newer one; run `etsygen users setup-link` "
    "for a new link (it works only while no account exists), or `etsygen users create-admin EMAIL`"
)


class SetupLink(msgspec.Struct, frozen=True, kw_only=True):
    """A one-time link that creates the first admin; ``token`` is shown this once."""

    token: str
    expires_at: datetime


async def issue_setup_link(pool: Any, ttl_s: int) -> SetupLink | None:
    """A new one-time first-admin link while no account exists (None once one does).

    Issuing retires earlier unused links: only the link printed last works.
    """
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", FIRST_ADMIN_LOCK)
        if await repo.any_user(conn):
            return None
        token = new_token()
        expires_at = await repo.replace_setup_link(conn, digest(token), ttl_s)
    return SetupLink(token=token, expires_at=expires_at)


async def setup_link_expiry(pool: Any, attempts: Budgets, token: str) -> datetime:
    """When a usable setup link expires; an unknown token counts as a failed attempt.

    Raises:
        NotFoundError: the link was used, has expired or was replaced.
        RateLimitedError: too many failed attempts from this client IP.
    """
    await claim_attempt(attempts, "setup")
    async with pool.acquire() as conn:
        expires_at = await repo.open_setup_link(conn, digest(token))
    if expires_at is None:
        raise NotFoundError(SETUP_LINK_GONE)
    await attempts.refund()
    return expires_at


async def complete_setup(
    pool: Any, passwords: Passwords, attempts: Budgets, *, token: str, email: str, password: str
) -> UserView:
    """Create the first admin with a setup link; the link is spent in the same transaction.

    A refused link counts as a failed attempt (like a wrong password), a weak password does not.

    Raises:
        InvalidRequestError: bad email or weak password (the link stays usable).
        NotFoundError: the link was used, has expired or was replaced.
        ConflictError: an account exists already.
        RateLimitedError: too many failed attempts from this client IP.
    """
    email = check_credentials(email, password)
    await claim_attempt(attempts, "setup")
    hashed = await passwords.hash(password)
    token_hash = digest(token)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", FIRST_ADMIN_LOCK)
        if await repo.open_setup_link(conn, token_hash, lock=True) is None:
            raise NotFoundError(SETUP_LINK_GONE)
        if await repo.any_user(conn):
            raise ConflictError("an account exists already: sign in, or ask an admin to invite you")
        user = await repo.insert_user(conn, email=email, password_hash=hashed, role="admin")
        if user is None:  # unreachable while the lock is held and no user exists; kept as a guard
            raise ConflictError("an account with this email exists already")
        await repo.use_setup_link(conn, token_hash, user.id)
    await attempts.refund()
    return user_view(user)
