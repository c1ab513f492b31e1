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
from collections.abc import Sequence
from functools import lru_cache
from itertools import chain

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
SAMPLE_LISTINGS = 50
"""Evidence is read from the first (best-ranked) relevant listings: what shares of listings name a material
or an occasion is a proportion, which 50 listings estimate as well as 100 do at half the cost."""


def _most_used(counts: Counter[str], limit: int) -> list[TermCount]:
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [TermCount(term=term, listings=count) for term, count in ranked[:limit]]


# Titles are phrases joined by punctuation; a term never spans one ("Gold, Leaf Print" names no gold leaf).
_TITLE_BREAKS = re.compile(r"[,|/;:!?()\[\]{}\u2013\u2014\u2022+&]|\s-\s")


def _listing_parts(listing: ListingSample) -> list[str]:
    return [*_TITLE_BREAKS.split(listing.title), *listing.tags]


_MATERIAL, _OCCASION, _RECIPIENT, _SIZE, _DIGITAL, _PERSONALIZED = range(6)
_Term = tuple[int, str]
"""(kind, term): what a title part or tag names, kinds as above (flags carry an empty term)."""


@lru_cache(maxsize=16_384)
def _read_part(part: str) -> frozenset[_Term]:
    # Niches share many tags and title parts ("gift for her", "personalized"): each is read once.
    terms: set[_Term] = set()
    for kind, vocabulary in ((_MATERIAL, MATERIALS), (_OCCASION, OCCASIONS), (_RECIPIENT, RECIPIENTS)):
        terms.update((kind, term) for term in find_terms(part, vocabulary))
    terms.update((_SIZE, size) for size in find_sizes(part))
    if has_phrase(part, DIGITAL_MARKERS):
        terms.add((_DIGITAL, ""))
    if has_phrase(part, PERSONALIZATION_MARKERS):
        terms.add((_PERSONALIZED, ""))
    return frozenset(terms)


def _tag_phrases(listing: ListingSample) -> set[str]:
    return {phrase for phrase in map(fold_words, listing.tags) if phrase}


def build_evidence(
    listings: Sequence[ListingSample], *, phrase_limit: int = PHRASE_LIMIT, term_limit: int = TERM_LIMIT
) -> NicheEvidence:
    """Count what the listings' titles and tags name, each listing once per term.

    Args:
        listings: the keyword's listings (already de-duplicated by the caller, as for scoring).
        phrase_limit: how many of the most used tags to keep as the niche's search phrases.
        term_limit: how many materials, occasions, recipients and sizes to keep each.
    """
    # One Counter over every listing's distinct terms (a listing counts once per term), built in one call.
    named: Counter[_Term] = Counter(
        chain.from_iterable(frozenset().union(*map(_read_part, _listing_parts(li))) for li in listings)
    )
    phrases: Counter[str] = Counter(chain.from_iterable(map(_tag_phrases, listings)))
    by_kind: list[Counter[str]] = [Counter() for _ in range(6)]
    for (kind, term), count in named.items():
        by_kind[kind][term] = count
    materials, occasions, recipients, sizes, digital, personalized = by_kind
    return NicheEvidence(
        listings=len(listings),
        phrases=_most_used(phrases, phrase_limit),
        materials=_most_used(materials, term_limit),
        occasions=_most_used(occasions, term_limit),
        recipients=_most_used(recipients, term_limit),
        sizes=_most_used(sizes, term_limit),
        digital_listings=digital[""],
        personalized_listings=personalized[""],
    )
