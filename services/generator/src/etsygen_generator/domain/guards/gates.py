"""Which niches get concepts at all (upstream status, the job's switch, score and risk), the owner's daily AI
budget, and the concept gate that runs the brand and duplicate guards in order."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from etsygen_common.contracts.products import ProductConcept
from etsygen_common.contracts.trends import Risk, TrendScored, within_risk
from etsygen_generator.domain.guards.brands import BrandBlocklist, check_brands
from etsygen_generator.domain.guards.duplicates import (
    DuplicateThresholds,
    ExistingProduct,
    Fingerprint,
    check_near_duplicate,
)
from etsygen_generator.domain.guards.rejection import GuardRejection


def check_score_and_risk(
    score: float, risk: Risk | str, *, min_score: float, max_risk: Risk | str
) -> GuardRejection | None:
    """Reject a niche riskier than ``max_risk`` or scoring below ``min_score``; unknown risk ranks high."""
    if not within_risk(risk, max_risk):
        return GuardRejection(reason="risk_too_high", detail=f"risk {risk} is above the allowed {max_risk}")
    if not score >= min_score:  # written so a NaN score is rejected too
        return GuardRejection(reason="score_too_low", detail=f"score {score:.3f} is below {min_score:.3f}")
    return None


def check_trend(trend: TrendScored) -> GuardRejection | None:
    """Whether a trend should get concepts: upstream status, the job's switch, enough evidence about the
    keyword, then score and risk."""
    if trend.status != "ok":
        return GuardRejection(
            reason="upstream_failed", detail=trend.error or "the analyzer reported a failure"
        )
    if not trend.generation_enabled or trend.concepts_per_niche < 1:
        return GuardRejection(reason="generation_disabled", detail="generation is disabled for this job")
    relevance = trend.relevance
    if relevance is not None and relevance.status == "insufficient_data":
        # Too few listings about the keyword: high risk whatever the job allows, and never a concept.
        return GuardRejection(
            reason="risk_too_high",
            detail=f"insufficient data: {relevance.reason or 'too few relevant listings'}",
        )
    return check_score_and_risk(trend.score, trend.risk, min_score=trend.min_score, max_risk=trend.max_risk)


# --- per-owner daily AI budget ------------------------------------------------------------------------------


class AIBudget(msgspec.Struct, frozen=True, kw_only=True):
    """An owner's daily AI allowance; ``None`` means no limit."""

    max_tokens_per_day: int | None = None
    max_cost_usd_per_day: float | None = None


class AIUsage(msgspec.Struct, frozen=True, kw_only=True):
    """What an owner has used today."""

    tokens: int = 0
    cost_usd: float = 0.0


def check_budget(
    used: AIUsage,
    budget: AIBudget,
    *,
    expected_tokens: int = 0,
    expected_cost_usd: float = 0.0,
) -> GuardRejection | None:
    """Reject when today's usage has reached a limit, or would pass it with the expected next call."""
    tokens_limit = budget.max_tokens_per_day
    if tokens_limit is not None and (
        used.tokens >= tokens_limit or used.tokens + expected_tokens > tokens_limit
    ):
        return GuardRejection(
            reason="budget_exceeded",
            detail=(
                f"daily AI token budget: {used.tokens} used + {expected_tokens} expected "
                f"of {tokens_limit} allowed"
            ),
        )
    cost_limit = budget.max_cost_usd_per_day
    if cost_limit is not None and (
        used.cost_usd >= cost_limit or used.cost_usd + expected_cost_usd > cost_limit
    ):
        return GuardRejection(
            reason="budget_exceeded",
            detail=(
                f"daily AI cost budget: ${used.cost_usd:.4f} used + ${expected_cost_usd:.4f} expected "
                f"of ${cost_limit:.2f} allowed"
            ),
        )
    return None


# --- a concept: brands, then near-duplicates ----------------------------------------------------------------


def check_concept(
    concept: ProductConcept,
    *,
    blocklist: BrandBlocklist,
    existing: Iterable[ExistingProduct | Fingerprint] = (),
    thresholds: DuplicateThresholds | None = None,
) -> GuardRejection | None:
    """Brand blocklist first, then near-duplicates; the first failure wins."""
    return check_brands(concept, blocklist) or check_near_duplicate(concept, existing, thresholds)
