"""Account use cases: sign-up, login/logout, API keys, invitations, the first admin, and authentication.

Authentication of a presented secret costs one indexed lookup; a verified principal is remembered in the
process for ``GATEWAY_AUTH_CACHE_S`` seconds (5 by default), which bounds how long a revoked key or ended
session keeps working on *other* gateway processes (the process that revokes forgets it at once).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final, cast

from etsygen_gateway.adapters import accounts as repo
from etsygen_gateway.adapters.jobs import as_uuid
from etsygen_gateway.adapters.passwords import Passwords
from etsygen_gateway.domain.accounts import (
    ROLES,
    SCOPES,
    Principal,
    Role,
    Scope,
    api_key_lookup,
    digest,
    email_problem,
    grantable_scopes,
    issue_api_key,
    new_token,
    normalize_email,
    password_problem,
    same_digest,
)
from etsygen_gateway.domain.views import ApiKeyList, ApiKeyView, UserView
from etsygen_gateway.errors import (
    ConflictError,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    UnauthenticatedError,
)
from etsygen_gateway.metrics import AUTH_FAILURES, SERVICE

TOUCH_EVERY_S: Final = 60.0
_CACHE_MAX: Final = 50_000


class Session(UserView, frozen=True, kw_only=True):
    """A login: the user plus the secrets that go into cookies (never stored in clear)."""

    token: str
    csrf_token: str
    expires_at: datetime


class NewApiKey(ApiKeyView, frozen=True, kw_only=True):
    """A freshly created API key; ``key`` is shown this once."""

    key: str


def user_view(user: repo.UserRecord) -> UserView:
    """The public fields of a user."""
    return UserView(id=user.id, email=user.email, role=user.role, created_at=user.created_at)


def key_view(key: repo.ApiKeyRecord) -> ApiKeyView:
    """The public fields of an API key."""
    return ApiKeyView(
        id=key.id,
        name=key.name,
        prefix=f"egk_{key.lookup}",
        scopes=key.scopes,
        created_at=key.created_at,
        expires_at=key.expires_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
    )


def _check_credentials(email: str, password: str) -> str:
    email = normalize_email(email)
    problem = email_problem(email) or password_problem(password, email)
    if problem:
        raise InvalidRequestError(problem)
    return email


async def signup(
    pool: Any,
    passwords: Passwords,
    *,
    email: str,
    password: str,
    invitation: str | None,
    mode: str,
    role: str,
) -> UserView:
    """Create an account: anyone in ``open`` mode (with ``role``), else only with a valid invitation.

    Raises:
        InvalidRequestError: weak password, bad email, or a missing/invalid invitation.
        ConflictError: the email has an account already.
    """
    email = _check_credentials(email, password)
    if mode == "invite" and not invitation:
        raise ForbiddenError("sign-up is by invitation only; ask an admin for an invitation")
    hashed = await passwords.hash(password)
    async with pool.acquire() as conn, conn.transaction():
        token_hash = digest(invitation) if invitation else None
        if token_hash is not None:
            invited_role = await repo.claim_invitation(conn, token_hash, email)
            if invited_role is None:
                raise InvalidRequestError("the invitation is unknown, used, expired, or for another email")
            role = invited_role
        user = await repo.insert_user(conn, email=email, password_hash=hashed, role=role)
        if user is None:
            raise ConflictError("an account with this email exists already")
        if token_hash is not None:
            await repo.accept_invitation(conn, token_hash, user.id)
    return user_view(user)


async def login(
    pool: Any,
    passwords: Passwords,
    *,
    email: str,
    password: str,
    ttl_s: int,
    client_ip: str | None,
    user_agent: str | None,
) -> Session:
    """Verify a password and open a session.

    Raises:
        UnauthenticatedError: unknown email, wrong password or disabled account (one message for all three).
    """
    email = normalize_email(email)
    user = await repo.user_by_email(pool, email)
    ok = await passwords.verify(user.password_hash if user else None, password)
    if user is None or not ok or user.disabled:
        AUTH_FAILURES.labels(SERVICE, "password").inc()
        raise UnauthenticatedError("email or password is wrong")
    token, csrf = new_token(), new_token()
    expires_at = datetime.now(UTC) + timedelta(seconds=ttl_s)
    async with pool.acquire() as conn:
        await repo.insert_session(
            conn,
            token_hash=digest(token),
            user_id=user.id,
            csrf_token=csrf,
            expires_at=expires_at,
            client_ip=client_ip,
            user_agent=user_agent,
        )
        if passwords.needs_rehash(user.password_hash):
            await repo.update_password_hash(conn, user.id, await passwords.hash(password))
    return Session(
        id=user.id,
        email=user.email,
        role=user.role,
        created_at=user.created_at,
        token=token,
        csrf_token=csrf,
        expires_at=expires_at,
    )


async def logout(pool: Any, auth: Authenticator, token: str) -> None:
    """End a session."""
    token_hash = digest(token)
    auth.forget(token_hash)
    await repo.delete_session(pool, token_hash)


async def create_api_key(
    pool: Any, principal: Principal, *, name: str, scopes: list[str], expires_in_days: int | None
) -> NewApiKey:
    """Issue an API key for the caller, scoped at most to what the caller may do.

    Raises:
        InvalidRequestError: unknown or ungrantable scopes, or a bad name.
    """
    name = name.strip()
    if not name:
        raise InvalidRequestError("name must not be blank")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise InvalidRequestError(f"unknown scopes: {', '.join(unknown)}")
    requested = cast(set[Scope], set(scopes))
    excess = grantable_scopes(principal, requested)
    if excess:
        raise ForbiddenError(f"you cannot grant scopes you do not have: {', '.join(sorted(excess))}")
    issued = issue_api_key()
    expires_at = datetime.now(UTC) + timedelta(days=expires_in_days) if expires_in_days else None
    record = await repo.insert_api_key(
        pool,
        owner_id=principal.user_id,
        name=name,
        lookup=issued.lookup,
        key_hash=issued.digest,
        scopes=sorted(requested),
        expires_at=expires_at,
    )
    view = key_view(record)
    return NewApiKey(**{f: getattr(view, f) for f in view.__struct_fields__}, key=issued.secret)


async def list_api_keys(pool: Any, principal: Principal) -> ApiKeyList:
    """The caller's keys."""
    return ApiKeyList(items=[key_view(k) for k in await repo.list_api_keys(pool, principal.user_id)])


