"""The Etsy draft's form fields, read from a stored product."""

from __future__ import annotations

import msgspec

from etsygen_common.contracts import (
    Evidence,
    PriceBand,
    ProductGenerated,
    ProviderUsage,
    ValidationReport,
)
from etsygen_generator.domain.compose import NicheBrief, compose, design_prompt, suggest_price
from etsygen_generator.domain.drafts import draft_fields

NICHE = NicheBrief(
    keyword="boho plant pot",
    top_tags=["ceramic planter", "boho plant pot", "succulent pot"],
    top_title_phrases=["boho plant pot"],
    price_band=PriceBand(p25=20.0, median=24.0, p75=30.0),
)


def _product(**concept_changes: object) -> ProductGenerated:
    concept = msgspec.structs.replace(compose(NICHE), **concept_changes)
    return ProductGenerated(
        job_id="job-1",
        owner_id="owner-1",
        keyword=NICHE.keyword,
        product_id="product-1",
        concept=concept,
        price=suggest_price(NICHE.price_band),
        design=design_prompt(concept, NICHE.keyword),
        validation=ValidationReport(valid=True),
        evidence=Evidence(keyword=NICHE.keyword, score=0.8, risk="low"),
        usage=ProviderUsage(provider="builtin", model="builtin"),
    )


def test_a_draft_is_one_item_that_is_not_a_supply_at_the_suggested_price() -> None:
    product = _product()
    fields = draft_fields(product, default_taxonomy_id=1)
    assert fields["quantity"] == 1
    assert fields["is_supply"] == "false"
    assert fields["price"] == f"{product.price.price.amount:.2f}"
    assert (fields["title"], fields["tags"]) == (product.concept.title, product.concept.tags)
    assert (fields["who_made"], fields["when_made"]) == (product.concept.who_made, product.concept.when_made)


def test_the_concepts_taxonomy_wins_over_the_default() -> None:
    assert draft_fields(_product(taxonomy_id=None), default_taxonomy_id=7)["taxonomy_id"] == 7
    assert draft_fields(_product(taxonomy_id=1234), default_taxonomy_id=7)["taxonomy_id"] == 1234


def test_materials_and_styles_are_sent_only_when_there_are_some() -> None:
    bare = draft_fields(_product(materials=[], styles=[]), default_taxonomy_id=1)
    assert "materials" not in bare
    assert "styles" not in bare
    full = draft_fields(_product(materials=["ceramic"], styles=["Boho"]), default_taxonomy_id=1)
    assert (full["materials"], full["styles"]) == (["ceramic"], ["Boho"])
