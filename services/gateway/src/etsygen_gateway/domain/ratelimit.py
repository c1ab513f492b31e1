"""Rate-limit policy: tiers, the GCRA decision, and the response headers that describe it.

The Generic Cell Rate Algorithm keeps one number per key, the theoretical arrival time (TAT). A tier of
``limit`` requests per ``window`` has an emission interval ``T = window / limit`` and admits a request
at ``now`` when ``TAT + T - window <= now``; admitting moves TAT to ``max(TAT, now) + T``. A full budget
therefore allows a burst of exactly ``limit`` requests, then one every ``T``. The Redis adapter runs the
same arithmetic in Lua with Redis' own clock (``adapters.limiter``); :func:`gcra` is the reference the tests
hold it to.

A request may cost ``n`` tokens at once (a research job spends the AI tier by the concepts it may
generate): TAT advances by ``n * T`` and the request is admitted when ``TAT + n * T - window <= now``, so it
needs ``n`` tokens left and takes all ``n`` or none. A cost above ``limit`` can never be admitted (it would
need more than a full budget), so callers refuse it first: :func:`gcra` raises rather than answer with a
wait that would never end in admission. A negative cost gives tokens back (a sign-in that turned out to
succeed, a job that was an idempotent replay); it is always admitted, and a TAT pushed below ``now`` means
the same as ``now``: a full budget, never more.

Headers follow draft-ietf-httpapi-ratelimit-headers (``RateLimit-Policy: "api";q=100;w=900`` and
``RateLimit: "api";r=42;t=30``) plus the widespread ``X-RateLimit-Limit/Remaining/Reset``; reset values are
seconds from now.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import NamedTuple

import msgspec

_EPSILON = 1e-6
_floor = math.floor
_ceil = math.ceil


class Tier(msgspec.Struct, frozen=True, kw_only=True):
    """A named budget: ``limit`` requests per ``window_s`` seconds."""

    name: str
    limit: int
    window_s: int

    @property
    def interval_us(self) -> float:
        """Emission interval in microseconds."""
        return self.window_s * 1_000_000 / self.limit


class Tiers(msgspec.Struct, frozen=True, kw_only=True):
    """The configured rate-limit tiers (``GATEWAY_RATE_*``)."""

    auth: Tier
    """Every request to an auth route, per client IP: the flood limit."""
    auth_failures_ip: Tier
    """Failed sign-up/login attempts per client IP."""
    auth_failures_account: Tier
    """Failed sign-up/login attempts per account (e-mail address)."""
    api: Tier
    ai: Tier
    replay: Tier


class TierResult(msgspec.Struct, frozen=True, kw_only=True):
    """The state of one tier after a decision."""

    tier: Tier
    allowed: bool
    remaining: int
    reset_s: int
    """Seconds until the tier's whole budget is available again."""
    retry_after_s: int = 0
    """Seconds until the next request would be admitted (denied tiers only)."""


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    """Admit or refuse one request, with every tier it was checked against."""

    allowed: bool
    results: tuple[TierResult, ...]
    failed_open: bool = False

    @property
    def binding(self) -> TierResult | None:
        """The tier that decides the headers: a refusing one, else the one with least left."""
        results = self.results
        if len(results) == 1:
            return results[0]
        if not results:
            return None
        refused = [r for r in results if not r.allowed]
        if refused:
            return max(refused, key=lambda r: r.retry_after_s)
        return min(self.results, key=lambda r: (r.remaining / r.tier.limit, r.remaining))

    @property
    def retry_after_s(self) -> int:
        """Seconds to wait before retrying (0 when admitted)."""
        return max((r.retry_after_s for r in self.results), default=0)


def gcra(tat_us: float | None, now_us: float, tier: Tier, cost: int = 1) -> tuple[bool, float, float]:
    """One GCRA step for a single tier, spending ``cost`` tokens (negative: giving them back).

    Returns:
        ``(allowed, new_tat_us, wait_us)``: the TAT to store when admitted (unchanged when refused) and, when
        refused, how long until a request of this cost would be admitted.

    Raises:
        ValueError: ``cost`` is above the tier's limit, so no wait would ever admit it.
    """
    if cost > tier.limit:
        raise ValueError(f"a cost of {cost} can never fit the {tier.name} tier's limit of {tier.limit}")
    interval = tier.interval_us * cost
    window = tier.window_s * 1_000_000
    tat = max(tat_us or 0.0, now_us)
    new_tat = tat + interval
    allow_at = new_tat - window
    if now_us < allow_at:
        return False, tat, allow_at - now_us
    return True, new_tat, 0.0


def merge(earlier: Decision, later: Decision) -> Decision:
    """One decision from two made for the same request (the access check's and a handler's own).

    A tier in both is described as ``later`` left it (a refund after a spend); ``earlier``'s refusal stands.
    """
    replaced = {r.tier.name for r in later.results}
    kept = tuple(r for r in earlier.results if r.tier.name not in replaced)
    return Decision(
        allowed=all(r.allowed for r in kept) and later.allowed,
        results=kept + later.results,
        failed_open=earlier.failed_open and later.failed_open,
    )