async def revoke_api_key(pool: Any, auth: Authenticator, principal: Principal, key_id: str) -> None:
    """Revoke one of the caller's keys.

    Raises:
        NotFoundError: the caller has no such key.
    """
    if as_uuid(key_id) is None:
        raise NotFoundError("no such API key")
    lookup = await repo.revoke_api_key(pool, principal.user_id, key_id)
    if lookup is None:
        raise NotFoundError("no such API key")
    auth.forget_lookup(lookup)


async def invite(
    pool: Any, principal: Principal, *, email: str, role: str, ttl_s: int
) -> tuple[str, datetime]:
    """Create an invitation for ``email`` with ``role``; returns the token (shown once) and its expiry."""
    email = normalize_email(email)
    problem = email_problem(email)
    if problem:
        raise InvalidRequestError(problem)
    if role not in ROLES:
        raise InvalidRequestError(f"role must be one of {', '.join(ROLES)}")
    token = new_token()
    expires_at = datetime.now(UTC) + timedelta(seconds=ttl_s)
    await repo.insert_invitation(
        pool,
        token_hash=digest(token),
        email=email,
        role=role,
        invited_by=principal.user_id,
        expires_at=expires_at,
    )
    return token, expires_at


async def create_admin(pool: Any, email: str, password: str, passwords: Passwords | None = None) -> UserView:
    """Create an admin account, or make an existing account an admin with this password.

    What ``etsygen users create-admin`` runs: the way to the first admin when sign-up is by invitation.

    Raises:
        InvalidRequestError: bad email or weak password.
    """
    email = _check_credentials(email, password)
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


