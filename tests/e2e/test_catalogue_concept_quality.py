"""Across services, in process: every niche of the synthetic catalogue (the demo seed and a held-out seed),
read by the scraper's normaliser and the analyzer's scorer and evidence builder, gets a built-in concept
that passes the validator and grades B or better. The grade distribution is printed (``-s`` shows it)."""

from __future__ import annotations

import time
from collections import Counter

import msgspec
import pytest

from etsygen_analyzer.domain.config import default_config
from etsygen_analyzer.domain.evidence import build_evidence
from etsygen_analyzer.domain.scoring import score_niche
from etsygen_common.contracts import TrendScored
from etsygen_common.contracts.listings import ListingsScraped
from etsygen_generator.domain.compose import compose, design_prompt
from etsygen_generator.domain.guards import BrandBlocklist, check_brands, without_brand_evidence
from etsygen_generator.domain.niche import NicheBrief
from etsygen_generator.domain.quality import at_least, grade
from etsygen_generator.domain.validator import validate
from etsygen_scraper.domain.etsy_models import EtsyListing
from etsygen_scraper.domain.normalize import listing_samples
from etsygen_simulators.etsy import BUILT_IN_PROFILES, Catalogue

pytestmark = [pytest.mark.slow]

EPOCH = 1_780_000_000


def trend_for(catalogue: Catalogue, keyword: str) -> TrendScored:
    total, page = catalogue.search(keyword, limit=100, offset=0)
    listings = listing_samples(msgspec.convert(page, list[EtsyListing]))
    scraped = ListingsScraped(
        job_id="job", owner_id="owner", keyword=keyword, total_count=total, listings=listings
    )
    assessment = score_niche(scraped, default_config(), observed_at=time.time())
    return TrendScored(
        job_id="job",
        owner_id="owner",
        keyword=keyword,
        score=assessment.score,
        risk=assessment.risk,
        price_band=assessment.price_band,
        top_tags=assessment.top_tags,
        top_title_phrases=assessment.top_title_phrases,
        evidence=build_evidence(listings),
    )


@pytest.mark.parametrize("seed", [7, 11])
def test_every_catalogue_niche_gets_a_built_in_concept_graded_b_or_better(seed: int) -> None:
    catalogue = Catalogue(seed=seed, epoch=EPOCH)
    blocklist = BrandBlocklist.starter()
    letters: Counter[str] = Counter()
    below: list[str] = []
    for profile in BUILT_IN_PROFILES:
        trend = without_brand_evidence(trend_for(catalogue, profile.keyword), blocklist)
        niche = NicheBrief.from_trend(trend)
        concept = compose(niche)
        assert validate(concept) == [], profile.keyword
        assert check_brands(concept, blocklist) is None, profile.keyword
        graded = grade(concept, niche, design=design_prompt(concept, trend.keyword, trend.evidence))
        letters[graded.letter] += 1
        if not at_least(graded.letter, "B"):
            below.append(f"{profile.keyword}: {graded.letter} {graded.problems}")
    print(f"seed {seed}: grades {dict(sorted(letters.items()))}")
    assert below == []
