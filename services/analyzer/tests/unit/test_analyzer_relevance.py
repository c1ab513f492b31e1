"""Relevance: the stemmer, a keyword's terms, which listings are about it, and too little evidence."""

from __future__ import annotations

import msgspec
import pytest
from analyzer_builders import CONFIG, NOW, listing, reference_niche, scraped
from hypothesis import given
from hypothesis import strategies as st

from etsygen_analyzer.domain.relevance import is_relevant, keyword_terms, relevant_listings, stem
from etsygen_analyzer.domain.scoring import score_niche, unique_listings
from etsygen_common.contracts.listings import ListingSample

SHARE = CONFIG.relevance.min_term_share

# --- the stemmer ---


@pytest.mark.parametrize(
    "family",
    [
        ("ring", "rings"),
        ("collar", "collars"),
        ("puppy", "puppies"),
        ("cookie", "cookies"),
        ("glass", "glasses"),
        ("box", "boxes"),
        ("watch", "watches"),
        ("candle", "candles"),
        ("necklace", "necklaces"),
        ("stack", "stacking", "stacked", "stacks"),
        ("knit", "knitting", "knits"),
        ("engrave", "engraved", "engraving"),
        ("personalize", "personalized", "personalizing"),
        ("mom", "mom's"),
        ("t-shirt", "t-shirts"),
    ],
)
def test_a_words_common_forms_share_one_stem(family: tuple[str, ...]) -> None:
    assert len({stem(word) for word in family}) == 1


@pytest.mark.parametrize("word", ["ring", "string", "rose", "dress", "cactus", "toy", "tee", "mug", "art"])
def test_short_words_and_singulars_ending_in_s_keep_their_ending(word: str) -> None:
    assert stem(word) == word


def test_earrings_do_not_stem_to_ear_nor_to_ring() -> None:
    assert stem("earrings") not in {"ear", "ring"}


@pytest.mark.parametrize("word", ["مرحبا", "2026", "14k", "café"])
def test_words_in_other_scripts_or_with_digits_are_left_alone(word: str) -> None:
    assert stem(word) == word


# --- a keyword's terms ---


def test_stop_words_do_not_count_and_each_term_counts_once() -> None:
    terms = keyword_terms("Gift for the Dog, dogs", SHARE)
    assert terms.terms == ("gift", "dog")
    assert terms.phrase == "gift for the dog dogs"


@pytest.mark.parametrize(
    ("keyword", "required"),
    [("collar", 1), ("dog collar", 2), ("crochet baby blanket", 3), ("sterling silver stacking rings", 4)],
)
def test_a_listing_must_carry_every_term_of_the_keyword(keyword: str, required: int) -> None:
    assert keyword_terms(keyword, SHARE).required == required


@pytest.mark.parametrize(
    ("share", "keyword", "required"),
    [(0.6, "dog collar", 2), (0.6, "crochet baby blanket", 2), (0.75, "sterling silver stacking rings", 3)],
)
def test_a_lower_term_share_lets_long_keywords_miss_a_term(share: float, keyword: str, required: int) -> None:
    assert keyword_terms(keyword, share).required == required


def test_a_search_filled_with_a_neighbouring_product_finds_nothing_about_the_keyword() -> None:
    collar = listing(1, title="Leather Dog Collar, Personalized", tags=["leather collar", "dog lover"])
    assert not is_relevant(collar, keyword_terms("leather dog leash", SHARE))
    assert is_relevant(collar, keyword_terms("leather dog collars", SHARE))


@pytest.mark.parametrize("keyword", ["", "!!!", "for the", "'; --"])
def test_a_keyword_without_words_matches_nothing(keyword: str) -> None:
    terms = keyword_terms(keyword, SHARE)
    assert terms.required == 0
    assert not is_relevant(listing(1, title="Anything at all", tags=["for the"]), terms)


# --- which listings are about the keyword ---


@pytest.mark.parametrize(
    ("title", "tags"),
    [
        ("Personalized Dog Collar, Leather", ()),
        ("PERSONALIZED DOG COLLAR", ()),
        ("Leather Collars for Dogs", ()),
        ("Engraved Name Tag", ("dog collar",)),
        ("Handmade Leather Piece", ("dog lover", "collars")),
        ("Dog|Collar in brass", ()),
        ("HotDog Collar", ()),  # a capital after a small letter begins a word
    ],
)
def test_a_listing_carrying_the_keyword_in_title_or_tags_is_about_it(
    title: str, tags: tuple[str, ...]
) -> None:
    assert is_relevant(listing(1, title=title, tags=tags), keyword_terms("dog collars", SHARE))


@pytest.mark.parametrize(
    ("title", "tags"),
    [
        ("Leather Cat Collar", ()),  # one term of two
        ("Dog Bowl Ceramic", ("pet gift",)),
        ("Gold Earrings", ("stud earrings",)),  # "ring" is not where a word begins
        ("HOTDOG COLLAR", ()),  # nor inside a word in capitals
        ("", ()),
    ],
)
def test_a_listing_without_enough_of_the_keyword_is_not_about_it(title: str, tags: tuple[str, ...]) -> None:
    keyword = "rings" if "Earrings" in title else "dog collar"
    assert not is_relevant(listing(1, title=title, tags=tags), keyword_terms(keyword, SHARE))


def test_all_relevant_listings_come_back_as_they_are() -> None:
    listings = reference_niche().listings
    assert relevant_listings(listings, keyword_terms("dog collar", SHARE)) is listings


WORDS = [
    "dog",
    "dogs",
    "collar",
    "collars",
    "leather",
    "gift",
    "for",
    "cat",
    "bowl",
    "Dog",
    "COLLAR",
    "|",
    ",",
]


