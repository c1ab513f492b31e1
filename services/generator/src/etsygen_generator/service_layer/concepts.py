"""Before the transaction: gate the niche on status, score and risk, check the owner's AI budget, and ask the
provider (through its circuit breaker) for each concept.

When the job asks for variants, a concept that duplicates one of the owner's products (a keyword researched
again) is asked for again as another variant, a bounded number of times. The owner's products are read here
without the owner's lock, so this only steers the provider; the near-duplicate guard in the transaction
(:mod:`.products`) still decides.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

from etsygen_common.breaker import Breaker, BreakerOpenError
from etsygen_common.contracts import ProductConcept, ProviderUsage, TrendScored, ValidationReport
from etsygen_common.kafka import PauseConsumption
from etsygen_generator.adapters import repository
from etsygen_generator.adapters.providers import (
    ConceptProvider,
    ConceptRequest,
    ProviderAuthError,
    ProviderError,
    ProviderRequestError,
)
from etsygen_generator.domain.guards import (
    AIBudget,
    BrandBlocklist,
    DuplicateThresholds,
    ExistingProduct,
    Fingerprint,
    GuardRejection,
    check_brands,
    check_budget,
    check_trend,
    find_near_duplicate,
    fingerprint,
    without_brand_evidence,
)
from etsygen_generator.domain.quality import DEFAULT_MINIMUM, Letter
from etsygen_generator.metrics import PROVIDER_ERRORS, PROVIDER_SECONDS, SERVICE
from etsygen_generator.service_layer.generation import (
    InvalidConceptError,
    add_usage,
    generate_valid_concept,
)

VARIANT_TRIES = 3
"""Concepts asked of the provider for one outcome, at most, when the job wants variants and each so far
duplicated one of the owner's products."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """One concept of a niche as the provider left it: a candidate product, or why there is none.

    ``usage`` is what the attempt cost (None when the provider was not called); ``rejection`` is set when the
    gate, the budget, the validator or the brand guard stopped it.
    """

    index: int
    expected: int
    concept: ProductConcept | None = None
    report: ValidationReport | None = None
    usage: ProviderUsage | None = None
    rejection: GuardRejection | None = None


class ConceptGeneration:
    """Gate, budget and generation for a scored niche; everything that talks to the provider.

    ``pool`` is the runtime's late-bound pool: the budget reads today's usage from it once started.
    """

    def __init__(
        self,
        provider: ConceptProvider,
        breaker: Breaker,
        *,
        blocklist: BrandBlocklist,
        budget: AIBudget,
        max_attempts: int,
        min_grade: Letter = DEFAULT_MINIMUM,
        thresholds: DuplicateThresholds | None = None,
        pool: Any = None,
    ) -> None:
        self._provider = provider
        self._breaker = breaker
        self._blocklist = blocklist
        self._budget = budget
        self._max_attempts = max_attempts
        self._min_grade: Letter = min_grade
        self._thresholds = thresholds or DuplicateThresholds()
        self.pool = pool

    async def outcomes(self, trend: TrendScored) -> list[Outcome]:
        """One outcome for a niche the gate stops, else ``concepts_per_niche`` of them (each a candidate or a
        rejection with its reason).

        Raises:
            PauseConsumption: the provider's breaker is open.
            ProviderError: a retryable provider failure.
        """
        gate = check_trend(trend)
        if gate is not None:
            return [Outcome(index=0, expected=1, rejection=gate)]
        expected = trend.concepts_per_niche
        avoid = await self._owner_products(trend.owner_id) if trend.variants else None
        outcomes: list[Outcome] = []
        for index in range(expected):
            refusal = await self._over_budget(trend.owner_id)
            if refusal is not None:
                outcomes.append(Outcome(index=index, expected=expected, rejection=refusal))
                continue
            outcome = await self._generate(trend, index, expected)
            if avoid is not None:
                outcome = await self._distinct(trend, outcome, avoid)
            outcomes.append(outcome)
        return outcomes

    async def _distinct(self, trend: TrendScored, outcome: Outcome, avoid: list[Fingerprint]) -> Outcome:
        """Ask for further variants while the concept duplicates one of ``avoid`` (at most
        :data:`VARIANT_TRIES` concepts in all); the kept concept joins ``avoid``. Every try's cost counts; a
        try that gives no valid concept keeps the duplicate (the keyword then links to the product)."""
        variant = outcome.index
        for _ in range(VARIANT_TRIES - 1):
            concept = outcome.concept
            if concept is None or outcome.rejection is not None:
                break
            duplicate = find_near_duplicate(concept, avoid, self._thresholds)
            if duplicate is None:
                break
            if await self._over_budget(trend.owner_id) is not None:
                break  # the duplicate stands: the guard links the keyword to the existing product
            variant += outcome.expected  # never a variant another of the niche's concepts starts from
            feedback = (
                f"duplicate: the concept is a {duplicate.describe()}; write a clearly different product "
                "(another item, style or use of the niche), not a reworded copy"
            )
            tried = await self._generate(
                trend, outcome.index, outcome.expected, variant=variant, feedback=(feedback, concept)
            )
            kept = outcome if tried.concept is None or tried.rejection is not None else tried
            if outcome.usage is not None and tried.usage is not None:
                kept = replace(kept, usage=add_usage(outcome.usage, tried.usage))
            outcome = kept
            if kept.concept is concept:
                break  # the variant failed: the duplicate stands and the keyword links to the product
        if outcome.concept is not None:
            avoid.append(
                fingerprint(
                    ExistingProduct(
                        product_id=f"concept {outcome.index}",
                        title=outcome.concept.title,
                        tags=outcome.concept.tags,
                    )
                )
            )
        return outcome

    async def _owner_products(self, owner_id: str) -> list[Fingerprint]:
        """The owner's newest products as committed now (no lock: a hint for the provider, not the guard)."""
        if self.pool is None:
            return []
        async with self.pool.acquire() as conn:
            products = await repository.products_after(conn, owner_id, 0)
        return [fingerprint(product) for _, product in products]

    async def _over_budget(self, owner_id: str) -> GuardRejection | None:
        """Whether the owner's daily AI budget stops the next call (only billable providers spend it)."""
        if not self._provider.billable or self.pool is None:
            return None
        async with self.pool.acquire() as conn:
            used = await repository.usage_today(conn, owner_id)
        return check_budget(used, self._budget)

    async def _generate(
        self,
        trend: TrendScored,
        index: int,
        expected: int,
        *,
        variant: int | None = None,
        feedback: tuple[str, ProductConcept] | None = None,
    ) -> Outcome:
        request = ConceptRequest.from_trend(
            without_brand_evidence(trend, self._blocklist), variant=index if variant is None else variant
        )
        if feedback is not None:  # why the last concept will not do, and that concept
            request = request.with_feedback([feedback[0]], previous_output=feedback[1])
        started = time.perf_counter()
        name = self._provider.name
        try:
            generated = await self._breaker.call(
                generate_valid_concept,
                self._provider,
                request,
                max_attempts=self._max_attempts,
                min_grade=self._min_grade,
            )
        except BreakerOpenError as exc:
            raise PauseConsumption(max(exc.retry_after, 0.5), str(exc), cause="breaker_open") from exc
        except InvalidConceptError as exc:
            return Outcome(
                index=index,
                expected=expected,
                usage=exc.usage,
                report=exc.report,
                rejection=GuardRejection(reason="invalid_output", detail=str(exc)[:500]),
            )
        except (ProviderAuthError, ProviderRequestError) as exc:
            # A configuration problem: retrying cannot help, the user must fix the provider settings.
            PROVIDER_ERRORS.labels(SERVICE, name, type(exc).__name__).inc()
            return Outcome(
                index=index,
                expected=expected,
                usage=exc.spent,
                rejection=GuardRejection(reason="provider_failed", detail=f"{exc}; check AI_* settings"),
            )
        except ProviderError as exc:
            PROVIDER_ERRORS.labels(SERVICE, name, type(exc).__name__).inc()
            raise  # retryable: the consumer hands the record to its retry topics
        finally:
            PROVIDER_SECONDS.labels(SERVICE, name).observe(time.perf_counter() - started)
        return Outcome(
            index=index,
            expected=expected,
            concept=generated.concept,
            report=generated.report,
            usage=generated.usage,
            rejection=check_brands(generated.concept, self._blocklist),
        )
