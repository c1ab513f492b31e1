"""Rate-limit policy: tiers, the GCRA decision, and the response headers that describe it.

The Generic Cell Rate Algorithm keeps one number per key, the theoretical arrival time (TAT). A tier of
``limit`` requests per ``window`` has an emission interval ``T = window / limit`` and admits a request
at ``now`` when ``TAT + T - window <= now``; admitting moves TAT to ``max(TAT, now) + T``. A full budget
therefore allows a burst of exactly ``limit`` requests, then one every ``T``. The Redis adapter runs the
same arithmetic in Lua with Redis' own clock (``adapters.limiter``); :func:`gcra` is the reference the tests
hold it to.

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


def gcra(tat_us: float | None, now_us: float, tier: Tier) -> tuple[bool, float, float]:
    """One GCRA step for a single tier.

    Returns:
        ``(allowed, new_tat_us, wait_us)``: the TAT to store when admitted (unchanged when refused) and, when
        refused, how long until a request would be admitted.
    """
    interval = tier.interval_us
    window = tier.window_s * 1_000_000
    tat = max(tat_us or 0.0, now_us)
    new_tat = tat + interval
    allow_at = new_tat - window
    if now_us < allow_at:
        return False, tat, allow_at - now_us
    return True, new_tat, 0.0


def result_from(tier: Tier, allowed: bool, reset_us: float, retry_us: float) -> TierResult:
    """Build a tier's result from the microsecond figures the limiter computed."""
    limit = tier.limit
    if allowed:
        window_us = tier.window_s * 1_000_000
        remaining = _floor((window_us - reset_us) * limit / window_us + _EPSILON)
        remaining = 0 if remaining < 0 else limit if remaining > limit else remaining
        retry_after_s = 0
    else:
        remaining = 0
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


def combine(tiers: Sequence[Tier], outcomes: Sequence[tuple[bool, float, float]]) -> Decision:
    """Fold per-tier ``(allowed, reset_us, retry_us)`` into one decision."""
    if len(tiers) != len(outcomes):
        raise ValueError(f"{len(tiers)} tiers but {len(outcomes)} outcomes")
    if len(tiers) == 1:  # most routes spend one tier
        only = result_from(tiers[0], *outcomes[0])
        return Decision(allowed=only.allowed, results=(only,))
    results = []
    allowed = True
    for tier, (ok, reset, retry) in zip(tiers, outcomes):  # noqa: B905 - lengths checked above
        results.append(result_from(tier, ok, reset, retry))
        allowed = allowed and ok
    return Decision(allowed=allowed, results=tuple(results))
