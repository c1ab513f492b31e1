"""Event contracts and the topic registry.

Every topic the platform uses is named here once, with the Struct that is its body. Services import topic
names from :data:`TOPICS`, never as string literals.
"""

from __future__ import annotations

from typing import Final

import msgspec

from etsygen_common.contracts.base import Event, Money, Range
from etsygen_common.contracts.keywords import KeywordWaiting, WaitingReason
from etsygen_common.contracts.listings import (
    FetchMetadata,
    ListingPublished,
    ListingSample,
    ListingsScraped,
    ShopSample,
)
from etsygen_common.contracts.products import (
    DesignPrompt,
    Evidence,
    PriceSuggestion,
    ProductConcept,
    ProductGenerated,
    ProductRejected,
    ProviderUsage,
    PublishRequested,
    ValidationReport,
)
from etsygen_common.contracts.research import GenerationOptions, KeywordScrapeRequested, ResearchRequested
from etsygen_common.contracts.trends import (
    Estimate,
    FactorScore,
    Momentum,
    NicheEvidence,
    PriceBand,
    Relevance,
    TermCount,
    TrendScored,
)

RETENTION_DEFAULT_MS: Final = 7 * 24 * 3600 * 1000
"""A week: consumers are back from any outage long before, and the outbox keeps what was never sent."""
RETENTION_DEADLETTER_MS: Final = 30 * 24 * 3600 * 1000
"""As long as the gateway keeps dead letters in Postgres (GATEWAY_DEAD_LETTER_RETENTION_DAYS): a record
the gateway has not consumed yet is never gone from Kafka before it would be pruned anyway."""


class Topic(msgspec.Struct, frozen=True, kw_only=True):
    """A topic and its body type. Its retry topics (``<topic>.<group>.retry.N``) share its retention."""

    name: str
    body: type[Event] | None
    producer: str
    description: str
    retention_ms: int = RETENTION_DEFAULT_MS


RESEARCH_REQUESTED: Final = "etsygen.research.requested.v1"
KEYWORD_SCRAPE_REQUESTED: Final = "etsygen.scraper.keyword-requested.v1"
LISTINGS_SCRAPED: Final = "etsygen.listings.scraped.v1"
TRENDS_SCORED: Final = "etsygen.trends.scored.v1"
PRODUCTS_GENERATED: Final = "etsygen.products.generated.v1"
PRODUCTS_REJECTED: Final = "etsygen.products.rejected.v1"
PUBLISH_REQUESTED: Final = "etsygen.products.publish-requested.v1"
LISTINGS_PUBLISHED: Final = "etsygen.listings.published.v1"
DEADLETTER: Final = "etsygen.deadletter.v1"
BROKER_HEARTBEAT: Final = "etsygen.broker.heartbeat.v1"
KEYWORD_WAITING: Final = "etsygen.keyword.waiting.v1"

TOPICS: Final[dict[str, Topic]] = {
    t.name: t
    for t in (
        Topic(
            name=RESEARCH_REQUESTED,
            body=ResearchRequested,
            producer="gateway",
            description="A research job was accepted.",
        ),
        Topic(
            name=KEYWORD_SCRAPE_REQUESTED,
            body=KeywordScrapeRequested,
            producer="scraper",
            description="Scraper-internal: fetch one keyword of a job.",
        ),
        Topic(
            name=LISTINGS_SCRAPED,
            body=ListingsScraped,
            producer="scraper",
            description="One keyword's normalised marketplace data.",
        ),
        Topic(
            name=TRENDS_SCORED,
            body=TrendScored,
            producer="analyzer",
            description="One keyword's niche score with its explanation.",
        ),
        Topic(
            name=PRODUCTS_GENERATED,
            body=ProductGenerated,
            producer="generator",
            description="One validated product concept.",
        ),
        Topic(
            name=PRODUCTS_REJECTED,
            body=ProductRejected,
            producer="generator",
            description="Why a concept was not produced.",
        ),
        Topic(
            name=PUBLISH_REQUESTED,
            body=PublishRequested,
            producer="gateway",
            description="An operator asked for a draft listing.",
        ),
        Topic(
            name=LISTINGS_PUBLISHED,
            body=ListingPublished,
            producer="generator",
            description="A draft listing was created on the marketplace.",
        ),
        Topic(
            name=KEYWORD_WAITING,
            body=KeywordWaiting,
            producer="scraper, analyzer, generator",
            description="A stage holds a keyword back for a known reason until a resume time (best-effort).",
        ),
        Topic(
            name=BROKER_HEARTBEAT,
            body=None,
            producer="gateway",
            description="Small marker records whose acknowledged offsets tell when the broker lost data "
            "(one partition; short retention).",
            retention_ms=24 * 3600 * 1000,
        ),
        Topic(
            name=DEADLETTER,
            body=None,
            producer="any consumer",
            description="The failed record unchanged plus failure headers.",
            retention_ms=RETENTION_DEADLETTER_MS,
        ),
    )
}

EVENT_TOPIC: Final[dict[type[Event], str]] = {t.body: t.name for t in TOPICS.values() if t.body is not None}


def topic_of(event: Event) -> str:
    """Return the topic an event is published on.

    Raises:
        KeyError: the event's type is not registered.
    """
    return EVENT_TOPIC[type(event)]


__all__ = [
    "BROKER_HEARTBEAT",
    "DEADLETTER",
    "EVENT_TOPIC",
    "KEYWORD_SCRAPE_REQUESTED",
    "KEYWORD_WAITING",
    "LISTINGS_PUBLISHED",
    "LISTINGS_SCRAPED",
    "PRODUCTS_GENERATED",
    "PRODUCTS_REJECTED",
    "PUBLISH_REQUESTED",
    "RESEARCH_REQUESTED",
    "TOPICS",
    "TRENDS_SCORED",
    "DesignPrompt",
    "Estimate",
    "Event",
    "Evidence",
    "FactorScore",
    "FetchMetadata",
    "GenerationOptions",
    "KeywordScrapeRequested",
    "KeywordWaiting",
    "ListingPublished",
    "ListingSample",
    "ListingsScraped",
    "Momentum",
    "Money",
    "NicheEvidence",
    "PriceBand",
    "PriceSuggestion",
    "ProductConcept",
    "ProductGenerated",
    "ProductRejected",
    "ProviderUsage",
    "PublishRequested",
    "Range",
    "Relevance",
    "ResearchRequested",
    "ShopSample",
    "TermCount",
    "Topic",
    "TrendScored",
    "ValidationReport",
    "WaitingReason",
    "topic_of",
]
