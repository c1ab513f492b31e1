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

import msgspec

_EPSILON = 1e-6


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
        if not self.results:
            return None
        refused = [r for r in self.results if not r.allowed]
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
    window = tier.window_s * 1_000_000
    remaining = math.floor((window - reset_us) / tier.interval_us + _EPSILON) if allowed else 0
    remaining = max(0, min(tier.limit, remaining))
    return TierResult(
        tier=tier,
        allowed=allowed,
        remaining=remaining,
        reset_s=max(0, math.ceil(reset_us / 1_000_000 - _EPSILON)),
        retry_after_s=max(1, math.ceil(retry_us / 1_000_000 - _EPSILON)) if not allowed else 0,
    )


def headers_for(decision: Decision) -> list[tuple[str, str]]:
    """Response headers describing ``decision`` (none when the limiter failed open)."""
    if decision.failed_open or not decision.results:
        return []
    binding = decision.binding
    assert binding is not None
    policy = _policy(tuple(r.tier for r in decision.results))
    state = ", ".join(f'"{r.tier.name}";r={r.remaining};t={r.reset_s}' for r in decision.results)
    headers = [
        ("ratelimit-policy", policy),
        ("ratelimit", state),
        ("x-ratelimit-limit", str(binding.tier.limit)),
        ("x-ratelimit-remaining", str(binding.remaining)),
        ("x-ratelimit-reset", str(binding.reset_s if binding.allowed else binding.retry_after_s)),
    ]
    if not decision.allowed:
        headers.append(("retry-after", str(decision.retry_after_s)))
    return headers


@functools.lru_cache(maxsize=256)
def _policy(tiers: tuple[Tier, ...]) -> str:
    return ", ".join(f'"{t.name}";q={t.limit};w={t.window_s}' for t in tiers)


def combine(tiers: Sequence[Tier], outcomes: Sequence[tuple[bool, float, float]]) -> Decision:
    """Fold per-tier ``(allowed, reset_us, retry_us)`` into one decision."""
    results = tuple(
        result_from(tier, ok, reset, retry) for tier, (ok, reset, retry) in zip(tiers, outcomes, strict=True)
    )
    return Decision(allowed=all(r.allowed for r in results), results=results)
