"""Each factor's explanation says in words what its input means for a seller, numbers rounded for people."""

from __future__ import annotations

import re

import pytest
from analyzer_builders import CONFIG, NOW, listing, reference_niche, scraped
from hypothesis import given
from hypothesis import strategies as st

from etsygen_analyzer.domain.scoring import score_niche
from etsygen_common.contracts.listings import ListingSample


def _explanations(niche_listings: list[ListingSample], total_count: int = 9_000) -> dict[str, str]:
    assessment = score_niche(scraped(niche_listings, total_count=total_count), CONFIG, observed_at=NOW)
    return {factor.name: factor.explanation for factor in assessment.factors}


def test_the_reference_niche_explained_for_a_seller() -> None:
    assessment = score_niche(reference_niche(), CONFIG, observed_at=NOW)
    explained = {factor.name: factor.explanation for factor in assessment.factors}
    assert explained == {
        "price": "typical price $35: inside the $20\u2013$80 sweet spot buyers pay",
        "sales_velocity": (
            "the top 25 listings sell about 300 a month; shared with about 3,600 competing shops, a new "
            "shop's part is 0.083 sales, about $2.9 a month at $35: some demand for a newcomer"
        ),
        "rating": "buyers rate these listings 4.8 of 5: buyers are happy with what this niche sells",
        "competition": "about 30 active listings per monthly sale: some competition",
        "market_size": "about 9,000 active listings about the keyword: a large market",
    }


def test_few_listings_per_sale_read_as_little_competition() -> None:
    # 19 reviews in 30 days at 0.19 reviews per order: 100 sales a month against 300 listings.
    niche = [listing(index, reviews=1 if index < 19 else 0, rating=4.9) for index in range(25)]
    assert _explanations(niche, total_count=300)["competition"] == (
        "about 3 active listings per monthly sale: little competition"
    )


def test_many_listings_per_sale_read_as_crowded() -> None:
    niche = [listing(index, reviews=1 if index < 19 else 0, rating=4.9) for index in range(25)]
    explained = _explanations(niche, total_count=40_000)["competition"]
    assert explained == "about 400 active listings per monthly sale: crowded: many listings share each sale"


@pytest.mark.parametrize(
    ("price", "words"),
    [(8.0, "below the $20\u2013$80 sweet spot"), (240.0, "above the $20\u2013$80 sweet spot")],
)
def test_a_price_outside_the_sweet_spot_says_which_side(price: float, words: str) -> None:
    assert words in _explanations([listing(index, price=price) for index in range(10)])["price"]


def test_missing_evidence_is_said_in_words() -> None:
    explained = _explanations([listing(index, price=30.0) for index in range(10)])
    assert explained["sales_velocity"] == "no sales evidence: demand unknown"
    assert explained["rating"] == "no ratings: buyer satisfaction unknown"
    assert explained["competition"] == "no demand estimate: competition per sale unknown"


# No figure in an explanation carries more than one decimal ("4.8", "0.31" below 1): never 22.255000000000003.
_LONG_DECIMAL = re.compile(r"\d+\.\d{2,}")


@given(
    st.lists(
        st.builds(
            lambda index, price, reviews, rating: listing(index, price=price, reviews=reviews, rating=rating),
            st.integers(min_value=1, max_value=500),
            st.floats(min_value=0.5, max_value=2_000.0),
            st.none() | st.integers(min_value=0, max_value=300),
            st.none() | st.floats(min_value=1.0, max_value=5.0),
        ),
        min_size=1,
        max_size=30,
    ),
    st.integers(min_value=0, max_value=2_000_000),
)
def test_explanations_round_numbers_for_people(niche_listings: list[ListingSample], total_count: int) -> None:
    for name, explanation in _explanations(niche_listings, total_count).items():
        assert explanation, name
        for figure in _LONG_DECIMAL.findall(explanation):
            assert figure.startswith("0."), (name, explanation)
