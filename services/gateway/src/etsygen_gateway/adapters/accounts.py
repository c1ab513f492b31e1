"""Postgres repository of users, sessions, API keys and invitations (the gateway's schema).

Functions take a connection (or the pool, for single statements) so callers decide the transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec


class UserRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A stored user."""

    id: str
    email: str
    role: str
    password_hash: str
    created_at: datetime
    disabled: bool = False


class CredentialRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A session or API key joined with its user, as authentication needs it."""

    user_id: str
    email: str
    role: str
    secret_hash: bytes
    key_id: str | None = None
    scopes: tuple[str, ...] = ()
    csrf_token: str | None = None
    expires_at: datetime | None = None


class ApiKeyRecord(msgspec.Struct, frozen=True, kw_only=True):
    """An API key as its owner sees it (never the secret)."""

    id: str
    name: str
    lookup: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


def _user(row: Any) -> UserRecord:
    return UserRecord(
        id=str(row["id"]),
        email=row["email"],
        role=row["role"],
        password_hash=row["password_hash"],
        created_at=row["created_at"],
        disabled=row["disabled_at"] is not None,
    )


async def insert_user(conn: Any, *, email: str, password_hash: str, role: str) -> UserRecord | None:
    """Create a user; None when the email is taken."""
    row = await conn.fetchrow(
        """INSERT INTO users (id, email, password_hash, role) VALUES ($1, $2, $3, $4)
           ON CONFLICT DO NOTHING
           RETURNING id, email, role, password_hash, created_at, disabled_at""",
        uuid.uuid4(),
        email,
        password_hash,
        role,
    )
    return _user(row) if row else None


async def user_by_email(conn: Any, email: str) -> UserRecord | None:
    """The user with this (normalised) email."""
    row = await conn.fetchrow(
        "SELECT id, email, role, password_hash, created_at, disabled_at FROM users WHERE lower(email) = $1",
        email,
    )
    return _user(row) if row else None


async def set_password_and_role(conn: Any, user_id: str, password_hash: str, role: str) -> None:
    """Replace a user's password hash and role (create-admin on an existing account)."""
    await conn.execute(
        "UPDATE users SET password_hash = $2, role = $3, disabled_at = NULL WHERE id = $1",
        uuid.UUID(user_id),
        password_hash,
        role,
    )


async def update_password_hash(conn: Any, user_id: str, password_hash: str) -> None:
    """Store a re-hashed password (after the hashing parameters were raised)."""
    await conn.execute("UPDATE users SET password_hash = $2 WHERE id = $1", uuid.UUID(user_id), password_hash)


