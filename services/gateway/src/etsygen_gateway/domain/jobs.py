"""Research jobs: keyword normalisation and the state machine of a job and of each of its keywords.

A keyword passes three stages, each ``pending`` → ``ok`` | ``failed`` (generation also ``running`` while
concepts arrive). It is finished when its scrape or its scoring failed, or when the generator has reported
``expected_concepts`` outcomes (generated or rejected) for it. A job is finished when all its keywords are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Final, Literal

import msgspec

from etsygen_common.contracts import GenerationOptions

JobStatus = Literal["queued", "running", "succeeded", "partially_failed", "failed", "cancelled"]
KeywordStatus = Literal["pending", "running", "succeeded", "partially_failed", "failed"]
KeywordOutcome = Literal["failed", "no_concept", "existing_product", "new_product"]
"""What a keyword's generation ended with, worst first: an error, no concept (a gate's or a guard's
decision), a link to a product the owner already has, a new product."""
StageStatus = Literal["pending", "running", "ok", "failed"]

TERMINAL_JOB: Final = frozenset({"succeeded", "partially_failed", "failed", "cancelled"})
TERMINAL_KEYWORD: Final = frozenset({"succeeded", "partially_failed", "failed"})

POLICY_REJECTIONS: Final = frozenset(
    {"risk_too_high", "score_too_low", "generation_disabled", "guard_failed", "budget_exceeded"}
)
"""Rejections that are a gate's or a guard's decision (a weak niche, a brand term, a duplicate of the owner's
product, the owner's AI budget), not failures: the keyword succeeds with the reason shown. Only errors (the
AI failing or giving invalid output after its retries, an earlier stage failing) fail it."""

OUTCOME_ORDER: Final[tuple[KeywordOutcome, ...]] = ("failed", "no_concept", "existing_product", "new_product")
"""Several concepts of one keyword: the keyword shows the best outcome among them (last here wins)."""

REJECTION_WORDS: Final[dict[str, str]] = {
    "risk_too_high": "no concept: risk above the job's maximum",
    "score_too_low": "no concept: score below the job's minimum",
    "generation_disabled": "no concept: generation is off for this job",
    "guard_failed": "no concept: stopped by a guard",
    "budget_exceeded": "no concept: the daily AI budget is used up",
    "invalid_output": "failed: the AI's output did not pass validation",
    "provider_failed": "failed: the AI provider failed",
    "upstream_failed": "failed: an earlier stage failed",
}
"""A rejection reason in words, for the job's keyword; the detail follows it."""

MAX_KEYWORDS: Final = 50
MAX_KEYWORD_LENGTH: Final = 120
_SPACES = re.compile(r"\s+")


class KeywordProgress(msgspec.Struct, kw_only=True):
    """What the projections know about one keyword of a job."""

    scrape: StageStatus = "pending"
    analyze: StageStatus = "pending"
    generate: StageStatus = "pending"
    expected_concepts: int | None = None
    generated: int = 0
    rejected: int = 0
    failed_outcomes: int = 0


def concepts_bound(keyword_count: int, generation: GenerationOptions) -> int:
    """The most concepts a job may have generated: each keyword is one niche, and each niche that passes
    the generator's gate gets ``concepts_per_niche`` (none when generation is off, as the generator has it).

    What the job spends of the AI tier up front: which niches pass the gate is known only once scored.
    """
    if not generation.enabled or generation.concepts_per_niche < 1:
        return 0
    return keyword_count * generation.concepts_per_niche


def normalize_keywords(raw: Iterable[str]) -> tuple[list[str], list[str]]:
    """Trim, collapse whitespace and drop case-insensitive duplicates, keeping the first spelling.

    Returns:
        ``(keywords, problems)``; problems name every keyword that is empty or too long.
    """
    seen: set[str] = set()
    keywords: list[str] = []
    problems: list[str] = []
    for index, value in enumerate(raw):
        keyword = _SPACES.sub(" ", value).strip()
        if not is_storable(keyword):
            problems.append(f"keywords[{index}] contains a NUL character or a lone surrogate")
            continue
        if not keyword:
            problems.append(f"keywords[{index}] is empty")
            continue
        if len(keyword) > MAX_KEYWORD_LENGTH:
            problems.append(f"keywords[{index}] is longer than {MAX_KEYWORD_LENGTH} characters")
            continue
        folded = keyword.casefold()
        if folded not in seen:
            seen.add(folded)
            keywords.append(keyword)
    if not keywords and not problems:
        problems.append("keywords must name at least one keyword")
    if len(keywords) > MAX_KEYWORDS:
        problems.append(f"at most {MAX_KEYWORDS} distinct keywords per job")
    return keywords, problems


