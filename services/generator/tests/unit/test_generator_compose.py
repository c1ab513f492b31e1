"""The built-in composer, the price suggestion and the design prompt."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from etsygen_common.contracts.base import Money
from etsygen_common.contracts.trends import PriceBand, TrendScored
from etsygen_generator.domain.compose import (
    GENERIC_TAGS,
    NicheBrief,
    compose,
    design_prompt,
    suggest_price,
)
from etsygen_generator.domain.text import is_plural_duplicate
from etsygen_generator.domain.validator import AI_DISCLOSURE_LINE, validate


def trend(**fields: object) -> TrendScored:
    defaults: dict[str, object] = {
        "job_id": "job-1",
        "owner_id": "owner-1",
        "keyword": "funny cat mug",
        "score": 0.8,
        "risk": "low",
        "top_tags": ["cat mug", "funny mug", "cat lover gift", "coffee mug", "cat mom gift"],
        "top_title_phrases": ["funny cat mug for cat lovers", "cat mom coffee mug"],
        "price_band": PriceBand(p25=14.0, median=18.5, p75=24.0),
    }
    defaults.update(fields)
    return TrendScored(**defaults)  # type: ignore[arg-type]


def test_composed_concept_is_valid() -> None:
    assert validate(compose(trend())) == []


def test_the_title_leads_with_what_the_item_is_and_is_not_a_phrase_list() -> None:
    title = compose(trend()).title
    assert title.startswith("Funny Cat Mug")
    assert "|" not in title
    assert len(title.split(", ")) <= 4


def test_the_title_still_leads_with_the_item_when_there_are_no_phrases() -> None:
    assert compose(trend(top_title_phrases=[], top_tags=[])).title == "Funny Cat Mug"


def test_the_title_adds_a_gift_line_only_for_a_recipient_the_niche_names() -> None:
    assert "Gift for Mom" in compose(trend()).title  # "cat mom gift" is one of the niche's tags
    title = compose(trend(top_tags=["cat mug", "funny mug", "coffee mug"])).title
    assert "Gift" not in title


def test_niche_top_tags_are_all_kept_multi_word_first() -> None:
    tags = compose(trend()).tags
    assert {"cat mug", "funny mug", "cat lover gift", "coffee mug", "cat mom gift"} <= set(tags)
    assert tags[0] == "funny cat mug"
    singles = [index for index, tag in enumerate(tags) if " " not in tag]
    assert all(" " not in tag for tag in tags[min(singles, default=len(tags)) :])


def test_tags_are_filled_to_thirteen_from_the_keyword_and_generic_pool() -> None:
    concept = compose(trend(top_tags=[]))
    assert len(concept.tags) == 13
    assert concept.tags[0] == "funny cat mug"
    assert set(concept.tags) & set(GENERIC_TAGS)


def test_plural_and_overlong_top_tags_are_skipped_not_cut() -> None:
    concept = compose(trend(top_tags=["cat mug", "cat mugs", "mug cat", "personalised cat mug for grandma"]))
    assert "cat mugs" not in concept.tags
    assert "mug cat" not in concept.tags  # a word-order variant of "cat mug"
    assert not [tag for tag in concept.tags if tag.startswith("personalised cat mug")]  # no cut fragment


def test_description_carries_the_ai_disclosure_and_materials() -> None:
    concept = compose(trend())
    assert AI_DISCLOSURE_LINE in concept.description
    assert concept.materials == ["ceramic"]
    assert "ceramic" in concept.description


def test_styles_come_from_the_niche_words() -> None:
    concept = compose(trend(keyword="boho minimalist vintage wall art", top_tags=[], top_title_phrases=[]))
    assert concept.styles == ["Boho", "Minimalist"]


def test_compose_is_deterministic_and_variants_differ() -> None:
    assert compose(trend()) == compose(trend())
    assert compose(trend(), variant=1) != compose(trend())
    assert validate(compose(trend(), variant=1)) == []


def test_compose_accepts_a_niche_brief_as_well_as_a_trend() -> None:
    assert compose(NicheBrief.from_trend(trend())) == compose(trend())


def test_keyword_without_usable_characters_still_gets_a_valid_concept() -> None:
    concept = compose(trend(keyword="🎁🎁", top_tags=[], top_title_phrases=[]))
    assert validate(concept) == []
    assert concept.title


def test_generic_pool_has_more_than_thirteen_mutually_distinct_tags() -> None:
    assert len(GENERIC_TAGS) > 13
    for index, tag in enumerate(GENERIC_TAGS):
        assert len(tag) <= 20
        for other in GENERIC_TAGS[index + 1 :]:
            assert tag != other
            assert not is_plural_duplicate(tag, other)


# --- price ---


def test_price_is_the_median_as_a_99_price_inside_the_band() -> None:
    suggestion = suggest_price(PriceBand(p25=14.0, median=18.5, p75=24.0))
    assert suggestion.price == Money(amount=18.99, currency="USD")
    assert suggestion.band == PriceBand(p25=14.0, median=18.5, p75=24.0)
    assert "18.50" in suggestion.rationale


def test_price_falls_back_to_the_median_when_no_99_price_fits_the_band() -> None:
    suggestion = suggest_price(PriceBand(p25=18.2, median=18.4, p75=18.6))
    assert suggestion.price.amount == 18.4


def test_a_median_outside_the_band_is_clamped_into_it() -> None:
    suggestion = suggest_price(PriceBand(p25=10.0, median=40.0, p75=20.0))
    assert 10.0 <= suggestion.price.amount <= 20.0


def test_missing_band_gives_the_fallback_price_and_says_so() -> None:
    suggestion = suggest_price(None, fallback=Money(amount=30.0, currency="EUR"))
    assert suggestion.price == Money(amount=30.0, currency="EUR")
    assert suggestion.band is None
    assert "No price band" in suggestion.rationale


def test_unusable_band_is_treated_as_missing() -> None:
    assert suggest_price(PriceBand(p25=math.nan, median=1.0, p75=2.0)).band is None
    assert suggest_price(PriceBand(p25=0.0, median=0.0, p75=0.0)).band is None


def test_band_currency_is_kept() -> None:
    assert suggest_price(PriceBand(p25=10.0, median=12.0, p75=15.0, currency="GBP")).price.currency == "GBP"


@given(
    st.floats(min_value=0.01, max_value=10_000, allow_nan=False),
    st.floats(min_value=0.01, max_value=10_000, allow_nan=False),
    st.floats(min_value=0.01, max_value=10_000, allow_nan=False),
)
def test_price_never_leaves_the_band(a: float, b: float, median: float) -> None:
    low, high = sorted((a, b))
    price = suggest_price(PriceBand(p25=low, median=median, p75=high)).price.amount
    assert low <= price <= high


# --- design prompt ---


def test_design_prompt_names_the_theme_and_forbids_brands() -> None:
    concept = compose(trend())
    design = design_prompt(concept, "funny cat mug")
    assert "funny cat mug" in design.prompt
    assert "no logos, brand names" in design.prompt
    assert "print-ready" not in design.prompt  # a mug is photographed, not printed
    assert design.alt_text.startswith("funny cat mug in ceramic: Funny Cat Mug")
    assert len(design.alt_text) <= 250


def test_a_printable_gets_print_ready_art() -> None:
    printable = trend(keyword="boho wall art printable", top_tags=["printable art", "digital download"])
    assert "print-ready" in design_prompt(compose(printable), "boho wall art printable").prompt


def test_alt_text_is_capped_at_250_characters() -> None:
    concept = compose(trend(top_title_phrases=["word " * 40]))
    assert len(design_prompt(concept, "keyword " * 40).alt_text) <= 250


# --- property: whatever the niche, the composed concept validates ---

plausible_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=40
)
word_text = st.lists(
    st.sampled_from(
        ["cat", "mug", "mugs", "boho", "gift", "candle", "candles", "box", "boxes", "é", "&", "%"]
    ),
    min_size=1,
    max_size=8,
).map(" ".join)
trends = st.builds(
    TrendScored,
    job_id=st.just("job-1"),
    owner_id=st.just("owner-1"),
    keyword=st.one_of(word_text, st.text(min_size=1, max_size=120)),
    score=st.floats(min_value=0, max_value=1),
    risk=st.sampled_from(["low", "medium", "high"]),
    top_tags=st.lists(st.one_of(word_text, plausible_text), max_size=30),
    top_title_phrases=st.lists(st.one_of(word_text, st.text(max_size=200)), max_size=8),
)


@settings(max_examples=400, deadline=None)
@given(trends, st.integers(min_value=0, max_value=20))
def test_composed_concepts_always_pass_the_validator(scored: TrendScored, variant: int) -> None:
    concept = compose(scored, variant=variant)
    assert validate(concept) == []
    assert compose(NicheBrief.from_trend(scored), variant=variant) == concept
