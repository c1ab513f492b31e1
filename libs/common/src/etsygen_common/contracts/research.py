"""Topic family ``etsygen.research.*``: what the gateway asks the pipeline to do."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from etsygen_common.contracts.base import Event

SUPPORTED_MARKETPLACES = ("etsy",)
KeywordText = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]


VARIANTS_HELP = (
    "When a concept would duplicate one of your products (a keyword researched again): false links the "
    "keyword to that product (outcome existing_product), true asks for a different variant instead."
)


class GenerationOptions(msgspec.Struct, frozen=True, kw_only=True):
    """How the generator should treat the job's niches."""

    enabled: bool = True
    concepts_per_niche: Annotated[int, msgspec.Meta(ge=0, le=10)] = 1
    min_score: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.5
    max_risk: Literal["low", "medium", "high"] = "medium"
    provider: str | None = None
    variants: Annotated[bool, msgspec.Meta(description=VARIANTS_HELP)] = False


class ResearchRequested(Event, frozen=True, kw_only=True):
    """A research job was accepted: scrape, score and (optionally) generate for each keyword."""

    job_id: str
    owner_id: str
    keywords: Annotated[list[KeywordText], msgspec.Meta(min_length=1, max_length=50)]
    marketplace: str = "etsy"
    """Validated by the scraper (an unknown one fails the job with a message naming the supported ones)."""
    listing_budget: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 100
    generation: GenerationOptions = msgspec.field(default_factory=GenerationOptions)
    attempt: int = 0


class KeywordScrapeRequested(Event, frozen=True, kw_only=True):
    """Scraper-internal fan-out: fetch one keyword of a research job (one record per keyword, so one keyword
    failing, retrying or waiting for rate-limit budget never holds up the others)."""

    job_id: str
    owner_id: str
    keyword: KeywordText
    marketplace: str = "etsy"
    listing_budget: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 100
    generation: GenerationOptions = msgspec.field(default_factory=GenerationOptions)
    attempt: int = 0
