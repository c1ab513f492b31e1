"""The shared listing vocabulary, and TrendScored events from before the evidence field."""

from __future__ import annotations

import msgspec

from etsygen_common.contracts.trends import NicheEvidence, TermCount, TrendScored
from etsygen_common.listing_terms import (
    MATERIALS,
    OCCASIONS,
    RECIPIENTS,
    find_sizes,
    find_terms,
    fold_words,
    has_phrase,
)


def test_words_are_folded_with_apostrophes_kept() -> None:
    assert fold_words("Mother\u2019s  Day, Gift!") == "mother's day gift"
    assert fold_words("Pokémon Café") == "pokemon cafe"


def test_terms_match_whole_words_only() -> None:
    assert find_terms("Marigold Print", MATERIALS) == []
    assert find_terms("14k Gold Necklace", MATERIALS) == ["gold", "14k gold"]
    assert find_terms("Mothers Day Gift for Her", OCCASIONS) == ["mother's day"]
    assert find_terms("Mothers Day Gift for Her", RECIPIENTS) == ["her"]
    assert not has_phrase("download", ("instant download",))


def test_sizes_quantities_and_formats_are_found_once_each() -> None:
    text = "Star Map 8 x 10 in, 8.5x11, 11oz, Set of 4, A4 PDF"
    assert find_sizes(text) == ["8x10in", "8.5x11", "11oz", "set of 4", "a4", "pdf"]


def test_a_trend_event_without_evidence_still_decodes() -> None:
    old = b'{"job_id": "j", "owner_id": "o", "keyword": "mug", "score": 0.5, "top_tags": ["mug"]}'
    trend = msgspec.json.decode(old, type=TrendScored)
    assert trend.evidence is None


def test_evidence_round_trips() -> None:
    evidence = NicheEvidence(listings=3, materials=[TermCount(term="wool", listings=2)], digital_listings=1)
    trend = TrendScored(job_id="j", owner_id="o", keyword="hat", evidence=evidence)
    assert msgspec.json.decode(msgspec.json.encode(trend), type=TrendScored).evidence == evidence
