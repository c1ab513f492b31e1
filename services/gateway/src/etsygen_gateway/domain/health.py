"""System health: each component's state and one score in [0, 1] weighted by how much it matters.

PostgreSQL holds every accepted request, so without it the gateway is unready. Kafka down means work waits
in the outbox (degraded, not lost). Redis down means no caching and fail-open limits (degraded). A growing
outbox backlog or recent dead letters lower the score without failing anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal

import msgspec

ComponentState = Literal["ok", "degraded", "down"]

WEIGHTS: Final[dict[str, float]] = {
    "postgres": 0.4,
    "kafka": 0.25,
    "redis": 0.15,
    "outbox": 0.1,
    "dead_letters": 0.1,
}
_STATE_VALUE: Final[dict[str, float]] = {"ok": 1.0, "degraded": 0.5, "down": 0.0}
CRITICAL: Final = frozenset({"postgres"})
OUTBOX_DEGRADED_AT: Final = 1000
DEAD_LETTERS_DEGRADED_AT: Final = 1


class Component(msgspec.Struct, frozen=True, kw_only=True):
    """One part of the system as the gateway sees it."""

    name: str
    state: ComponentState
    weight: float
    detail: str = ""
    latency_ms: float | None = None


class SystemHealth(msgspec.Struct, frozen=True, kw_only=True):
    """The health summary served at /v1/health and streamed on /v1/health/live-stream."""

    status: ComponentState
    score: float
    components: list[Component]
    checked_at: str


def backlog_state(pending: int | None) -> ComponentState:
    """Outbox rows waiting: fine, growing, or unknown (counted as down)."""
    if pending is None:
        return "down"
    return "ok" if pending < OUTBOX_DEGRADED_AT else "degraded"


def dead_letter_state(recent: int | None) -> ComponentState:
    """Dead letters in the last hour."""
    if recent is None:
        return "down"
    return "ok" if recent < DEAD_LETTERS_DEGRADED_AT else "degraded"


def summarize(
    states: Mapping[str, tuple[ComponentState, str, float | None]], checked_at: str
) -> SystemHealth:
    """Score = sum of weight x state value over the known components, normalised to [0, 1].

    The overall status is ``down`` when a critical component is down, ``degraded`` when anything is not
    ``ok``, else ``ok``.
    """
    components = []
    total = 0.0
    score = 0.0
    for name, (state, detail, latency) in states.items():
        weight = WEIGHTS.get(name, 0.1)
        total += weight
        score += weight * _STATE_VALUE[state]
        components.append(Component(name=name, state=state, weight=weight, detail=detail, latency_ms=latency))
    value = round(score / total, 4) if total else 0.0
    if any(c.state == "down" and c.name in CRITICAL for c in components):
        status: ComponentState = "down"
    elif any(c.state != "ok" for c in components):
        status = "degraded"
    else:
        status = "ok"
    return SystemHealth(status=status, score=value, components=components, checked_at=checked_at)
