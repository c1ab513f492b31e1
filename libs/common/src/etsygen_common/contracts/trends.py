"""Topic family ``etsygen.trends.*``: how the analyzer scored one niche."""

from __future__ import annotations

from typing import Literal

import msgspec

from etsygen_common.contracts.base import Event, Range

Risk = Literal["low", "medium", "high"]


class FactorScore(msgspec.Struct, frozen=True, kw_only=True):
    """One factor of the score, with what it was computed from ("why this score")."""

    name: str
    value: float
    weight: float
    input: float | None
    input_label: str
    measured: bool = True
    """False when the input is an estimate rather than a measured figure."""


class Estimate(msgspec.Struct, frozen=True, kw_only=True):
    """An estimated figure, always a range and always labelled as an estimate."""

    name: str
    range: Range
    unit: str
    basis: str
    estimated: bool = True


class Momentum(msgspec.Struct, frozen=True, kw_only=True):
    """Change against this platform's own earlier snapshots of the keyword."""

    status: Literal["ok", "insufficient_history"]
    sales_change: float | None = None
    supply_change: float | None = None
    snapshots: int = 0
    span_days: float = 0.0


class PriceBand(msgspec.Struct, frozen=True, kw_only=True):
    """The niche's price distribution (evidence for price suggestions)."""

    p25: float
    median: float
    p75: float
    currency: str = "USD"


class TrendScored(Event, frozen=True, kw_only=True):
    """One keyword's niche score, factors, confidence, risk, estimates and momentum."""

    job_id: str
    owner_id: str
    keyword: str
    marketplace: str = "etsy"
    status: Literal["ok", "failed"] = "ok"
    error: str | None = None
    score: float = 0.0
    confidence: float = 0.0
    risk: Risk = "high"
    factors: list[FactorScore] = msgspec.field(default_factory=list)
    estimates: list[Estimate] = msgspec.field(default_factory=list)
    momentum: Momentum = msgspec.field(default_factory=lambda: Momentum(status="insufficient_history"))
    price_band: PriceBand | None = None
    top_tags: list[str] = msgspec.field(default_factory=list)
    top_title_phrases: list[str] = msgspec.field(default_factory=list)
    listing_count: int = 0
    total_count: int = 0
    synthetic: bool = False
    snapshot_id: str | None = None
    generation_enabled: bool = True
    concepts_per_niche: int = 1
    min_score: float = 0.5
    max_risk: Risk = "medium"
    variants: bool = False
    """The job's ``GenerationOptions.variants``: a different variant instead of a link to a duplicate."""
    attempt: int = 0
    """The research request's attempt (above 0 for a re-drive), passed along from ``ListingsScraped``."""
