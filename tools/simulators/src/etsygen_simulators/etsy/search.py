"""``findAllListingsActive`` by relevance, as Etsy answers ``keywords``: listings whose title and tags carry
the query's terms, most relevant first.

A listing matches when its title and tags together hold every term of a one- or two-term query, or all but
one of a longer one (so "minimalist gold necklace" also finds gold necklaces that are not called minimalist:
related listings, and some that match only loosely). Terms in the title weigh twice those only in the tags;
among equally relevant listings the better sellers come first. A query whose terms no listing carries (a
nonsense string, another script, an SQL fragment) matches nothing, and ``count`` says 0.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence

from etsygen_simulators.etsy.listings import Form, NicheListings, form_of
from etsygen_simulators.etsy.text import term_set, terms
from etsygen_simulators.etsy.vocabulary import ADJECTIVES

LISTING_SLOT_BITS = 17
"""Low bits of a listing id hold its rank in its niche; the high bits name the niche."""


def listing_id(code: int, rank: int) -> int:
    return (code << LISTING_SLOT_BITS) | rank


def required_terms(count: int) -> int:
    """How many of a query's ``count`` terms a listing must carry to match."""
    return count if count <= 2 else count - 1


def _mask(found: frozenset[str], bit: dict[str, int]) -> int:
    mask = 0
    for term in found:
        mask |= bit.get(term, 0)
    return mask


def _niche_matches(niche: NicheListings, bit: dict[str, int], required: int) -> list[tuple[int, float, int]]:
    """``(-relevance, -orders, listing id)`` of the niche's listings matching the query's terms."""
    if _mask(niche.vocabulary, bit).bit_count() < required:
        return []
    profile = niche.profile
    keyword_mask = _mask(term_set([profile.keyword]), bit)
    item_mask = _mask(term_set([profile.item]), bit)
    word_masks = [_mask(term_set([word]), bit) for word in profile.words]
    adjective_masks = [_mask(term_set([word]), bit) for word in ADJECTIVES]
    occasion_masks = [_mask(term_set([occasion]), bit) for occasion in profile.occasions]
    tag_masks = {key: _mask(found, bit) for key, found in niche.tag_terms.items()}
    words, occasions = len(word_masks), len(occasion_masks)
    code, orders = niche.truth.code, niche.orders
    found: list[tuple[int, float, int]] = []
    # The same decoding as ``listings.Choice``, inlined: this loop runs over every listing of the niche.
    for rank, bits in enumerate(niche.bits):
        form = form_of(bits)
        lead = (bits >> 8 & 0xFF) % words
        second = (lead + 1 + (bits >> 16 & 0xFF) % (words - 1)) % words
        if form is Form.FULL:
            adjective = bits >> 32 & 0xFF
            head = keyword_mask | (adjective_masks[adjective % len(ADJECTIVES)] if adjective < 100 else 0)
        elif form is Form.ITEM:
            head = item_mask
        else:
            head = word_masks[lead]
        title = head | word_masks[second]
        occasion = bits >> 40 & 0xFF
        if occasions and occasion < 90:
            title |= occasion_masks[occasion % occasions]
        everything = title | tag_masks[form, (bits >> 24 & 0xFF) % words]
        matched = everything.bit_count()
        if matched >= required:
            in_title = title.bit_count()
            found.append((-(matched + in_title), -orders[rank], listing_id(code, rank)))
    return found


def matching_listings(niches: Sequence[NicheListings], query: str) -> array[int]:
    """Ids of every listing matching ``query``, most relevant first (ties: more orders first, then id)."""
    query_terms = terms(query)
    if not query_terms:
        return array("q")
    bit = {term: 1 << index for index, term in enumerate(query_terms)}
    required = required_terms(len(query_terms))
    found: list[tuple[int, float, int]] = []
    for niche in niches:
        found.extend(_niche_matches(niche, bit, required))
    found.sort()
    return array("q", (entry[2] for entry in found))
