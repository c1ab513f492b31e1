"""Guards: brand blocklist, near-duplicates, the score/risk gate and the daily AI budget."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etsygen_common.contracts.products import ProductConcept
from etsygen_common.contracts.trends import Relevance, TrendScored
from etsygen_generator.domain.guards import (
    AIBudget,
    AIUsage,
    BrandBlocklist,
    DuplicateThresholds,
    ExistingProduct,
    PendingProducts,
    ProductIndex,
    check_brands,
    check_budget,
    check_concept,
    check_near_duplicate,
    check_score_and_risk,
    check_trend,
    find_near_duplicate,
    fingerprint,
    load_starter_terms,
    parse_blocklist,
    tag_similarity,
    title_similarity,
)
from etsygen_generator.domain.text import fold
from etsygen_generator.domain.validator import AI_DISCLOSURE_LINE

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
        description=f"A mug for cat people.\n{AI_DISCLOSURE_LINE}",
        materials=["ceramic"],
    )
    return msgspec.structs.replace(base, **changes)


@pytest.fixture(scope="module")
def blocklist() -> BrandBlocklist:
    return BrandBlocklist.starter()


# --- brands ---


def test_the_starter_list_ships_with_the_package() -> None:
    terms = load_starter_terms()
    assert "disney" in terms
    assert len(terms) > 50


def test_blocklist_files_ignore_comments_and_blank_lines() -> None:
    assert parse_blocklist("# brands\n\nacme  # ours\n  widgetco \n") == ["acme", "widgetco"]


def test_a_clean_concept_passes(blocklist: BrandBlocklist) -> None:
    assert check_brands(concept(), blocklist) is None


def test_brand_in_title_is_caught(blocklist: BrandBlocklist) -> None:
    rejection = check_brands(concept(title="Disney Cat Mug"), blocklist)
    assert rejection is not None
    assert rejection.reason == "guard_failed"
    assert "'disney' in title" in rejection.detail


def test_brand_in_a_tag_is_caught(blocklist: BrandBlocklist) -> None:
    rejection = check_brands(concept(tags=[*TAGS[:12], "pokemon mug"]), blocklist)
    assert rejection is not None
    assert "tags[12]" in rejection.detail


def test_brand_in_the_description_is_caught(blocklist: BrandBlocklist) -> None:
    assert check_brands(concept(description="Perfect for Harry Potter fans.\nAI made it."), blocklist)


@pytest.mark.parametrize(
    "title",
    [
        "Cat Mug Inspired by Star Wars",
        "Star Wars Style Cat Mug",
        "Star Wars-inspired Cat Mug",
        "Star-Wars Themed Mug",
    ],
)
def test_inspired_by_and_style_references_count_as_uses(blocklist: BrandBlocklist, title: str) -> None:
    matches = blocklist.find(concept(title=title))
    assert [match.term for match in matches] == ["star wars"]
    assert matches[0].reference


@pytest.mark.parametrize(
    "text", ["SPIDER-MAN mug", "spiderman mug", "spider man mug", "Pokémon mug", "LEGO's mug", "legos mug"]
)
def test_matching_ignores_case_accents_separators_plurals_and_possessives(
    blocklist: BrandBlocklist, text: str
) -> None:
    assert blocklist.scan(text, "title")


@pytest.mark.parametrize("text", ["marvelous cat mug", "legolas mug", "nbaker mug", "hogwartsian"])
def test_matching_is_on_word_boundaries(blocklist: BrandBlocklist, text: str) -> None:
    assert blocklist.scan(text, "title") == []


_NEAR_MISSES = [
    *["spider", "man", "star", "wars", "lego", "legolas", "pokemon", "poke", "disney", "marvel", "nba"],
    *["Pokémon", "SPIDER-MAN", "spiderman", "star-wars's", "lego's"],
]
_JOINERS = [" ", "-", "", "'", ".", "_", ", ", "\n", " inspired by "]


@settings(max_examples=300, deadline=None)
@given(
    words=st.lists(
        st.one_of(
            st.sampled_from(_NEAR_MISSES),
            st.text(alphabet="abcdeilmnoprstw", min_size=1, max_size=8),
        ),
        max_size=12,
    ),
    joiners=st.lists(st.sampled_from(_JOINERS), max_size=12),
)
def test_the_prefix_index_finds_what_every_pattern_finds(
    blocklist: BrandBlocklist, words: list[str], joiners: list[str]
) -> None:
    text = "".join(word + (joiners[i] if i < len(joiners) else " ") for i, word in enumerate(words))
    folded = fold(text)
    # The index only narrows which patterns run: what they find must be what running all of them finds.
    assert blocklist.scan(text, "title") == blocklist.scan(text, "title", terms=blocklist.terms)
    assert blocklist.contains(text) == any(
        blocklist.scan(text, "title", terms=[term]) for term in blocklist.terms
    )
    everywhere = blocklist.scan(text, "title", terms=blocklist.terms)
    assert set(blocklist.candidates(folded)) >= {match.term for match in everywhere}


def test_extra_terms_are_added_and_allowed_terms_removed() -> None:
    custom = BrandBlocklist.starter(extra_terms=["Acme Widgets"], allowed_terms=["Disney"])
    assert custom.scan("acme-widgets mug", "title")
    assert custom.scan("disney mug", "title") == []


# --- near-duplicates ---


def test_identical_titles_are_similarity_one() -> None:
    assert title_similarity("Funny Cat Mug", "funny cat mugs") == 1.0


def test_tag_similarity_is_jaccard_of_singular_tags() -> None:
    assert tag_similarity(["cat mug", "gift"], ["cat mugs", "present"]) == pytest.approx(1 / 3)


def test_concept_too_like_an_existing_product_is_rejected_with_its_id() -> None:
    existing = [
        ExistingProduct(product_id="p-1", title="Vintage Rose Candle", tags=["rose candle"]),
        ExistingProduct(product_id="p-2", title="Funny Cat Mugs | Cat Lover Gifts", tags=["cat mug"]),
    ]
    rejection = check_near_duplicate(concept(), existing)
    assert rejection is not None
    assert rejection.reason == "guard_failed"
    assert "p-2" in rejection.detail


def test_same_tags_with_a_different_title_is_a_duplicate() -> None:
    existing = [ExistingProduct(product_id="p-1", title="Ceramic Tea Cup", tags=list(reversed(TAGS)))]
    duplicate = find_near_duplicate(concept(), existing)
    assert duplicate is not None
    assert duplicate.tag_similarity == 1.0


def test_different_products_are_not_duplicates() -> None:
    existing = [
        ExistingProduct(product_id="p-1", title="Vintage Rose Candle", tags=["rose candle", "soy wax"])
    ]
    assert check_near_duplicate(concept(), existing) is None


_VOCABULARY = [
    "cat",
    "cats",
    "mug",
    "mugs",
    "gift",
    "for",
    "her",
    "boho",
    "plant",
    "pot",
    "gold",
    "ring",
    "the",
]
_phrases = st.lists(st.sampled_from(_VOCABULARY), min_size=0, max_size=5).map(" ".join)
_products = st.builds(
    lambda title, tags: (title, tags),
    _phrases,
    st.lists(_phrases.filter(bool), max_size=6),
)


@settings(max_examples=200, deadline=None)
@given(
    existing=st.lists(_products, max_size=30),
    chunk=st.integers(1, 7),
    limit=st.integers(1, 20),
    stored=st.integers(0, 4),
    new=_products,
    limits=st.tuples(*[st.sampled_from([0.0, 0.3, 0.5, 0.6, 0.8, 1.0])] * 3),
)
def test_the_product_index_gives_the_answer_of_comparing_the_newest_products(
    existing: list[tuple[str, list[str]]],
    chunk: int,
    limit: int,
    stored: int,
    new: tuple[str, list[str]],
    limits: tuple[float, float, float],
) -> None:
    products = [ExistingProduct(product_id=f"p-{i}", title=t, tags=g) for i, (t, g) in enumerate(existing)]
    numbered = [(10 * (i + 1), fingerprint(product)) for i, product in enumerate(products)]  # seq with gaps
    committed, in_transaction = numbered[: len(numbered) - stored], numbered[len(numbered) - stored :]
    index = ProductIndex(limit)
    for start in range(0, len(committed), chunk):  # arriving in pieces, as reads after the last seq do
        index.extend(committed[start : start + chunk])
    index.extend(committed[:3])  # seen again: ignored
    assert len(index) == min(limit, len(committed))
    view = PendingProducts(index)
    for seq, prints in in_transaction:
        view.add(seq, prints)
    thresholds = DuplicateThresholds(title=limits[0], tags=limits[1], combined=limits[2])
    concept_ = concept(title=new[0] or "x", tags=new[1])
    newest_first = products[::-1][:limit]
    assert find_near_duplicate(concept_, view.candidates(concept_, thresholds), thresholds) == (
        find_near_duplicate(concept_, newest_first, thresholds)
    )
    view.commit()
    assert len(index) == min(limit, len(products))
    assert index.last_seq == (numbered[-1][0] if numbered else 0)


def test_thresholds_are_configurable() -> None:
    existing = [ExistingProduct(product_id="p-1", title="Funny Dog Mug | Dog Lover Gift", tags=[])]
    assert find_near_duplicate(concept(), existing) is None
    strict = DuplicateThresholds(title=0.3)
    assert find_near_duplicate(concept(), existing, strict) is not None


def test_check_concept_runs_brands_before_duplicates(blocklist: BrandBlocklist) -> None:
    existing = [ExistingProduct(product_id="p-1", title="Disney Cat Mug", tags=TAGS)]
    rejection = check_concept(concept(title="Disney Cat Mug"), blocklist=blocklist, existing=existing)
    assert rejection is not None
    assert "brand" in rejection.detail


# --- score / risk gate ---


@pytest.mark.parametrize(
    ("score", "risk", "max_risk", "expected"),
    [
        (0.9, "low", "medium", None),
        (0.9, "medium", "medium", None),
        (0.9, "high", "medium", "risk_too_high"),
        (0.4, "low", "medium", "score_too_low"),
        (0.5, "low", "low", None),
        (float("nan"), "low", "high", "score_too_low"),
        (0.9, "unknown", "medium", "risk_too_high"),
    ],
)
def test_score_and_risk_gate(score: float, risk: str, max_risk: str, expected: str | None) -> None:
    rejection = check_score_and_risk(score, risk, min_score=0.5, max_risk=max_risk)
    assert (rejection.reason if rejection else None) == expected


def scored(**fields: object) -> TrendScored:
    return TrendScored(job_id="j", owner_id="o", keyword="cat mug", **fields)  # type: ignore[arg-type]


def test_trend_gate_uses_the_jobs_own_thresholds() -> None:
    assert check_trend(scored(score=0.6, risk="medium", min_score=0.5, max_risk="medium")) is None
    rejection = check_trend(scored(score=0.6, risk="medium", min_score=0.7, max_risk="medium"))
    assert rejection is not None
    assert rejection.reason == "score_too_low"


def test_trend_gate_rejects_failed_upstream_and_disabled_generation() -> None:
    failed = check_trend(scored(status="failed", error="scrape failed", score=0.9, risk="low"))
    assert failed is not None
    assert (failed.reason, failed.detail) == ("upstream_failed", "scrape failed")
    disabled = check_trend(scored(generation_enabled=False, score=0.9, risk="low"))
    assert disabled is not None
    assert disabled.reason == "generation_disabled"


def test_trend_gate_rejects_a_niche_with_too_little_relevant_evidence_whatever_the_job_allows() -> None:
    relevance = Relevance(
        terms=["drop", "tabl", "job"],
        relevant_listings=0,
        listings=100,
        share=0.0,
        status="insufficient_data",
        reason="only 0 of 100 listings (0 %) are about \u201cdrop table jobs\u201d",
    )
    rejection = check_trend(
        scored(score=0.9, risk="high", max_risk="high", min_score=0.0, relevance=relevance)
    )
    assert rejection is not None
    assert rejection.reason == "risk_too_high"
    assert "insufficient data: only 0 of 100 listings" in rejection.detail
    sufficient = msgspec.structs.replace(
        relevance, relevant_listings=100, share=1.0, status="sufficient", reason=None
    )
    assert check_trend(scored(score=0.9, risk="low", relevance=sufficient)) is None


# --- daily AI budget ---


def test_usage_under_the_budget_is_allowed() -> None:
    budget = AIBudget(max_tokens_per_day=10_000, max_cost_usd_per_day=1.0)
    assert check_budget(AIUsage(tokens=2_000, cost_usd=0.2), budget, expected_tokens=1_500) is None


def test_reaching_the_token_budget_is_rejected() -> None:
    rejection = check_budget(AIUsage(tokens=10_000), AIBudget(max_tokens_per_day=10_000))
    assert rejection is not None
    assert rejection.reason == "budget_exceeded"
    assert "token" in rejection.detail


def test_a_call_that_would_pass_the_cost_budget_is_rejected() -> None:
    budget = AIBudget(max_cost_usd_per_day=1.0)
    rejection = check_budget(AIUsage(cost_usd=0.95), budget, expected_cost_usd=0.10)
    assert rejection is not None
    assert "cost" in rejection.detail


def test_no_limits_means_no_budget_rejection() -> None:
    assert check_budget(AIUsage(tokens=10**9, cost_usd=10**6), AIBudget()) is None