def is_storable(text: str) -> bool:
    """True when ``text`` is valid Unicode that PostgreSQL can store (no NUL, no lone surrogates)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_failure(reason: str) -> bool:
    """True when a rejection means the pipeline failed (provider, validation, budget, upstream)."""
    return reason not in POLICY_REJECTIONS


def rejection_outcome(
    reason: str, detail: str, existing_product_id: str | None
) -> tuple[KeywordOutcome, str]:
    """What one rejected concept means for its keyword, and why in words.

    A near-duplicate of a product the owner has (a keyword researched again) links the keyword to that
    product: its outcome is ``existing_product``, not a failure.
    """
    if existing_product_id is not None:
        words = f"existing product {existing_product_id}"
        similarity = detail.removeprefix(f"near-duplicate of product {existing_product_id}: ")
        return "existing_product", f"{words} ({similarity})" if similarity else words
    outcome: KeywordOutcome = "failed" if is_failure(reason) else "no_concept"
    words = REJECTION_WORDS.get(reason, f"{outcome.replace('_', ' ')}: {reason}")
    return outcome, f"{words} ({detail})" if detail else words


JOB_REASON_LENGTH: Final = 1000


def job_reason(keyword_reasons: Sequence[tuple[str, str]]) -> str | None:
    """A finished job's reason: each keyword's error or reason, ``keyword: reason``, joined and capped; None
    when no keyword has one (every concept became a new product)."""
    if not keyword_reasons:
        return None
    text = "; ".join(f"{keyword}: {why}" for keyword, why in keyword_reasons)
    return text if len(text) <= JOB_REASON_LENGTH else text[: JOB_REASON_LENGTH - 1] + "…"


def keyword_status(p: KeywordProgress) -> KeywordStatus:
    """The keyword's overall status from its stages and outcome counts."""
    if p.scrape == "failed" or p.analyze == "failed":
        return "failed"
    outcomes = p.generated + p.rejected
    if p.expected_concepts is not None and outcomes >= p.expected_concepts:
        if p.failed_outcomes == 0:
            return "succeeded"
        if p.failed_outcomes >= outcomes:
            return "failed"
        return "partially_failed"
    if p.scrape == "pending":
        return "pending"
    return "running"


def job_status(keyword_statuses: Sequence[str], current: str) -> JobStatus:
    """The job's status from its keywords'; a cancelled job stays cancelled."""
    if current == "cancelled":
        return "cancelled"
    if not keyword_statuses or all(s == "pending" for s in keyword_statuses):
        return "queued" if current == "queued" else "running"
    if not all(s in TERMINAL_KEYWORD for s in keyword_statuses):
        return "running"
    if all(s == "succeeded" for s in keyword_statuses):
        return "succeeded"
    if all(s == "failed" for s in keyword_statuses):
        return "failed"
    return "partially_failed"


def apply_scrape(p: KeywordProgress, ok: bool) -> None:
    """The scraper reported the keyword's marketplace data (or its failure)."""
    p.scrape = "ok" if ok else "failed"


def apply_analysis(p: KeywordProgress, ok: bool) -> None:
    """The analyzer scored the keyword (or could not); generation starts after a score."""
    if p.scrape == "pending":
        p.scrape = "ok"  # the scrape event may arrive after the score when partitions lag
    p.analyze = "ok" if ok else "failed"
    if ok and p.generate == "pending":
        p.generate = "running"


def apply_outcome(p: KeywordProgress, *, generated: bool, reason: str | None, expected: int) -> None:
    """The generator reported one outcome (a concept or a rejection) of ``expected``."""
    if p.scrape == "pending":
        p.scrape = "ok"
    if p.analyze == "pending" and reason != "upstream_failed":
        p.analyze = "ok"
    p.expected_concepts = max(1, expected)
    if generated:
        p.generated += 1
    else:
        p.rejected += 1
        if reason is not None and is_failure(reason):
            p.failed_outcomes += 1
    outcomes = p.generated + p.rejected
    if outcomes >= p.expected_concepts:
        p.generate = "failed" if p.failed_outcomes >= outcomes else "ok"
    else:
        p.generate = "running"