class Authenticator:
    """Turns a session token or API key into a :class:`Principal`, with a short per-process memory."""

    def __init__(self, pool: Callable[[], Any], ttl_s: float) -> None:
        self._pool = pool
        self._ttl = ttl_s
        self._known: dict[bytes, tuple[float, Principal, str | None]] = {}
        self._touched: dict[str, float] = {}

    def forget(self, secret_hash: bytes) -> None:
        """Drop a remembered credential (logout, revocation)."""
        self._known.pop(secret_hash, None)

    def forget_lookup(self, lookup: str) -> None:
        """Drop every remembered API key with this lookup."""
        for key, (_, _, remembered_lookup) in list(self._known.items()):
            if remembered_lookup == lookup:
                self._known.pop(key, None)

    def _remembered(self, secret_hash: bytes) -> Principal | None:
        entry = self._known.get(secret_hash)
        if entry is None:
            return None
        if entry[0] < time.monotonic():
            self._known.pop(secret_hash, None)
            return None
        return entry[1]

    def _remember(
        self, secret_hash: bytes, principal: Principal, expires_at: datetime | None, lookup: str | None
    ) -> None:
        if self._ttl <= 0:
            return
        if len(self._known) >= _CACHE_MAX:
            self._known.clear()
        until = time.monotonic() + self._ttl
        if expires_at is not None:
            until = min(until, time.monotonic() + (expires_at - datetime.now(UTC)).total_seconds())
        self._known[secret_hash] = (until, principal, lookup)

    async def session(self, token: str) -> Principal | None:
        """The principal of a session cookie, or None."""
        secret_hash = digest(token)
        principal = self._remembered(secret_hash)
        if principal is not None:
            return principal
        record = await repo.session_credential(self._pool(), secret_hash)
        if record is None:
            AUTH_FAILURES.labels(SERVICE, "session").inc()
            return None
        principal = Principal(
            user_id=record.user_id,
            email=record.email,
            role=cast(Role, record.role),
            method="session",
            csrf_token=record.csrf_token,
        )
        self._remember(secret_hash, principal, record.expires_at, None)
        return principal

    def known_api_key(self, secret: str) -> Principal | None:
        """The principal of an API key verified moments ago (see the module docstring) whose last use is
        recorded, without I/O; None means :meth:`api_key` has to look."""
        entry = self._known.get(digest(secret))
        if entry is None:
            return None
        now = time.monotonic()
        until, principal, _ = entry
        if until < now or now - self._touched.get(principal.key_id, -TOUCH_EVERY_S) >= TOUCH_EVERY_S:  # type: ignore[arg-type]
            return None
        return principal

    async def api_key(self, secret: str) -> Principal | None:
        """The principal of an API key, or None."""
        secret_hash = digest(secret)
        principal = self._remembered(secret_hash)
        if principal is None:
            lookup = api_key_lookup(secret)
            record = await repo.api_key_credential(self._pool(), lookup) if lookup else None
            if record is None or not same_digest(secret, record.secret_hash):
                AUTH_FAILURES.labels(SERVICE, "api_key").inc()
                return None
            principal = Principal(
                user_id=record.user_id,
                email=record.email,
                role=cast(Role, record.role),
                method="api_key",
                key_id=record.key_id,
                key_scopes=frozenset(cast(tuple[Scope, ...], record.scopes)),
            )
            self._remember(secret_hash, principal, record.expires_at, lookup)
        now = time.monotonic()
        if self._touch_due(principal, now):
            await self._touch(principal, now)
        return principal

    def _touch_due(self, principal: Principal, now: float) -> bool:
        assert principal.key_id is not None
        return now - self._touched.get(principal.key_id, -TOUCH_EVERY_S) >= TOUCH_EVERY_S

    async def _touch(self, principal: Principal, now: float) -> None:
        """Keep ``last_used_at`` current to the minute without a write per request."""
        assert principal.key_id is not None
        self._touched[principal.key_id] = now
        if len(self._touched) > _CACHE_MAX:
            self._touched.clear()
        await repo.touch_api_key(self._pool(), principal.key_id)
