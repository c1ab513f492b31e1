"""Account use cases: sign-up, login/logout, API keys, invitations, the first admin, and authentication.

Sign-up and login attempts are limited as OWASP's authentication cheat sheet has it: failed attempts per
account and per client IP (``GATEWAY_RATE_AUTH_LIMIT`` per ``GATEWAY_RATE_AUTH_WINDOW_S``), while successes
spend none of that budget; every request to these routes also counts against a wider per-IP flood limit
(spent by the access check). An attempt claims one token of its failure budgets *before* the password is
looked at, and a success gives it back (see :func:`_claim_attempt` for why).

Authentication of a presented secret costs one indexed lookup; a verified principal is remembered in the
process for ``GATEWAY_AUTH_CACHE_S`` seconds (5 by default), which bounds how long a revoked key or ended
session keeps working on *other* gateway processes (the process that revokes forgets it at once).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final, cast

import msgspec

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
from etsygen_gateway.domain.ratelimit import describe_wait, headers_for
from etsygen_gateway.domain.views import ApiKeyList, ApiKeyView, UserView
from etsygen_gateway.errors import (
    ConflictError,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    RateLimitedError,
    UnauthenticatedError,
)
from etsygen_gateway.metrics import AUTH_FAILURES, SERVICE
from etsygen_gateway.service_layer.budgets import AUTH_FAILURES_ACCOUNT, Budgets

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


async def _claim_attempt(attempts: Budgets, action: str) -> None:
    """Count this attempt as failed until it succeeds; refuse it (429) when the failure budget is spent.

    Reserve-then-refund rather than check-then-spend: a check that spends nothing lets any number of
    concurrent guesses see the last token and all go on to the password check, so a burst of parallel
    requests would overshoot the limit by its own size. Claiming the token is one atomic limiter decision,
    so at most ``limit`` failures per window get past it however many arrive at once, exactly; the success
    path gives the token back. The price: a success holds a token while its password is hashed (tens of
    milliseconds), and a process dying in between leaves it spent, counted as the failure it cannot be
    shown not to be. Without Redis the limiter fails open, as it does everywhere.

    Raises:
        RateLimitedError: too many failed attempts for this account or from this client IP.
    """
    decision = await attempts.spend()
    if decision.allowed:
        return
    binding = decision.binding
    whom = (
        "for this account"
        if binding is not None and binding.tier.name == AUTH_FAILURES_ACCOUNT
        else "from your network address"
    )
    raise RateLimitedError(
        f"too many failed {action} attempts {whom}; try again in {describe_wait(decision.retry_after_s)}",
        headers=dict(headers_for(decision)),
    )


async def signup(
    pool: Any,
    passwords: Passwords,
    attempts: Budgets,
    *,
    email: str,
    password: str,
    invitation: str | None,
    mode: str,
    role: str,
) -> UserView:
    """Create an account: anyone in ``open`` mode (with ``role``), else only with a valid invitation.

    A malformed address or a weak password is refused before the attempt counts (nothing was guessed, and
    the person is still choosing a password); from there on, everything but a created account counts as a
    failed attempt (an address that has an account, a missing or wrong invitation).

    Raises:
        InvalidRequestError: weak password or bad email.
        ForbiddenError: a missing (in ``invite`` mode) or invalid invitation.
        ConflictError: the email has an account already.
        RateLimitedError: too many failed attempts for this address or client IP.
    """
    email = _check_credentials(email, password)
    await _claim_attempt(attempts, "sign-up")
    if mode == "invite" and not invitation:
        raise ForbiddenError("sign-up is by invitation only; ask an admin for an invitation")
    hashed = await passwords.hash(password)
    async with pool.acquire() as conn, conn.transaction():
        token_hash = digest(invitation) if invitation else None
        if token_hash is not None:
            invited_role = await repo.claim_invitation(conn, token_hash, email)
            if invited_role is None:
                # Refused like a missing one (403): the invitation is what permits signing up.
                raise ForbiddenError("the invitation is unknown, used, expired, or for another email")
            role = invited_role
        user = await repo.insert_user(conn, email=email, password_hash=hashed, role=role)
        if user is None:
            raise ConflictError("an account with this email exists already")
        if token_hash is not None:
            await repo.accept_invitation(conn, token_hash, user.id)
    await attempts.refund()  # a created account is no failure
    return user_view(user)


async def login(
    pool: Any,
    passwords: Passwords,
    attempts: Budgets,
    *,
    email: str,
    password: str,
    ttl_s: int,
    client_ip: str | None,
    user_agent: str | None,
) -> Session:
    """Verify a password and open a session.

    While the account (or the client IP) has used up its failed attempts, every attempt is refused before
    the password is checked, the right one too: a locked-out guesser learns nothing, and burns no argon2.

    Raises:
        UnauthenticatedError: unknown email, wrong password or disabled account (one message for all three).
        RateLimitedError: too many failed attempts for this account or client IP.
    """
    email = normalize_email(email)
    await _claim_attempt(attempts, "sign-in")
    user = await repo.user_by_email(pool, email)
    ok = await passwords.verify(user.password_hash if user else None, password)
    if user is None or not ok or user.disabled:
        AUTH_FAILURES.labels(SERVICE, "password").inc()
        raise UnauthenticatedError("email or password is wrong")
    await attempts.refund()  # the attempt succeeded: it spends none of the failure budget
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
    await _claim_attempt(attempts, "setup")
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
    email = _check_credentials(email, password)
    await _claim_attempt(attempts, "setup")
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
