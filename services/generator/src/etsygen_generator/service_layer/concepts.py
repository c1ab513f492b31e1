"""Before the transaction: gate the niche on status, score and risk, check the owner's AI budget, and ask the
provider (through its circuit breaker) for each concept."""

from __future__ import annotations

import time
from dataclasses import dataclass
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
    GuardRejection,
    check_brands,
    check_budget,
    check_trend,
    without_brand_evidence,
)
from etsygen_generator.domain.quality import DEFAULT_MINIMUM, Letter
from etsygen_generator.metrics import PROVIDER_ERRORS, PROVIDER_SECONDS, SERVICE
from etsygen_generator.service_layer.generation import InvalidConceptError, generate_valid_concept


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
        pool: Any = None,
    ) -> None:
        self._provider = provider
        self._breaker = breaker
        self._blocklist = blocklist
        self._budget = budget
        self._max_attempts = max_attempts
        self._min_grade: Letter = min_grade
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
        outcomes: list[Outcome] = []
        for index in range(expected):
            refusal = await self._over_budget(trend.owner_id)
            if refusal is not None:
                outcomes.append(Outcome(index=index, expected=expected, rejection=refusal))
                continue
            outcomes.append(await self._generate(trend, index, expected))
        return outcomes

    async def _over_budget(self, owner_id: str) -> GuardRejection | None:
        """Whether the owner's daily AI budget stops the next call (only billable providers spend it)."""
        if not self._provider.billable or self.pool is None:
            return None
        async with self.pool.acquire() as conn:
            used = await repository.usage_today(conn, owner_id)
        return check_budget(used, self._budget)

    async def _generate(self, trend: TrendScored, index: int, expected: int) -> Outcome:
        request = ConceptRequest.from_trend(without_brand_evidence(trend, self._blocklist), variant=index)
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
