"""Read views the API serves (and the cache stores): plain msgspec Structs, no I/O."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from etsygen_common.contracts import (
    DesignPrompt,
    Estimate,
    Evidence,
    GenerationOptions,
    Momentum,
    PriceBand,
    PriceSuggestion,
    ProductConcept,
    ProviderUsage,
    Relevance,
    ValidationReport,
    WaitingReason,
)
from etsygen_gateway.domain.jobs import KeywordOutcome
from etsygen_gateway.domain.trends import FactorExplanation

# --- accounts -------------------------------------------------------------------------------------------


class UserView(msgspec.Struct, frozen=True, kw_only=True):
    """A user as they (or an admin) see themselves."""

    id: str
    email: str
    role: str
    created_at: datetime


class ApiKeyView(msgspec.Struct, frozen=True, kw_only=True):
    """An API key's metadata; the secret is shown only once, at creation."""

    id: str
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class ApiKeyList(msgspec.Struct, frozen=True, kw_only=True):
    """The caller's API keys."""

    items: list[ApiKeyView]


# --- jobs -----------------------------------------------------------------------------------------------


class StageView(msgspec.Struct, frozen=True, kw_only=True):
    """Where one keyword is in the pipeline."""

    scrape: str
    analyze: str
    generate: str


class WaitingView(msgspec.Struct, frozen=True, kw_only=True):
    """Why a keyword waits and until when, as a stage reported it (cleared by the keyword's next progress)."""

    reason: WaitingReason
    detail: str
    resume_at: datetime


class KeywordView(msgspec.Struct, frozen=True, kw_only=True):
    """One keyword of a job with its per-stage progress."""

    keyword: str
    status: str
    stages: StageView
    expected_concepts: int | None
    generated: int
    rejected: int
    error: str | None = None
    trend_id: str | None = None
    outcome: KeywordOutcome | None = None
    """What generation ended with: ``new_product``, ``existing_product`` (a concept duplicating a product the
    owner has: the keyword links to it), ``no_concept`` (a gate's or a guard's decision) or ``failed``;
    None until the generator reported."""
    reason: str | None = None
    """Why a concept got no new product, in words (the latest such concept of the keyword)."""
    existing_product_id: str | None = None
    """The owner's product a duplicate concept links to (``outcome`` ``existing_product``)."""
    waiting: WaitingView | None = None


class JobView(msgspec.Struct, frozen=True, kw_only=True):
    """A research job."""

    id: str
    status: str
    status_reason: str | None
    marketplace: str
    listing_budget: int
    generation: GenerationOptions
    keyword_count: int
    keywords_finished: int
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None


class JobDetail(msgspec.Struct, frozen=True, kw_only=True):
    """A research job with every keyword's progress."""

    job: JobView
    keywords: list[KeywordView]


class JobPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of jobs, newest first."""

    items: list[JobView]
    next_cursor: str | None = None


class JobEventView(msgspec.Struct, frozen=True, kw_only=True):
    """One entry of a job's timeline."""

    id: int
    kind: str
    keyword: str | None
    detail: dict[str, Any]
    created_at: datetime


class JobTimeline(msgspec.Struct, frozen=True, kw_only=True):
    """A job's timeline in order."""

    items: list[JobEventView]


# --- trends ---------------------------------------------------------------------------------------------


class TrendSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A scored niche."""

    id: str
    job_id: str | None
    keyword: str
    marketplace: str
    score: float
    confidence: float
    risk: str
    listing_count: int
    total_count: int
    synthetic: bool
    created_at: datetime
    runs: int = 1
    """How often the owner has researched this keyword; GET /v1/trends/{id} lists the runs (``history``)."""


class TrendPoint(msgspec.Struct, frozen=True, kw_only=True):
    """One earlier score of the same keyword."""

    id: str
    score: float
    confidence: float
    risk: str
    created_at: datetime


class TrendDetail(msgspec.Struct, frozen=True, kw_only=True):
    """A scored niche with why it scored so and its history."""

    trend: TrendSummary
    factors: list[FactorExplanation]
    estimates: list[Estimate]
    momentum: Momentum
    price_band: PriceBand | None
    top_tags: list[str]
    top_title_phrases: list[str]
    history: list[TrendPoint]
    relevance: Relevance | None = None
    """How many listings were about the keyword; ``insufficient_data`` with its reason when too few."""


class TrendPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of trends."""

    items: list[TrendSummary]
    next_cursor: str | None = None


# --- products -------------------------------------------------------------------------------------------


class ProductSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A generated product concept."""

    id: str
    job_id: str | None
    keyword: str
    title: str
    status: str
    price: float
    currency: str
    score: float | None
    risk: str | None
    created_at: datetime
    updated_at: datetime
    remote_listing_id: int | None = None
    listing_url: str | None = None


class ProductDetail(msgspec.Struct, frozen=True, kw_only=True):
    """A product concept with everything the generator produced."""

    product: ProductSummary
    concept: ProductConcept
    price: PriceSuggestion
    design: DesignPrompt
    validation: ValidationReport
    evidence: Evidence
    usage: ProviderUsage


class ProductPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of products."""

    items: list[ProductSummary]
    next_cursor: str | None = None


# --- operations -----------------------------------------------------------------------------------------


class DeadLetterSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A stored dead letter."""

    id: int
    original_topic: str
    original_partition: int
    original_offset: int
    consumer_group: str
    exception_type: str | None
    exception_message: str | None
    attempts: int | None
    event_id: str | None
    status: str
    replay_count: int
    size: int
    failed_at: datetime | None
    received_at: datetime


class DeadLetterDetail(msgspec.Struct, frozen=True, kw_only=True):
    """A dead letter with its headers and body (base64, and as text when it is UTF-8)."""

    dead_letter: DeadLetterSummary
    headers: dict[str, str]
    key_base64: str | None
    body_base64: str
    body_text: str | None


class DeadLetterPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of dead letters, newest first."""

    items: list[DeadLetterSummary]
    next_cursor: str | None = None


class BreakerView(msgspec.Struct, frozen=True, kw_only=True):
    """A circuit breaker's state as its service last wrote it to Redis."""

    service: str
    name: str
    state: str
    changed_at: str | None = None
    failures: int | None = None


class BreakerList(msgspec.Struct, frozen=True, kw_only=True):
    """Every circuit breaker found; ``available`` is False when Redis could not be read."""

    items: list[BreakerView]
    available: bool = True
