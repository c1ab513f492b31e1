"""Account use cases: sign-up (open or by invitation), invitations, and login/logout.

Sign-up and login attempts are limited as OWASP's authentication cheat sheet has it: failed attempts per
account and per client IP (``GATEWAY_RATE_AUTH_LIMIT`` per ``GATEWAY_RATE_AUTH_WINDOW_S``), while successes
spend none of that budget; every request to these routes also counts against a wider per-IP flood limit
(spent by the access check). An attempt claims one token of its failure budgets *before* the password is
looked at, and a success gives it back (see :func:`claim_attempt` for why). The first admin's setup link
(``first_admin``) counts its attempts the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from etsygen_gateway.adapters import accounts as repo
from etsygen_gateway.adapters.passwords import Passwords
from etsygen_gateway.domain.accounts import (
    ROLES,
    Principal,
    digest,
    email_problem,
    new_token,
    normalize_email,
    password_problem,
)
from etsygen_gateway.domain.ratelimit import describe_wait, headers_for
from etsygen_gateway.domain.views import UserView
from etsygen_gateway.errors import (
    ConflictError,
    ForbiddenError,
    InvalidRequestError,
    RateLimitedError,
    UnauthenticatedError,
)
from etsygen_gateway.metrics import AUTH_FAILURES, SERVICE
from etsygen_gateway.service_layer.authentication import Authenticator
from etsygen_gateway.service_layer.budgets import AUTH_FAILURES_ACCOUNT, Budgets


class Session(UserView, frozen=True, kw_only=True):
    """A login: the user plus the secrets that go into cookies (never stored in clear)."""

    token: str
    csrf_token: str
    expires_at: datetime


def user_view(user: repo.UserRecord) -> UserView:
    """The public fields of a user."""
    return UserView(id=user.id, email=user.email, role=user.role, created_at=user.created_at)


def check_credentials(email: str, password: str) -> str:
    """The normalised address, once it and the password pass the rules (else a 400 naming the rule)."""
    email = normalize_email(email)
    problem = email_problem(email) or password_problem(password, email)
    if problem:
        raise InvalidRequestError(problem)
    return email


async def claim_attempt(attempts: Budgets, action: str) -> None:
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
    email = check_credentials(email, password)
    await claim_attempt(attempts, "sign-up")
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
    await claim_attempt(attempts, "sign-in")
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