async def insert_session(
    conn: Any,
    *,
    token_hash: bytes,
    user_id: str,
    csrf_token: str,
    expires_at: datetime,
    client_ip: str | None,
    user_agent: str | None,
) -> None:
    """Store a login session."""
    await conn.execute(
        """INSERT INTO sessions (token_hash, user_id, csrf_token, expires_at, client_ip, user_agent)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        token_hash,
        uuid.UUID(user_id),
        csrf_token,
        expires_at,
        client_ip,
        (user_agent or "")[:300] or None,
    )


async def session_credential(conn: Any, token_hash: bytes) -> CredentialRecord | None:
    """The live session with this token digest and its (enabled) user."""
    row = await conn.fetchrow(
        """SELECT s.token_hash, s.csrf_token, s.expires_at, u.id, u.email, u.role
           FROM sessions s JOIN users u ON u.id = s.user_id
           WHERE s.token_hash = $1 AND s.expires_at > now() AND u.disabled_at IS NULL""",
        token_hash,
    )
    if row is None:
        return None
    return CredentialRecord(
        user_id=str(row["id"]),
        email=row["email"],
        role=row["role"],
        secret_hash=bytes(row["token_hash"]),
        csrf_token=row["csrf_token"],
        expires_at=row["expires_at"],
    )


async def delete_session(conn: Any, token_hash: bytes) -> None:
    """End a session (logout)."""
    await conn.execute("DELETE FROM sessions WHERE token_hash = $1", token_hash)


async def insert_api_key(
    conn: Any,
    *,
    owner_id: str,
    name: str,
    lookup: str,
    key_hash: bytes,
    scopes: list[str],
    expires_at: datetime | None,
) -> ApiKeyRecord:
    """Store a new API key (its digest only)."""
    row = await conn.fetchrow(
        """INSERT INTO api_keys (id, owner_id, name, lookup, key_hash, scopes, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           RETURNING id, name, lookup, scopes, created_at, expires_at, last_used_at, revoked_at""",
        uuid.uuid4(),
        uuid.UUID(owner_id),
        name,
        lookup,
        key_hash,
        scopes,
        expires_at,
    )
    return _key(row)


def _key(row: Any) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=str(row["id"]),
        name=row["name"],
        lookup=row["lookup"],
        scopes=list(row["scopes"]),
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        last_used_at=row["last_used_at"],
        revoked_at=row["revoked_at"],
    )


async def api_key_credential(conn: Any, lookup: str) -> CredentialRecord | None:
    """The usable key with this lookup (not revoked, not expired) and its enabled owner."""
    row = await conn.fetchrow(
        """SELECT k.id AS key_id, k.key_hash, k.scopes, k.expires_at, u.id, u.email, u.role
           FROM api_keys k JOIN users u ON u.id = k.owner_id
           WHERE k.lookup = $1 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())
             AND u.disabled_at IS NULL""",
        lookup,
    )
    if row is None:
        return None
    return CredentialRecord(
        user_id=str(row["id"]),
        email=row["email"],
        role=row["role"],
        secret_hash=bytes(row["key_hash"]),
        key_id=str(row["key_id"]),
        scopes=tuple(row["scopes"]),
        expires_at=row["expires_at"],
    )


async def touch_api_key(conn: Any, key_id: str) -> None:
    """Record that a key was used now."""
    await conn.execute("UPDATE api_keys SET last_used_at = now() WHERE id = $1", uuid.UUID(key_id))


async def list_api_keys(conn: Any, owner_id: str) -> list[ApiKeyRecord]:
    """A user's keys, newest first, revoked ones included."""
    rows = await conn.fetch(
        """SELECT id, name, lookup, scopes, created_at, expires_at, last_used_at, revoked_at
           FROM api_keys WHERE owner_id = $1 ORDER BY created_at DESC LIMIT 500""",
        uuid.UUID(owner_id),
    )
    return [_key(r) for r in rows]


async def revoke_api_key(conn: Any, owner_id: str, key_id: str) -> str | None:
    """Revoke one of the owner's keys; returns its lookup, or None when the owner has no such key."""
    lookup: str | None = await conn.fetchval(
        """UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
           WHERE id = $1 AND owner_id = $2 RETURNING lookup""",
        uuid.UUID(key_id),
        uuid.UUID(owner_id),
    )
    return lookup


async def insert_invitation(
    conn: Any, *, token_hash: bytes, email: str, role: str, invited_by: str, expires_at: datetime
) -> None:
    """Store an invitation (its token's digest only)."""
    await conn.execute(
        """INSERT INTO invitations (token_hash, email, role, invited_by, expires_at)
           VALUES ($1, $2, $3, $4, $5)""",
        token_hash,
        email,
        role,
        uuid.UUID(invited_by),
        expires_at,
    )


async def claim_invitation(conn: Any, token_hash: bytes, email: str) -> str | None:
    """Lock an open invitation for ``email``; returns its role (call inside the sign-up transaction)."""
    role: str | None = await conn.fetchval(
        """SELECT role FROM invitations
           WHERE token_hash = $1 AND lower(email) = $2 AND accepted_at IS NULL AND expires_at > now()
           FOR UPDATE""",
        token_hash,
        email,
    )
    return role


async def accept_invitation(conn: Any, token_hash: bytes, user_id: str) -> None:
    """Mark an invitation used by the new user."""
    await conn.execute(
        "UPDATE invitations SET accepted_at = now(), accepted_by = $2 WHERE token_hash = $1",
        token_hash,
        uuid.UUID(user_id),
    )


async def any_user(conn: Any) -> bool:
    """Whether at least one account exists."""
    return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM users)"))


async def replace_setup_link(conn: Any, token_hash: bytes, ttl_s: int) -> datetime:
    """Retire every unused setup link and store a new one; returns when it expires."""
    await conn.execute("DELETE FROM setup_links WHERE used_at IS NULL")
    expires_at: datetime = await conn.fetchval(
        """INSERT INTO setup_links (token_hash, expires_at) VALUES ($1, now() + make_interval(secs => $2))
           RETURNING expires_at""",
        token_hash,
        float(ttl_s),
    )
    return expires_at


async def open_setup_link(conn: Any, token_hash: bytes, *, lock: bool = False) -> datetime | None:
    """When an unused, unexpired setup link with this digest expires (None if there is none)."""
    expires_at: datetime | None = await conn.fetchval(
        "SELECT expires_at FROM setup_links WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()"
        + (" FOR UPDATE" if lock else ""),
        token_hash,
    )
    return expires_at


async def use_setup_link(conn: Any, token_hash: bytes, user_id: str) -> None:
    """Mark a setup link used by the admin it created."""
    await conn.execute(
        "UPDATE setup_links SET used_at = now(), used_by = $2 WHERE token_hash = $1", token_hash, user_id
    )
