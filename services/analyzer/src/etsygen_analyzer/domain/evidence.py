"""What a niche's listings say about the product: the evidence a concept is written from.

:func:`build_evidence` reads the titles and tags of one keyword's listings and counts, per listing, the
materials, occasions, recipients, sizes and formats they name, how many read as digital downloads and how
many offer personalization. The generator decides what share of listings is enough to support a claim.
Each listing counts at most once per term, so a listing that repeats a word does not dominate, and ties are
broken alphabetically so the result does not depend on listing order. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

from etsygen_common.contracts.listings import ListingSample
from etsygen_common.contracts.trends import NicheEvidence, TermCount
from etsygen_common.listing_terms import (
    DIGITAL_MARKERS,
    MATERIALS,
    OCCASIONS,
    PERSONALIZATION_MARKERS,
    RECIPIENTS,
    find_sizes,
    find_terms,
    fold_words,
    has_phrase,
)

__all__ = ["build_evidence"]

PHRASE_LIMIT = 20
TERM_LIMIT = 8


def _most_used(counts: Counter[str], limit: int) -> list[TermCount]:
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [TermCount(term=term, listings=count) for term, count in ranked[:limit]]


# Titles are phrases joined by punctuation; a term never spans one ("Gold, Leaf Print" names no gold leaf).
_TITLE_BREAKS = re.compile(r"[,|/;:!?()\[\]{}\u2013\u2014\u2022+&]|\s-\s")


def _listing_parts(listing: ListingSample) -> list[str]:
    return [*_TITLE_BREAKS.split(listing.title), *listing.tags]


def _terms(parts: list[str], find: Callable[[str], list[str]]) -> set[str]:
    return {term for part in parts for term in find(part)}


def _names_any(parts: list[str], phrases: tuple[str, ...]) -> bool:
    return any(has_phrase(part, phrases) for part in parts)


def _tag_phrases(listing: ListingSample) -> set[str]:
    return {phrase for phrase in map(fold_words, listing.tags) if phrase}


def _count(per_listing: Iterable[Iterable[str]]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for terms in per_listing:
        counts.update(set(terms))
    return counts


def build_evidence(
    listings: Sequence[ListingSample], *, phrase_limit: int = PHRASE_LIMIT, term_limit: int = TERM_LIMIT
) -> NicheEvidence:
    """Count what the listings' titles and tags name, each listing once per term.

    Args:
        listings: the keyword's listings (already de-duplicated by the caller, as for scoring).
        phrase_limit: how many of the most used tags to keep as the niche's search phrases.
        term_limit: how many materials, occasions, recipients and sizes to keep each.
    """
    parts = [_listing_parts(listing) for listing in listings]

    def most_used(find: Callable[[str], list[str]]) -> list[TermCount]:
        return _most_used(_count(_terms(texts, find) for texts in parts), term_limit)

    return NicheEvidence(
        listings=len(listings),
        phrases=_most_used(_count(_tag_phrases(listing) for listing in listings), phrase_limit),
        materials=most_used(lambda text: find_terms(text, MATERIALS)),
        occasions=most_used(lambda text: find_terms(text, OCCASIONS)),
        recipients=most_used(lambda text: find_terms(text, RECIPIENTS)),
        sizes=most_used(find_sizes),
        digital_listings=sum(_names_any(texts, DIGITAL_MARKERS) for texts in parts),
        personalized_listings=sum(_names_any(texts, PERSONALIZATION_MARKERS) for texts in parts),
    )
