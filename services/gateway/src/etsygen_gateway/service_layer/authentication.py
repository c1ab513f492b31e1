"""Authentication of a presented secret: a session token or an API key becomes a :class:`Principal`.

It costs one indexed lookup; a verified principal is remembered in the process for
``GATEWAY_AUTH_CACHE_S`` seconds (5 by default), which bounds how long a revoked key or ended session keeps
working on *other* gateway processes (the process that revokes forgets it at once).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, Final, cast

from etsygen_gateway.adapters import accounts as repo
from etsygen_gateway.domain.accounts import (
    Principal,
    Role,
    Scope,
    api_key_lookup,
    digest,
    same_digest,
)
from etsygen_gateway.metrics import AUTH_FAILURES, SERVICE

TOUCH_EVERY_S: Final = 60.0
_CACHE_MAX: Final = 50_000


class Authenticator:
    """Turns a session token or API key into a :class:`Principal`, with a short per-process memory."""

    def __init__(self, pool: Any, ttl_s: float) -> None:
        """``pool``: the gateway's Postgres pool (an ``etsygen_common.late.Late`` bound at start)."""
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
        record = await repo.session_credential(self._pool, secret_hash)
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
            record = await repo.api_key_credential(self._pool, lookup) if lookup else None
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
        await repo.touch_api_key(self._pool, principal.key_id)