@given(
    st.lists(
        st.builds(
            lambda index, title, tags: listing(
                index, title=" ".join(title), tags=[" ".join(tag) for tag in tags]
            ),
            st.integers(min_value=1, max_value=10_000),
            st.lists(st.sampled_from(WORDS), max_size=8),
            st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=3), max_size=4),
        ),
        max_size=30,
    ),
    st.sampled_from(["dog collar", "dog collars", "leather dog collar", "cat", "gift for dog"]),
)
def test_the_one_pass_filter_agrees_with_the_rule_for_each_listing(
    listings: list[ListingSample], keyword: str
) -> None:
    terms = keyword_terms(keyword, SHARE)
    assert list(relevant_listings(listings, terms)) == [item for item in listings if is_relevant(item, terms)]


# --- scoring only the relevant ones ---

ON_TOPIC = ["dog", "collar", "leather", "personalized", "name", "brass"]
OFF_TOPIC = ["ceramic", "mug", "coffee", "vintage", "poster", "candle", "soy", "wax"]


def _listings(words: list[str], first_id: int) -> st.SearchStrategy[list[ListingSample]]:
    return st.lists(
        st.builds(
            lambda offset, title, tags, price, reviews, rating: listing(
                first_id + offset,
                title=" ".join(title),
                tags=[" ".join(tags)],
                price=price,
                reviews=reviews,
                rating=rating,
            ),
            st.integers(min_value=0, max_value=999),
            st.lists(st.sampled_from(words), min_size=1, max_size=6),
            st.lists(st.sampled_from(words), min_size=1, max_size=3),
            st.floats(min_value=1.0, max_value=500.0),
            st.none() | st.integers(min_value=0, max_value=50),
            st.none() | st.floats(min_value=1.0, max_value=5.0),
        ),
        max_size=40,
    )


@given(_listings(["dog collar"], 1), _listings(OFF_TOPIC, 10_000))
def test_the_relevance_filter_never_scores_an_off_topic_listing(
    on_topic: list[ListingSample], off_topic: list[ListingSample]
) -> None:
    mixed = score_niche(scraped(on_topic + off_topic, total_count=5_000), CONFIG, observed_at=NOW)
    alone = score_niche(scraped(on_topic, total_count=5_000), CONFIG, observed_at=NOW)
    assert mixed.listing_count == len(unique_listings(on_topic))
    assert mixed.relevance.relevant_listings == mixed.listing_count
    # Everything read from the listings themselves is what the on-topic ones alone give.
    assert (mixed.price_band, mixed.sales, mixed.top_tags, mixed.top_title_phrases) == (
        alone.price_band,
        alone.sales,
        alone.top_tags,
        alone.top_title_phrases,
    )
    ratings = {factor.name: factor.input for factor in mixed.factors}
    assert ratings["rating"] == {factor.name: factor.input for factor in alone.factors}["rating"]


@given(
    _listings(ON_TOPIC + OFF_TOPIC, 1),
    st.sampled_from(["'; DROP TABLE jobs;--", "مرحبا بالعالم", "asdkjh qwe"]),
)
def test_a_nonsense_keyword_with_off_topic_listings_is_insufficient_data(
    listings: list[ListingSample], keyword: str
) -> None:
    niche = msgspec.structs.replace(scraped(listings, total_count=len(listings)), keyword=keyword)
    assessment = score_niche(niche, CONFIG, observed_at=NOW)
    assert assessment.relevance.status == "insufficient_data"
    assert assessment.relevance.reason
    assert assessment.risk == "high"
    assert assessment.listing_count == 0
    assert assessment.score == 0.0


def test_a_page_of_off_topic_listings_is_insufficient_data_with_the_reason() -> None:
    page = [
        listing(index, title="Ceramic Coffee Mug", tags=["mug"], reviews=9, rating=4.9) for index in range(60)
    ]
    assessment = score_niche(scraped(page, total_count=30_000), CONFIG, observed_at=NOW)
    assert assessment.relevance.status == "insufficient_data"
    assert assessment.relevance.reason is not None
    assert "0 of 60 listings" in assessment.relevance.reason
    assert "\u201cdog collar\u201d" in assessment.relevance.reason
    assert assessment.risk == "high"


def test_a_few_relevant_listings_among_many_off_topic_ones_are_still_too_little() -> None:
    page = [listing(index, title="Ceramic Coffee Mug") for index in range(50)]
    page += [listing(100 + index, title="Leather Dog Collar", reviews=5, rating=4.9) for index in range(10)]
    assessment = score_niche(scraped(page, total_count=30_000), CONFIG, observed_at=NOW)
    assert (assessment.relevance.relevant_listings, assessment.relevance.listings) == (10, 60)
    assert assessment.relevance.share == pytest.approx(10 / 60)
    assert assessment.relevance.status == "insufficient_data"  # 17 % is under the 40 % needed
    assert assessment.risk == "high"


def test_supply_is_etsys_count_scaled_to_the_relevant_share() -> None:
    page = [listing(index, title="Leather Dog Collar", reviews=2, rating=4.8) for index in range(40)]
    page += [listing(100 + index, title="Ceramic Coffee Mug") for index in range(10)]
    assessment = score_niche(scraped(page, total_count=10_000), CONFIG, observed_at=NOW)
    assert assessment.relevance.status == "sufficient"
    market = next(factor for factor in assessment.factors if factor.name == "market_size")
    assert market.input == 8_000  # 80 % of 10,000
    assert market.measured is False
    assert "scaled" in market.explanation
