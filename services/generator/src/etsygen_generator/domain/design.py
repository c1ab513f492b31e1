"""The design brief every provider's concept gets, fitted to the product: a photo and making brief for a
physical item, print-ready artwork for a digital download."""

from __future__ import annotations

from typing import Final

from etsygen_common.contracts.products import DesignPrompt, ProductConcept
from etsygen_common.contracts.trends import NicheEvidence
from etsygen_generator.domain.niche import NicheBrief, ProductKind, read_niche
from etsygen_generator.domain.text import normalize_whitespace, truncate_at_word

ALT_TEXT_MAX_CHARS: Final = 250


def _cut(text: str, limit: int) -> str:
    return truncate_at_word(text, limit) or text[:limit]


def _kind_of(concept: ProductConcept, keyword: str, evidence: NicheEvidence | None) -> ProductKind:
    niche = NicheBrief(keyword=keyword, top_tags=list(concept.tags), evidence=evidence)
    return read_niche(niche).kind


def design_prompt(
    concept: ProductConcept, keyword: str, evidence: NicheEvidence | None = None
) -> DesignPrompt:
    """A brief that fits the product (print-ready art for a download, a product photo brief for an item).

    The kind is read from ``evidence`` when given, else from the keyword and the concept's tags. Alt text
    for the listing photo is at most 250 characters.
    """
    keyword = normalize_whitespace(keyword)
    style = " and ".join(concept.styles).lower() or "clean, modern"
    motifs = ", ".join(concept.tags[:5])
    originality = (
        "Use only original imagery and lettering: no logos, brand names, trademarked characters or "
        "copies of existing designs."
    )
    if _kind_of(concept, keyword, evidence) == "digital":
        prompt = (
            f"Original print-ready artwork for an Etsy digital download titled {concept.title!r}. "
            f"Theme: {keyword}. Style: {style}. Motifs and mood drawn from: {motifs}. {originality} "
            "High resolution (300 dpi), centred on a plain background, with room to crop to common sizes."
        )
    else:
        made_of = f" made of {', '.join(concept.materials)}" if concept.materials else ""
        prompt = (
            f"Product photography and making brief for an Etsy listing titled {concept.title!r}: "
            f"the {keyword}{made_of}, as the maker will produce it. Style: {style}. Details to show: "
            f"{motifs}. {originality} Natural light on a plain, uncluttered background; one photo of the "
            "whole item, one close-up of texture and finish, one in use to show its scale."
        )
    material = f" in {concept.materials[0]}" if concept.materials else ""
    alt_text = _cut(normalize_whitespace(f"{keyword}{material}: {concept.title}"), ALT_TEXT_MAX_CHARS)
    return DesignPrompt(prompt=prompt, alt_text=alt_text)
