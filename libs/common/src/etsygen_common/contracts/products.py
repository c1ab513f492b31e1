"""Topic family ``etsygen.products.*``: concepts the generator produced, rejected or was asked to publish."""

from __future__ import annotations

from typing import Literal

import msgspec

from etsygen_common.contracts.base import Event, Money
from etsygen_common.contracts.trends import PriceBand

# Etsy's enumerations for createDraftListing, exactly as the pinned Etsy OpenAPI document
# (etsy-openapi-3.0.0.json) declares them; a test reads the document and compares. The generator's validator
# and prompt, the gateway's export and the Etsy simulator all take their values from here.
WhoMade = Literal["i_did", "someone_else", "collective"]
WhenMade = Literal[
    "made_to_order",
    "2020_2025",
    "2010_2019",
    "2006_2009",
    "before_2006",
    "2000_2005",
    "1990s",
    "1980s",
    "1970s",
    "1960s",
    "1950s",
    "1940s",
    "1930s",
    "1920s",
    "1910s",
    "1900s",
    "1800s",
    "1700s",
    "before_1700",
]

RejectReason = Literal[
    "risk_too_high",
    "score_too_low",
    "guard_failed",
    "budget_exceeded",
    "invalid_output",
    "provider_failed",
    "generation_disabled",
    "upstream_failed",
]
"""Why the generator did not produce a concept."""


class PriceSuggestion(msgspec.Struct, frozen=True, kw_only=True):
    """A suggested price and the evidence it rests on."""

    price: Money
    band: PriceBand | None
    rationale: str


class DesignPrompt(msgspec.Struct, frozen=True, kw_only=True):
    """Prompt for an image/design tool, with alt text for the listing photo."""

    prompt: str
    alt_text: str


class ValidationReport(msgspec.Struct, frozen=True, kw_only=True):
    """What the deterministic validator found and repaired."""

    valid: bool
    violations: list[str] = msgspec.field(default_factory=list)
    repairs: list[str] = msgspec.field(default_factory=list)
    attempts: int = 1
    grade: str | None = None
    """The listing-quality grade (A best, F worst) of the concept as accepted; None from older generators."""
    grade_reasons: list[str] = msgspec.field(default_factory=list)
    """Why the grade is what it is, in sentences a seller can act on (what the evidence lacked last)."""


class Evidence(msgspec.Struct, frozen=True, kw_only=True):
    """What the concept was built from."""

    keyword: str
    score: float
    risk: str
    top_tags: list[str] = msgspec.field(default_factory=list)


class ProviderUsage(msgspec.Struct, frozen=True, kw_only=True):
    """Which AI provider made the concept and what it cost."""

    provider: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0


class ProductConcept(msgspec.Struct, frozen=True, kw_only=True):
    """A listing-ready product concept."""

    title: str
    tags: list[str]
    description: str
    materials: list[str] = msgspec.field(default_factory=list)
    styles: list[str] = msgspec.field(default_factory=list)
    taxonomy_id: int | None = None
    who_made: WhoMade = "i_did"
    when_made: WhenMade = "made_to_order"
    is_supply: bool = False


class ProductGenerated(Event, frozen=True, kw_only=True):
    """A concept passed validation and guards and was stored."""

    job_id: str
    owner_id: str
    keyword: str
    product_id: str
    concept: ProductConcept
    price: PriceSuggestion
    design: DesignPrompt
    validation: ValidationReport
    evidence: Evidence
    usage: ProviderUsage
    concept_index: int = 0
    """Which of the niche's ``expected_concepts`` this is (0-based)."""
    expected_concepts: int = 1
    """How many outcomes (generated or rejected) the generator emits for this keyword of the job."""


class ProductRejected(Event, frozen=True, kw_only=True):
    """Why a concept was not produced."""

    job_id: str
    owner_id: str
    keyword: str
    reason: RejectReason
    detail: str = ""
    concept_index: int = 0
    expected_concepts: int = 1
    """A keyword of a job is finished when it has this many outcomes (generated plus rejected)."""
    existing_product_id: str | None = None
    """The owner's product this concept duplicates (``guard_failed``): the keyword links to that product
    instead of getting a new one."""


class PublishRequested(Event, frozen=True, kw_only=True):
    """An operator asked for a product to be created as a draft listing on the marketplace."""

    owner_id: str
    product_id: str
    shop_id: int
    requested_by: str
    job_id: str | None = None