def describe_wait(seconds: int) -> str:
    """A wait as a person reads it: ``"40 seconds"``, ``"14 minutes"``, ``"2 hours"``."""
    if seconds < 90:
        return "1 second" if seconds == 1 else f"{seconds} seconds"
    if seconds < 90 * 60:
        return f"{_ceil(seconds / 60)} minutes"
    return f"{_ceil(seconds / 3600)} hours"


def result_from(tier: Tier, allowed: bool, reset_us: float, retry_us: float, cost: int = 1) -> TierResult:
    """Build a tier's result from the microsecond figures the limiter computed for a request of ``cost``."""
    limit = tier.limit
    window_us = tier.window_s * 1_000_000
    remaining = _floor((window_us - reset_us) * limit / window_us + _EPSILON)
    remaining = 0 if remaining < 0 else limit if remaining > limit else remaining
    if allowed:
        retry_after_s = 0
    else:
        # What is left, also when refused: a request of several tokens can be refused with some left. Fewer
        # than ``cost`` by definition (the limiter's whole-microsecond figures could round one up).
        remaining = min(remaining, max(cost - 1, 0))
        retry_after_s = max(1, _ceil(retry_us / 1_000_000 - _EPSILON))
    reset_s = _ceil(reset_us / 1_000_000 - _EPSILON)
    return TierResult(
        tier=tier,
        allowed=allowed,
        remaining=remaining,
        reset_s=reset_s if reset_s > 0 else 0,
        retry_after_s=retry_after_s,
    )


def headers_for(decision: Decision) -> list[tuple[str, str]]:
    """Response headers describing ``decision`` (none when the limiter failed open)."""
    return [(name.decode(), value.decode()) for name, value in encoded_headers(decision)]


def encoded_headers(decision: Decision) -> list[tuple[bytes, bytes]]:
    """:func:`headers_for` as the raw header lines an ASGI server sends (this runs on every request)."""
    results = decision.results
    if decision.failed_open or not results:
        return []
    if len(results) == 1:
        binding = results[0]
        lines = _lines(binding.tier)
        remaining = b"%d" % binding.remaining
        reset = b"%d" % binding.reset_s
        if binding.allowed:  # the common case: admitted under one tier
            return [
                (b"ratelimit-policy", lines.policy),
                (b"ratelimit", b"%s;r=%s;t=%s" % (lines.name, remaining, reset)),
                (b"x-ratelimit-limit", lines.limit),
                (b"x-ratelimit-remaining", remaining),
                (b"x-ratelimit-reset", reset),
            ]
        policy = lines.policy
        state = b"%s;r=%s;t=%s" % (lines.name, remaining, reset)
    else:
        binding = decision.binding or results[0]
        policy = b", ".join(_lines(r.tier).policy for r in results)
        state = b", ".join(b"%s;r=%d;t=%d" % (_lines(r.tier).name, r.remaining, r.reset_s) for r in results)
    headers = [
        (b"ratelimit-policy", policy),
        (b"ratelimit", state),
        (b"x-ratelimit-limit", _lines(binding.tier).limit),
        (b"x-ratelimit-remaining", b"%d" % binding.remaining),
        (b"x-ratelimit-reset", b"%d" % (binding.reset_s if binding.allowed else binding.retry_after_s)),
    ]
    if not decision.allowed:
        headers.append((b"retry-after", b"%d" % decision.retry_after_s))
    return headers


class _Lines(NamedTuple):
    """What the headers say about a tier whatever its state, encoded once."""

    name: bytes
    """The quoted name, as the IETF draft writes it."""
    policy: bytes
    limit: bytes


@functools.lru_cache(maxsize=256)
def _lines(tier: Tier) -> _Lines:
    name = f'"{tier.name}"'
    return _Lines(
        name=name.encode(),
        policy=f"{name};q={tier.limit};w={tier.window_s}".encode(),
        limit=b"%d" % tier.limit,
    )


def combine(
    tiers: Sequence[Tier],
    outcomes: Sequence[tuple[bool, float, float]],
    costs: Sequence[int] | None = None,
) -> Decision:
    """Fold per-tier ``(allowed, reset_us, retry_us)`` of a request costing ``costs`` (default 1 each)."""
    if len(tiers) != len(outcomes):
        raise ValueError(f"{len(tiers)} tiers but {len(outcomes)} outcomes")
    if len(tiers) == 1:  # most routes spend one tier
        only = result_from(tiers[0], *outcomes[0], cost=costs[0] if costs else 1)
        return Decision(allowed=only.allowed, results=(only,))
    results = []
    allowed = True
    for i, (ok, reset, retry) in enumerate(outcomes):
        results.append(result_from(tiers[i], ok, reset, retry, cost=costs[i] if costs else 1))
        allowed = allowed and ok
    return Decision(allowed=allowed, results=tuple(results))
