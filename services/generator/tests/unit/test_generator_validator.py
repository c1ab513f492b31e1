"""The listing validator: each rule, each safe repair, and the invariants that tie them together."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etsygen_common.contracts.products import ProductConcept
from etsygen_generator.domain.validator import (
    AI_DISCLOSURE_LINE,
    has_ai_disclosure,
    repair,
    validate,
)

TAGS = [
    "cat mug",
    "funny mug",
    "coffee mug",
    "cat lover gift",
    "cat mom",
    "kitten",
    "gift for her",
    "birthday gift",
    "tea cup",
    "office gift",
    "pet lover",
    "ceramic cup",
    "mother's day",
]


def concept(**changes: object) -> ProductConcept:
    base = ProductConcept(
        title="Funny Cat Mug | Cat Lover Gift",
        tags=list(TAGS),
        description=f"A mug for cat people.\n\n{AI_DISCLOSURE_LINE}",
        materials=["ceramic"],
        styles=["Modern"],
    )
    return msgspec.structs.replace(base, **changes)


def codes(value: ProductConcept) -> set[str]:
    return {violation.code for violation in validate(value)}


def test_a_well_formed_concept_has_no_violations() -> None:
    assert validate(concept()) == []


def test_violations_read_as_code_field_and_instruction() -> None:
    [violation] = validate(concept(title="Cat " * 35 + "Mug"))
    text = str(violation)
    assert text.startswith("title_too_long (title): ")
    assert "at most 140" in text


# --- title ---


def test_empty_title_is_a_violation() -> None:
    assert codes(concept(title="   ")) == {"title_empty"}


def test_title_of_140_chars_passes_and_141_does_not() -> None:
    assert codes(concept(title="a" * 140)) == set()
    assert codes(concept(title="a" * 141)) == {"title_too_long"}


@pytest.mark.parametrize("symbol", ["%", ":", "&", "+"])
def test_each_limited_symbol_may_appear_once(symbol: str) -> None:
    assert codes(concept(title=f"Mug {symbol} Cup")) == set()
    assert codes(concept(title=f"Mug {symbol} Cup {symbol} Saucer")) == {"title_repeated_symbol"}


def test_emoji_and_currency_signs_are_not_allowed_in_titles() -> None:
    assert codes(concept(title="Cat Mug 🐱")) == {"title_bad_chars"}
    assert codes(concept(title="Cat Mug $20")) == {"title_bad_chars"}


def test_title_punctuation_accents_and_trademark_sign_are_allowed() -> None:
    assert codes(concept(title="Café Mug, Hand-Painted (Blue) | Gift™ - 12oz / 350ml")) == set()


def test_title_with_untrimmed_or_repeated_whitespace_is_flagged() -> None:
    assert codes(concept(title=" Cat Mug")) == {"whitespace"}
    assert codes(concept(title="Cat  Mug")) == {"whitespace"}
    assert codes(concept(title="Cat\nMug")) == {"whitespace"}


# --- tags ---


def test_exactly_thirteen_tags_are_required() -> None:
    assert codes(concept(tags=TAGS[:12])) == {"tags_count"}
    assert codes(concept(tags=[*TAGS, "saucer"])) == {"tags_count"}


def test_tag_of_20_chars_passes_and_21_does_not() -> None:
    assert codes(concept(tags=[*TAGS[:12], "a" * 20])) == set()
    assert codes(concept(tags=[*TAGS[:12], "a" * 21])) == {"tag_too_long"}


@pytest.mark.parametrize("tag", ["mug & cup", "cat_mug", "#catmug", "cat mug!", "mug/cup", "gift 🎁"])
def test_tags_allow_only_letters_digits_spaces_hyphens_apostrophes(tag: str) -> None:
    assert codes(concept(tags=[*TAGS[:12], tag])) == {"tag_bad_chars"}


@pytest.mark.parametrize("tag", ["12oz mug", "hand-painted", "mom's mug", "tasse à café", "кружка"])
def test_tags_in_any_script_with_hyphens_and_apostrophes_pass(tag: str) -> None:
    assert codes(concept(tags=[*TAGS[:12], tag])) == set()


def test_duplicate_tags_compare_case_insensitively() -> None:
    assert codes(concept(tags=[*TAGS[:12], "Cat Mug"])) == {"tag_duplicate"}


@pytest.mark.parametrize(
    ("singular", "plural"),
    [
        ("mug", "mugs"),
        ("candle", "candles"),
        ("box", "boxes"),
        ("berry", "berries"),
        ("dog bowl", "dog bowls"),
    ],
)
def test_plural_duplicates_are_violations(singular: str, plural: str) -> None:
    tags = [*TAGS[:11], singular, plural]
    assert codes(concept(tags=tags)) == {"tag_plural_duplicate"}


def test_words_that_merely_end_in_s_are_not_plural_duplicates_of_unrelated_tags() -> None:
    tags = [*TAGS[:11], "glass", "class"]
    assert codes(concept(tags=tags)) == set()


def test_empty_tag_is_a_violation() -> None:
    assert codes(concept(tags=[*TAGS[:12], " "])) == {"tag_empty"}


# --- materials, styles, who/when made, description ---


def test_materials_allow_only_letters_digits_spaces() -> None:
    assert codes(concept(materials=["100 cotton"])) == set()
    assert codes(concept(materials=["100% cotton"])) == {"materials_bad_chars"}
    assert codes(concept(materials=["cotton-blend"])) == {"materials_bad_chars"}


def test_at_most_two_styles() -> None:
    assert codes(concept(styles=["Boho", "Rustic"])) == set()
    assert codes(concept(styles=["Boho", "Rustic", "Modern"])) == {"styles_too_many"}


def test_who_made_and_when_made_must_be_etsy_values() -> None:
    assert codes(concept(who_made="robot")) == {"who_made_invalid"}
    assert codes(concept(when_made="tomorrow")) == {"when_made_invalid"}
    assert codes(concept(who_made="collective", when_made="2020_2025")) == set()


def test_description_must_not_be_empty() -> None:
    assert codes(concept(description=" \n ")) == {"description_empty"}


def test_description_must_disclose_ai() -> None:
    assert codes(concept(description="A mug for cat people.")) == {"ai_disclosure_missing"}


@pytest.mark.parametrize(
    "line",
    [
        AI_DISCLOSURE_LINE,
        "This design was generated with AI.",
        "Made with the help of artificial intelligence.",
        "Listing text drafted using A.I. tools",
    ],
)
def test_ai_disclosure_lines_are_recognised(line: str) -> None:
    assert has_ai_disclosure(f"Lovely mug.\n{line}")


@pytest.mark.parametrize("text", ["Said with a smile, painted by hand.", "AI", "Created with love."])
def test_text_that_is_not_an_ai_disclosure_is_not_mistaken_for_one(text: str) -> None:
    assert not has_ai_disclosure(text)


# --- repairs ---


def test_repair_trims_and_collapses_whitespace() -> None:
    fixed, notes = repair(concept(title="  Funny   Cat Mug ", tags=[" cat  mug ", *TAGS[1:]]))
    assert fixed.title == "Funny Cat Mug"
    assert fixed.tags[0] == "cat mug"
    assert notes
    assert validate(fixed) == []


def test_repair_drops_case_insensitive_duplicates_keeping_the_first() -> None:
    fixed, notes = repair(concept(tags=[*TAGS, "CAT MUG"]))
    assert fixed.tags == TAGS
    assert any("duplicate" in note for note in notes)


def test_repair_drops_plural_duplicates_keeping_the_first() -> None:
    fixed, _ = repair(concept(tags=[*TAGS[:12], "cat mugs", "office"]))
    assert "cat mugs" not in fixed.tags
    assert fixed.tags[-1] == "office"
    assert validate(fixed) == []


def test_repair_cuts_long_tags_at_a_word_boundary() -> None:
    fixed, _ = repair(concept(tags=[*TAGS[:12], "personalized cat mug for mom"]))
    assert fixed.tags[-1] == "personalized cat mug"
    assert validate(fixed) == []


def test_a_single_overlong_word_is_not_cut_and_stays_a_violation() -> None:
    fixed, _ = repair(concept(tags=[*TAGS[:12], "supercalifragilisticmug"]))
    assert {v.code for v in validate(fixed)} == {"tag_too_long"}


def test_repair_cuts_long_titles_at_a_word_boundary() -> None:
    title = "Funny Cat Mug " + "Lovely Gift " * 15
    fixed, _ = repair(concept(title=title))
    assert len(fixed.title) <= 140
    assert title.startswith(fixed.title)
    assert not fixed.title.endswith(" ")


def test_repair_strips_disallowed_characters() -> None:
    fixed, _ = repair(
        concept(title="Cat Mug 🐱 Gift", tags=[*TAGS[:12], "#cat mug!"], materials=["100% cotton"])
    )
    assert fixed.title == "Cat Mug Gift"
    assert "cat mug" in fixed.tags  # "#cat mug!" became a duplicate of "cat mug" and was dropped
    assert fixed.materials == ["100 cotton"]


def test_repair_keeps_only_the_first_of_each_limited_symbol() -> None:
    fixed, _ = repair(concept(title="Mug & Cup & Saucer: Blue: Set"))
    assert fixed.title == "Mug & Cup Saucer: Blue Set"


def test_repair_caps_styles_at_two_and_tags_at_thirteen() -> None:
    fixed, _ = repair(concept(styles=["Boho", "Rustic", "Modern"], tags=[*TAGS, "saucer", "teapot"]))
    assert fixed.styles == ["Boho", "Rustic"]
    assert fixed.tags == TAGS


@pytest.mark.parametrize(
    "broken",
    [
        {"title": ""},
        {"tags": TAGS[:10]},
        {"description": "No disclosure here."},
        {"who_made": "robot"},
        {"when_made": "someday"},
    ],
)
def test_repair_never_invents_content(broken: dict[str, object]) -> None:
    bad = concept(**broken)
    fixed, notes = repair(bad)
    assert fixed == bad
    assert notes == []
    assert validate(fixed)


# --- invariants ---

tag_text = st.text(alphabet=st.sampled_from(list("abcdefgh xyz-'!&#é🎁ÉS")), min_size=0, max_size=30)
concepts = st.builds(
    ProductConcept,
    title=st.text(min_size=0, max_size=200),
    tags=st.lists(tag_text, min_size=0, max_size=20),
    description=st.sampled_from(["", "Plain text.", AI_DISCLOSURE_LINE]),
    materials=st.lists(st.text(max_size=15), max_size=4),
    styles=st.lists(st.text(max_size=10), max_size=4),
)


@settings(max_examples=300)
@given(concepts)
def test_a_valid_concept_is_left_unchanged_by_repair(value: ProductConcept) -> None:
    if not validate(value):
        assert repair(value) == (value, [])


@settings(max_examples=300)
@given(concepts)
def test_repair_is_idempotent(value: ProductConcept) -> None:
    once, _ = repair(value)
    twice, notes = repair(once)
    assert twice == once
    assert notes == []


@settings(max_examples=300)
@given(concepts)
def test_after_repair_only_unrepairable_violations_remain(value: ProductConcept) -> None:
    fixed, _ = repair(value)
    remaining = {violation.code for violation in validate(fixed)}
    repairable = {
        "whitespace",
        "title_bad_chars",
        "title_repeated_symbol",
        "tag_empty",
        "tag_bad_chars",
        "tag_duplicate",
        "tag_plural_duplicate",
        "materials_empty",
        "materials_bad_chars",
        "styles_empty",
        "styles_too_many",
    }
    assert not remaining & repairable
