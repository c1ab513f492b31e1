"""Listing quality: the grade and its reasons, the review decision, and properties of composed concepts."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etsygen_common.contracts.products import DesignPrompt, ProductConcept
from etsygen_common.contracts.trends import NicheEvidence, TermCount
from etsygen_generator.domain.compose import compose, design_prompt
from etsygen_generator.domain.niche import NicheBrief, is_generic_phrase, read_niche
from etsygen_generator.domain.quality import at_least, grade, review, tag_key, title_findings
from etsygen_generator.domain.validator import AI_DISCLOSURE_LINE, validate


def counts(listings: int, **terms: int) -> list[TermCount]:
    return [TermCount(term=term.replace("_", " "), listings=count) for term, count in terms.items()]


BLANKET = NicheBrief(
    keyword="crochet baby blanket",
    top_tags=["crochet blanket", "baby blanket", "newborn gift", "baby shower", "chunky yarn"],
    top_title_phrases=["crochet baby blanket", "baby shower gift"],
    evidence=NicheEvidence(
        listings=100,
        phrases=counts(
            100, crochet_blanket=90, baby_blanket=85, newborn_gift=60, baby_shower=55, chunky_yarn=40
        ),
        materials=counts(100, cotton=70, yarn=40),
        occasions=[TermCount(term="baby shower", listings=55), TermCount(term="christmas", listings=6)],
        recipients=[TermCount(term="baby", listings=100), TermCount(term="him", listings=5)],
        sizes=[TermCount(term="30x40in", listings=30)],
        personalized_listings=10,
    ),
)

# What the old template composer wrote for this kind of niche (issue 14).
OLD_TEMPLATE = ProductConcept(
    title=(
        "Crochet Baby Blanket | Baby Gift | Housewarming Gift | Crochet Gift | Classic Crochet Baby | "
        "Custom Crochet Baby | Dainty Crochet Baby"
    ),
    tags=[
        "custom blanket",
        "handmade blanket",
        "minimalist blanket",
        "modern blanket",
        "personalized blanket",
        "rustic blanket",
        "gift for him",
        "mother's day gift",
        "gift idea",
        "unique gift",
        "birthday gift",
        "christmas gift",
        "keepsake",
    ],
    description=f"Crochet Baby Blanket\n\nThis crochet baby blanket is lovely.\n\n{AI_DISCLOSURE_LINE}",
)


def codes(concept: ProductConcept, niche: NicheBrief = BLANKET) -> set[str]:
    return {finding.code for finding in grade(concept, niche).findings}


def test_the_old_template_concept_fails_with_every_reason_named() -> None:
    graded = grade(OLD_TEMPLATE, BLANKET)
    assert graded.letter == "F"
    assert {
        "title_phrase_list",
        "title_cut_word",
        "title_repeated",
        "title_unsupported_claim",
        "tags_coverage",
        "description_thin",
        "materials_missing",
    } <= codes(OLD_TEMPLATE)
    assert any("housewarming" in reason for reason in graded.reasons)


def test_the_composed_concept_for_the_same_niche_grades_a_or_b() -> None:
    concept = compose(BLANKET)
    graded = grade(concept, BLANKET, design=design_prompt(concept, BLANKET.keyword, BLANKET.evidence))
    assert graded.letter in ("A", "B"), graded.reasons
    assert concept.title.startswith("Crochet Baby Blanket")
    assert "Baby Shower Gift" in concept.title
    assert "Christmas" not in concept.title  # 6 of 100 listings do not support it
    assert concept.materials == ["cotton", "yarn"]
    assert "30x40in" in concept.description


def test_a_title_that_does_not_say_what_the_item_is_first_is_marked() -> None:
    concept = msgspec.structs.replace(
        compose(BLANKET), title="Baby Shower Gift, Newborn Keepsake, Soft and Cozy Crochet Blanket"
    )
    assert "title_lead" in codes(concept)


def test_a_title_ending_in_a_dangling_word_or_fragment_is_cut() -> None:
    facts = read_niche(BLANKET)
    found = {f.code for f in title_findings("Crochet Baby Blanket for", facts)}
    assert "title_cut_word" in found
    assert "title_cut_word" in {f.code for f in title_findings("Soft Blanket, Classic Crochet Baby", facts)}
    assert "title_cut_word" in {f.code for f in title_findings("Crochet Baby Blanket, Chunky Ya", facts)}


def test_print_ready_art_for_a_blanket_is_a_major_problem() -> None:
    concept = compose(BLANKET)
    design = DesignPrompt(prompt="High resolution, print-ready art of a blanket", alt_text="blanket")
    graded = grade(concept, BLANKET, design=design)
    assert "design_kind" in {finding.code for finding in graded.findings}
    assert not at_least(graded.letter, "B")


def test_without_evidence_the_grade_says_what_was_missing() -> None:
    niche = NicheBrief(keyword="funny cat mug", top_tags=["cat mug", "coffee mug", "cat lover gift"])
    graded = grade(compose(niche), niche)
    assert graded.letter in ("A", "B")
    assert any("no listing evidence" in reason for reason in graded.reasons)
    assert graded.problems == [p for p in graded.reasons if not p.startswith("evidence_missing")]


def test_review_accepts_a_good_concept_unchanged() -> None:
    concept = compose(BLANKET)
    verdict = review(concept, BLANKET)
    assert verdict.accepted
    assert verdict.concept is concept
    assert verdict.repairs == []


def test_review_repairs_tags_and_materials_from_the_evidence() -> None:
    good = compose(BLANKET)
    weak = msgspec.structs.replace(
        good,
        tags=[*good.tags[:8], "gift for him", "christmas gift", "blanket crochet", "baby blankets", "x"],
        materials=[],
    )
    verdict = review(weak, BLANKET)
    assert verdict.accepted, verdict.grade.reasons
    assert "gift for him" not in verdict.concept.tags
    assert verdict.concept.materials == ["cotton", "yarn"]
    assert len(verdict.concept.tags) == 13
    assert validate(verdict.concept) == []
    assert any("gift for him" in note for note in verdict.repairs)


def test_review_rejects_a_phrase_list_title_with_its_reasons() -> None:
    concept = msgspec.structs.replace(compose(BLANKET), title=OLD_TEMPLATE.title)
    verdict = review(concept, BLANKET, minimum="B")
    assert not verdict.accepted
    assert any(reason.startswith("title_phrase_list") for reason in verdict.grade.problems)
    assert review(concept, BLANKET, minimum="F").accepted


def test_grade_is_a_pure_function() -> None:
    assert grade(OLD_TEMPLATE, BLANKET) == grade(OLD_TEMPLATE, BLANKET)
    assert grade(compose(BLANKET), BLANKET) == grade(compose(BLANKET), BLANKET)


# --- properties of composed concepts, with and without evidence --------------------------------------------

_WORDS = [
    "cat",
    "mug",
    "mugs",
    "boho",
    "gift",
    "candle",
    "leather",
    "wallet",
    "set",
    "of",
    "for",
    "baby",
    "blanket",
    "printable",
    "wall",
    "art",
    "gold",
    "necklace",
    "dog",
    "collar",
    "birthday",
    "her",
]
phrase = st.lists(st.sampled_from(_WORDS), min_size=1, max_size=4).map(" ".join)
term_counts = st.lists(st.builds(TermCount, term=phrase, listings=st.integers(0, 100)), max_size=8)
evidence = st.builds(
    NicheEvidence,
    listings=st.integers(0, 100),
    phrases=term_counts,
    materials=st.lists(
        st.builds(
            TermCount,
            term=st.sampled_from(["cotton", "leather", "gold", "merino wool"]),
            listings=st.integers(0, 100),
        ),
        max_size=3,
    ),
    occasions=st.lists(
        st.builds(
            TermCount,
            term=st.sampled_from(["birthday", "wedding", "christmas"]),
            listings=st.integers(0, 100),
        ),
        max_size=3,
    ),
    recipients=st.lists(
        st.builds(
            TermCount, term=st.sampled_from(["her", "him", "mom", "dog lover"]), listings=st.integers(0, 100)
        ),
        max_size=3,
    ),
    sizes=st.lists(
        st.builds(TermCount, term=st.sampled_from(["8x10", "set of 4", "pdf"]), listings=st.integers(0, 100)),
        max_size=2,
    ),
    digital_listings=st.integers(0, 100),
    personalized_listings=st.integers(0, 100),
)
niches = st.builds(
    NicheBrief,
    keyword=st.one_of(phrase, st.text(min_size=1, max_size=60)),
    top_tags=st.lists(st.one_of(phrase, st.text(max_size=30)), max_size=20),
    top_title_phrases=st.lists(phrase, max_size=8),
    evidence=st.one_of(st.none(), evidence),
)


@settings(max_examples=300, deadline=None)
@given(niches, st.integers(min_value=0, max_value=10))
def test_composed_concepts_validate_with_readable_titles_and_13_distinct_tags(
    niche: NicheBrief, variant: int
) -> None:
    concept = compose(niche, variant=variant)
    assert validate(concept) == []
    assert len(concept.tags) == 13
    assert len({tag_key(tag) for tag in concept.tags}) == 13  # no plural or word-order variants either
    found = {finding.code for finding in title_findings(concept.title, read_niche(niche))}
    assert not found & {"title_cut_word", "title_repeated", "title_phrase_list"}, concept.title
    assert grade(concept, niche) == grade(concept, niche)


@pytest.mark.parametrize(
    ("phrase", "generic"),
    [
        ("book idea", True),
        ("gift ideas", True),
        ("collar gift", True),
        ("wedding gift", False),  # an occasion: a real search phrase
        ("teacher gift", False),  # a recipient
        ("leather collar", False),
        ("custom collar", True),
    ],
)
def test_filler_phrases_are_told_from_search_phrases(phrase: str, generic: bool) -> None:
    assert is_generic_phrase(phrase) is generic
