"""Keyword normalisation and the job/keyword state machine."""

from __future__ import annotations

from etsygen_common.contracts import GenerationOptions
from etsygen_gateway.domain.jobs import (
    KeywordProgress,
    apply_analysis,
    apply_outcome,
    apply_scrape,
    concepts_bound,
    job_reason,
    job_status,
    keyword_status,
    normalize_keywords,
    rejection_outcome,
)


def test_keywords_are_trimmed_collapsed_and_deduplicated_case_insensitively() -> None:
    keywords, problems = normalize_keywords(["  custom   mug ", "Custom Mug", "dog collar"])
    assert keywords == ["custom mug", "dog collar"]
    assert problems == []


def test_blank_keywords_are_named_as_problems() -> None:
    _, problems = normalize_keywords(["mug", "   "])
    assert problems == ["keywords[1] is empty"]


def test_a_failed_scrape_fails_the_keyword_at_once() -> None:
    p = KeywordProgress()
    apply_scrape(p, ok=False)
    assert keyword_status(p) == "failed"


def test_a_keyword_finishes_when_all_expected_outcomes_arrived() -> None:
    p = KeywordProgress()
    apply_scrape(p, ok=True)
    apply_analysis(p, ok=True)
    apply_outcome(p, generated=True, reason=None, expected=2)
    assert keyword_status(p) == "running"
    apply_outcome(p, generated=True, reason=None, expected=2)
    assert keyword_status(p) == "succeeded"
    assert p.generate == "ok"


def test_policy_rejections_are_a_success_and_provider_failures_are_not() -> None:
    weak = KeywordProgress(scrape="ok", analyze="ok")
    apply_outcome(weak, generated=False, reason="score_too_low", expected=1)
    assert keyword_status(weak) == "succeeded"

    mixed = KeywordProgress(scrape="ok", analyze="ok")
    apply_outcome(mixed, generated=True, reason=None, expected=2)
    apply_outcome(mixed, generated=False, reason="provider_failed", expected=2)
    assert keyword_status(mixed) == "partially_failed"

    broken = KeywordProgress(scrape="ok", analyze="ok")
    apply_outcome(broken, generated=False, reason="invalid_output", expected=1)
    assert keyword_status(broken) == "failed"
    assert broken.generate == "failed"


def test_an_upstream_failure_reported_by_the_generator_fails_the_keyword() -> None:
    p = KeywordProgress()
    apply_outcome(p, generated=False, reason="upstream_failed", expected=1)
    assert keyword_status(p) == "failed"


def test_job_status_summarises_its_keywords() -> None:
    assert job_status(["pending", "pending"], "queued") == "queued"
    assert job_status(["running", "pending"], "queued") == "running"
    assert job_status(["succeeded", "succeeded"], "running") == "succeeded"
    assert job_status(["failed", "failed"], "running") == "failed"
    assert job_status(["succeeded", "failed"], "running") == "partially_failed"
    assert job_status(["succeeded", "running"], "cancelled") == "cancelled"


def test_a_job_may_generate_its_keywords_times_the_concepts_per_keyword_and_none_when_off() -> None:
    assert concepts_bound(4, GenerationOptions(concepts_per_niche=3)) == 12
    assert concepts_bound(4, GenerationOptions()) == 4  # one concept per keyword by default
    assert concepts_bound(4, GenerationOptions(enabled=False, concepts_per_niche=3)) == 0
    assert concepts_bound(4, GenerationOptions(concepts_per_niche=0)) == 0


def test_guard_and_budget_rejections_are_decisions_not_failures() -> None:
    for reason in ("guard_failed", "budget_exceeded"):
        p = KeywordProgress(scrape="ok", analyze="ok")
        apply_outcome(p, generated=False, reason=reason, expected=1)
        assert (keyword_status(p), p.generate) == ("succeeded", "ok"), reason


def test_a_duplicate_of_the_owners_product_is_an_existing_product_with_its_similarity() -> None:
    detail = "near-duplicate of product p-1: title similarity 1.00, tag similarity 0.92"
    assert rejection_outcome("guard_failed", detail, "p-1") == (
        "existing_product",
        "existing product p-1 (title similarity 1.00, tag similarity 0.92)",
    )


def test_a_rejection_reads_as_its_outcome_and_detail() -> None:
    assert rejection_outcome("score_too_low", "score 0.412 is below 0.500", None) == (
        "no_concept",
        "no concept: score below the job's minimum (score 0.412 is below 0.500)",
    )
    assert rejection_outcome("guard_failed", "", None) == ("no_concept", "no concept: stopped by a guard")
    assert rejection_outcome("provider_failed", "timeout", None)[0] == "failed"
    assert rejection_outcome("something_new", "", None) == ("failed", "failed: something_new")


def test_a_jobs_reason_names_each_keyword_and_is_capped() -> None:
    assert job_reason([]) is None
    assert job_reason([("mug", "no concept: x"), ("cup", "existing product p")]) == (
        "mug: no concept: x; cup: existing product p"
    )
    long = job_reason([(f"kw{i}", "r" * 100) for i in range(20)])
    assert long is not None
    assert len(long) == 1000
    assert long.endswith("…")
