"""The niche evidence the analyzer reads from listings' titles and tags."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from etsygen_analyzer.domain.evidence import build_evidence
from etsygen_common.contracts.base import Money
from etsygen_common.contracts.listings import ListingSample
from etsygen_common.contracts.trends import TermCount


def listing(listing_id: int, title: str, *tags: str) -> ListingSample:
    return ListingSample(
        listing_id=listing_id,
        shop_id=1,
        title=title,
        price=Money(amount=20.0, currency="USD"),
        tags=list(tags),
    )


LISTINGS = [
    listing(1, "Leather Dog Collar, Engraved Name Collar, Gift for Her", "leather collar", "dog lover"),
    listing(2, "Leather Dog Collar with Brass Buckle", "leather collar", "brass buckle", "leather"),
    listing(3, "Star Map Print 8x10, Printable Anniversary Gift", "star map", "printable", "anniversary"),
]


def test_each_listing_counts_once_per_term() -> None:
    evidence = build_evidence(LISTINGS)
    assert evidence.listings == 3
    assert TermCount(term="leather", listings=2) in evidence.materials
    assert evidence.phrases[0] == TermCount(term="leather collar", listings=2)


def test_occasions_recipients_sizes_digital_and_personalization_are_counted() -> None:
    evidence = build_evidence(LISTINGS)
    assert evidence.occasions == [TermCount(term="anniversary", listings=1)]
    assert {term.term for term in evidence.recipients} == {"her", "dog lover"}
    assert evidence.sizes == [TermCount(term="8x10", listings=1)]
    assert evidence.digital_listings == 1
    assert evidence.personalized_listings == 1  # "engraved"


def test_a_term_never_spans_title_punctuation() -> None:
    evidence = build_evidence([listing(1, "Gold, Leaf Print")])
    assert "gold leaf" not in {term.term for term in evidence.materials}


def test_no_listings_give_empty_evidence() -> None:
    evidence = build_evidence([])
    assert evidence.listings == 0
    assert evidence.phrases == evidence.materials == []


@given(st.permutations(LISTINGS))
def test_evidence_does_not_depend_on_listing_order(ordered: list[ListingSample]) -> None:
    assert build_evidence(ordered) == build_evidence(LISTINGS)
