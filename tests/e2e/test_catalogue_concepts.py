"""Across services: every keyword of the synthetic catalogue, fetched through the real Etsy client and
scored by the analyzer's model, yields a built-in concept that passes the generator's validator and
guards, and a draft listing built from it is accepted by the simulator's createDraftListing."""

from __future__ import annotations

import time

import pytest

from etsygen_analyzer.domain.config import default_config
from etsygen_analyzer.domain.scoring import score_niche
from etsygen_common.contracts import ProductConcept, TrendScored
from etsygen_generator.adapters.etsy_drafts import EtsyDraftClient
from etsygen_generator.adapters.providers import ConceptRequest, build_provider
from etsygen_generator.domain.guards import BrandBlocklist, check_brands, without_brand_evidence
from etsygen_generator.domain.validator import validate
from etsygen_generator.service_layer.generation import generate_valid_concept
from etsygen_scraper.adapters.etsy_client import EtsyClient
from etsygen_scraper.adapters.fetcher import fetch_keyword
from etsygen_scraper.domain.normalize import to_listings_scraped
from etsygen_simulators.etsy import BUILT_IN_PROFILES, SimulatorConfig, running_simulator

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def test_every_catalogue_keyword_gets_a_valid_concept_and_an_accepted_draft() -> None:
    keywords = [p.keyword for p in BUILT_IN_PROFILES]
    assert len(keywords) >= 30
    provider = build_provider("builtin")
    blocklist = BrandBlocklist.starter()
    config = default_config()
    concepts: list[ProductConcept] = []
    async with running_simulator(SimulatorConfig(per_second=500, per_day=1_000_000)) as sim:
        async with EtsyClient("catalogue:secret", base_url=sim.base_url, per_second=200) as client:
            for keyword in keywords:
                fetched = await fetch_keyword(client, keyword, 30, top_n_reviews=5)
                scraped = to_listings_scraped(fetched, job_id="job", owner_id="owner")
                assessment = score_niche(scraped, config, observed_at=time.time())
                trend = TrendScored(
                    job_id="job",
                    owner_id="owner",
                    keyword=keyword,
                    score=assessment.score,
                    confidence=assessment.confidence,
                    risk=assessment.risk,
                    price_band=assessment.price_band,
                    top_tags=assessment.top_tags,
                    top_title_phrases=assessment.top_title_phrases,
                )
                request = ConceptRequest.from_trend(without_brand_evidence(trend, blocklist))
                generated = await generate_valid_concept(provider, request, max_attempts=1)
                assert validate(generated.concept) == [], keyword
                assert generated.report.valid
                assert check_brands(generated.concept, blocklist) is None, keyword
                concepts.append(generated.concept)

        drafts = EtsyDraftClient("catalogue:secret", base_url=sim.base_url)
        try:
            token = await drafts.refresh("5678.refresh-token-of-the-seller")
            for concept in concepts[:5]:
                listing_id, state, _url = await drafts.create_draft(
                    shop_id=1234,
                    user_id=5678,
                    access_token=token.access_token,
                    fields={
                        "quantity": 1,
                        "title": concept.title,
                        "description": concept.description,
                        "price": "24.00",
                        "who_made": concept.who_made,
                        "when_made": concept.when_made,
                        "taxonomy_id": 1,
                        "tags": concept.tags,
                        "materials": concept.materials,
                    },
                )
                assert listing_id > 0
                assert state == "draft"  # drafts only: nothing is ever activated
        finally:
            await drafts.aclose()
    await provider.aclose()
