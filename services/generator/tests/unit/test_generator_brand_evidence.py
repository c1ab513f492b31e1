"""Brand terms never reach a provider through the niche's evidence either."""

from __future__ import annotations

from etsygen_common.contracts.trends import NicheEvidence, TermCount, TrendScored
from etsygen_generator.domain.guards import BrandBlocklist, without_brand_evidence


def test_brand_terms_are_removed_from_the_evidence_phrases_too() -> None:
    evidence = NicheEvidence(
        listings=10, phrases=[TermCount(term="cricut", listings=9), TermCount(term="svg bundle", listings=8)]
    )
    trend = TrendScored(job_id="j", owner_id="o", keyword="svg cut files", evidence=evidence)
    cleaned = without_brand_evidence(trend, BrandBlocklist.starter())
    assert cleaned.evidence is not None
    assert [term.term for term in cleaned.evidence.phrases] == ["svg bundle"]


def test_a_trend_without_brand_terms_is_returned_as_is() -> None:
    evidence = NicheEvidence(listings=10, phrases=[TermCount(term="svg bundle", listings=8)])
    trend = TrendScored(job_id="j", owner_id="o", keyword="svg cut files", evidence=evidence)
    assert without_brand_evidence(trend, BrandBlocklist.starter()) is trend
