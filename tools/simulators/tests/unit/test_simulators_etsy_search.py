"""Search by relevance, as Etsy answers ``keywords``, and listings that state their niche's facts."""

from __future__ import annotations

import pytest

from etsygen_simulators.etsy import BUILT_IN_PROFILES, Catalogue
from etsygen_simulators.etsy.text import STOP_WORDS, stem, terms
from etsygen_simulators.etsy.truth import niche_truth

EPOCH = 1_780_000_000


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue(epoch=EPOCH)


def test_plurals_match_their_singular() -> None:
    assert [stem(word) for word in ("rings", "boxes", "ponies", "glass", "dress", "mug")] == [
        "ring",
        "box",
        "pony",
        "glass",
        "dress",
        "mug",
    ]
    assert terms("Rings for the Bride; rings!") == ("ring", "bride")
    assert terms("'; DROP TABLE jobs;--") == ("drop", "table", "job")


def test_a_niche_keyword_finds_its_niche_first(catalogue: Catalogue) -> None:
    for profile in BUILT_IN_PROFILES:
        count, page = catalogue.search(profile.keyword, limit=20, offset=0)
        code = niche_truth(7, profile.keyword).code
        assert count > 0, profile.keyword
        assert all(item["listing_id"] >> 17 == code for item in page), profile.keyword


def test_a_partial_query_finds_the_related_niche(catalogue: Catalogue) -> None:
    count, page = catalogue.search("silver ring", limit=50, offset=0)
    plural, _ = catalogue.search("Silver  Rings", limit=1, offset=0)

    assert count == plural > 0
    assert all("ring" in terms(" ".join([item["title"], *item["tags"]])) for item in page)
    assert {item["taxonomy_id"] for item in page} == {1214}


def test_an_off_topic_query_finds_only_loose_matches(catalogue: Catalogue) -> None:
    off_topic, page = catalogue.search("leather dog leash", limit=100, offset=0)

    # Etsy-like leniency: two of three terms match, so dog collars come back, none of them a leash.
    assert off_topic > 0
    assert not any("leash" in " ".join([item["title"], *item["tags"]]).lower() for item in page)


@pytest.mark.parametrize(
    "query", ["'; DROP TABLE jobs;--", "مرحبا بالعالم", "asdkjh qwe", "--", "the and of"]
)
def test_nonsense_finds_nothing_and_count_says_so(catalogue: Catalogue, query: str) -> None:
    assert catalogue.search(query, limit=100, offset=0) == (0, [])


def test_listings_carry_their_keyword_to_varying_degrees(catalogue: Catalogue) -> None:
    _, page = catalogue.search("personalized cutting board", limit=100, offset=0)
    leading = sum(item["title"].lower().startswith("personalized cutting board") for item in page)
    keyword_terms = set(terms("personalized cutting board"))

    assert 0 < leading < len(page)
    assert all(
        len(keyword_terms & set(terms(" ".join([item["title"], *item["tags"]])))) >= 2 for item in page
    )


def test_listings_state_the_niche_facts(catalogue: Catalogue) -> None:
    _, collars = catalogue.search("personalized dog collar", limit=5, offset=0)
    _, planners = catalogue.search("digital planner 2026", limit=5, offset=0)

    collar = collars[0]
    assert collar["listing_type"] == "physical"
    assert "leather" in collar["materials"]
    assert collar["is_personalizable"]
    assert collar["personalization_instructions"]
    for line in ("This leather dog collar is made from leather", "Size and format:", "Personalization:"):
        assert line in collar["description"]
    assert all(len(item["tags"]) == len(set(item["tags"])) <= 13 for item in collars + planners)
    assert all(len(tag) <= 20 for item in collars + planners for tag in item["tags"])
    planner = planners[0]
    assert planner["listing_type"] == "download"
    assert planner["materials"] == []
    assert not planner["is_personalizable"]
    assert "digital download" in planner["description"]


def test_occasions_appear_only_in_niches_where_they_belong(catalogue: Catalogue) -> None:
    _, aprons = catalogue.search("linen apron", limit=100, offset=0)
    _, wallets = catalogue.search("leather wallet men", limit=100, offset=0)

    assert not any("gift" in item["title"].lower() for item in aprons)
    assert any("Gift For Him" in item["title"] for item in wallets)
    assert not any("Gift For Her" in item["title"] for item in wallets)


def test_price_sort_and_taxonomy_filter_keep_to_the_query(catalogue: Catalogue) -> None:
    count, cheapest = catalogue.search("necklace", limit=20, offset=0, sort_on="price", ascending=True)
    gold, _ = catalogue.search("necklace", limit=1, offset=0, taxonomy_id=1218)
    none, _ = catalogue.search("necklace", limit=1, offset=0, taxonomy_id=1153)

    prices = [item["price"]["amount"] for item in cheapest]
    assert prices == sorted(prices)
    assert count >= gold > 0
    assert none == 0


def test_tags_are_cut_at_a_word_and_never_end_on_a_stop_word(catalogue: Catalogue) -> None:
    for profile in BUILT_IN_PROFILES:
        _, page = catalogue.search(profile.keyword, limit=10, offset=0)
        for item in page:
            for tag in item["tags"]:
                assert len(tag) <= 20, tag
                assert tag.split()[-1] not in STOP_WORDS, (profile.keyword, tag)
