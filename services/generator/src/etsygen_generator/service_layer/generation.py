"""Ask a provider until its concept passes the validator and the quality bar: repair what is safe, re-ask
with the rest.

This is the only way the generator should obtain a concept from a provider: nothing it returns has skipped
:func:`~etsygen_generator.domain.validator.validate` (Etsy's rules) or
:func:`~etsygen_generator.domain.quality.review` (the listing-quality grade, at least ``min_grade``). It
orchestrates a provider (an adapter) and the pure checks, so it is a use case, not part of the providers.
"""

from __future__ import annotations

import msgspec

from etsygen_common.contracts.products import ProductConcept, ProviderUsage, ValidationReport
from etsygen_generator.adapters.providers import (
    ConceptProvider,
    ConceptRequest,
    ProviderBadOutput,
    ProviderError,
)
from etsygen_generator.domain.quality import DEFAULT_MINIMUM, Letter, review
from etsygen_generator.domain.validator import repair, validate

DEFAULT_MAX_ATTEMPTS = 3


class GeneratedConcept(msgspec.Struct, frozen=True, kw_only=True):
    """A validated concept, what was found and repaired on the way, and what all attempts cost together."""

    concept: ProductConcept
    report: ValidationReport
    usage: ProviderUsage


class InvalidConceptError(Exception):
    """Every attempt produced output that failed validation (or was not a concept at all).

    ``report`` lists the violations of the last attempt; ``usage`` is what all attempts cost.
    """

    def __init__(self, report: ValidationReport, usage: ProviderUsage) -> None:
        problems = "; ".join(report.violations) or "no output"
        super().__init__(f"no valid concept after {report.attempts} attempts: {problems}")
        self.report = report
        self.usage = usage


def add_usage(total: ProviderUsage, call: ProviderUsage) -> ProviderUsage:
    """What ``total`` and one more call cost together (named after the latest call's provider and model)."""
    return ProviderUsage(
        provider=call.provider,
        model=call.model,
        prompt_tokens=total.prompt_tokens + call.prompt_tokens,
        completion_tokens=total.completion_tokens + call.completion_tokens,
        cost_usd=total.cost_usd + call.cost_usd,
        latency_ms=total.latency_ms + call.latency_ms,
    )


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


async def generate_valid_concept(
    provider: ConceptProvider,
    request: ConceptRequest,
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    min_grade: Letter = DEFAULT_MINIMUM,
) -> GeneratedConcept:
    """Call ``provider`` at most ``max_attempts`` times until a concept validates and grades ``min_grade`` or
    better, repairing where safe.

    Each answer is validated; if it fails, safe repairs are applied and it is validated again. A valid concept
    is then graded (:func:`~etsygen_generator.domain.quality.review`, which repairs tags and materials where
    it can). What is still wrong, the grade's reasons, or why the output was not a concept, goes back to the
    provider as ``previous_violations``.

    The returned report has ``valid=True``; ``violations`` lists everything found on the way (including what
    was repaired) and ``repairs`` the fixes applied to the returned concept.

    Raises:
        InvalidConceptError: no attempt produced a valid concept.
        ProviderError: a transport-level failure (timeout, 429, 5xx, auth); its ``spent`` carries what
            earlier attempts cost. These are not retried here: retry policy and circuit breaking are the
            caller's.
    """
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
    spent = ProviderUsage(provider=provider.name, model=provider.model)
    found: list[str] = []
    last: list[str] = []
    for attempt in range(1, max_attempts + 1):
        try:
            result = await provider.generate(request)
        except ProviderBadOutput as exc:
            if exc.usage is not None:
                spent = add_usage(spent, exc.usage)
            last = [f"bad_output (response): {exc.reason}"]
            found += last
            request = request.with_feedback(last, previous_output=None)
            continue
        except ProviderError as exc:
            exc.spent = spent
            raise
        spent = add_usage(spent, result.usage())
        violations = validate(result.concept)
        found += [str(violation) for violation in violations]
        candidate, repairs = repair(result.concept) if violations else (result.concept, [])
        remaining = validate(candidate)
        if remaining:
            last = [str(violation) for violation in remaining]
            request = request.with_feedback(last, previous_output=candidate)
            continue
        verdict = review(candidate, request.niche, minimum=min_grade)
        if verdict.accepted:
            report = ValidationReport(
                valid=True,
                violations=_unique(found),
                repairs=repairs + verdict.repairs,
                attempts=attempt,
                grade=verdict.grade.letter,
                grade_reasons=verdict.grade.reasons,
            )
            return GeneratedConcept(concept=verdict.concept, report=report, usage=spent)
        last = [
            f"grade {verdict.grade.letter} (below {min_grade}): {problem}"
            for problem in verdict.grade.problems
        ]
        found += last
        request = request.with_feedback(last, previous_output=verdict.concept)
    report = ValidationReport(valid=False, violations=last, attempts=max_attempts)
    raise InvalidConceptError(report, spent)
