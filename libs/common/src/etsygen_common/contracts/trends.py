"""Topic family ``etsygen.trends.*``: how the analyzer scored one niche."""

from __future__ import annotations

from typing import Final, Literal

import msgspec

from etsygen_common.contracts.base import Event, Range

Risk = Literal["low", "medium", "high"]
RISK_ORDER: Final[dict[str, int]] = {"low": 0, "medium": 1, "high": 2}
"""Risk classes from least to most risky; an unknown class ranks as ``high``."""


def within_risk(risk: str, max_risk: str) -> bool:
    """True when ``risk`` is no riskier than ``max_risk`` (the generation gate's risk rule)."""
    return RISK_ORDER.get(risk, RISK_ORDER["high"]) <= RISK_ORDER.get(max_risk, RISK_ORDER["high"])


class FactorScore(msgspec.Struct, frozen=True, kw_only=True):
    """One factor of the score, with what it was computed from ("why this score")."""

    name: str
    value: float
    weight: float
    input: float | None
    input_label: str
    measured: bool = True
    """False when the input is an estimate rather than a measured figure."""
    explanation: str = ""
    """What the input means for a seller, in words with numbers rounded for people ("about 3 active
    listings per monthly sale: little competition"); empty in events from before it existed."""


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


RelevanceStatus = Literal["sufficient", "insufficient_data"]


class Relevance(msgspec.Struct, frozen=True, kw_only=True):
    """How many of the fetched listings are about the keyword; only those are scored.

    ``insufficient_data`` means too few of them are: the trend is high risk and gets no concept, and
    ``reason`` says why in words.
    """

    terms: list[str]
    """The keyword's search terms as matched (lower-cased, stemmed, stop words dropped)."""
    relevant_listings: int
    """Unique listings whose title or tags carry the keyword's terms."""
    listings: int
    """Unique listings fetched."""
    share: float
    """``relevant_listings / listings`` in [0, 1]; 0 without listings."""
    status: RelevanceStatus = "sufficient"
    reason: str | None = None
    """Why the evidence is insufficient, for people; None when it is sufficient."""


class TermCount(msgspec.Struct, frozen=True, kw_only=True):
    """A term seen in a niche's listings and how many of them use it (each listing counted once)."""

    term: str
    listings: int


class NicheEvidence(msgspec.Struct, frozen=True, kw_only=True):
    """What a niche's listings say about the product, for writing a concept a seller could publish.

    Every count is a number of listings (each counted once per term), out of ``listings``; terms are
    most used first. Read from titles and tags by the analyzer; the generator decides what share is enough
    to support a claim (an occasion, a recipient, a material) in a concept.
    """

    listings: int
    """How many listings the evidence was read from."""
    phrases: list[TermCount] = msgspec.field(default_factory=list)
    """The search phrases (tags) the niche's listings use most."""
    materials: list[TermCount] = msgspec.field(default_factory=list)
    occasions: list[TermCount] = msgspec.field(default_factory=list)
    recipients: list[TermCount] = msgspec.field(default_factory=list)
    sizes: list[TermCount] = msgspec.field(default_factory=list)
    """Sizes, quantities and file formats named in titles and tags ("8x10", "set of 4", "pdf")."""
    digital_listings: int = 0
    """Listings that read as digital downloads (printable, pdf, svg, instant download...)."""
    personalized_listings: int = 0
    """Listings that offer personalization (personalized, custom, engraved, name...)."""


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
    relevance: Relevance | None = None
    """How many listings are about the keyword (None in events from before relevance was measured)."""
    evidence: NicheEvidence | None = None
    """What the listings say about the product (materials, formats, occasions); None from older analyzers."""
