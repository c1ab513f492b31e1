"""What every concept provider takes, returns and raises."""

from __future__ import annotations

from typing import Protocol

import msgspec

from etsygen_common.contracts.products import ProductConcept, ProviderUsage
from etsygen_common.contracts.trends import TrendScored
from etsygen_generator.domain.compose import NicheBrief


class ConceptRequest(msgspec.Struct, frozen=True, kw_only=True):
    """One ask for a concept: the niche, which variant, and on a re-ask what was wrong last time."""

    niche: NicheBrief
    variant: int = 0
    """Which of several concepts for the same niche this is (0 for the first)."""
    previous_violations: list[str] = msgspec.field(default_factory=list)
    """Rules the previous answer broke, as the validator wrote them; empty on the first ask."""
    previous_output: ProductConcept | None = None
    """The previous answer (after safe repairs), so the provider can fix it rather than start over."""

    @classmethod
    def from_trend(cls, trend: TrendScored, *, variant: int = 0) -> ConceptRequest:
        """The first ask for a scored trend."""
        return cls(niche=NicheBrief.from_trend(trend), variant=variant)

    def with_feedback(self, violations: list[str], previous_output: ProductConcept | None) -> ConceptRequest:
        """The re-ask: the same niche with what the last answer got wrong."""
        return msgspec.structs.replace(
            self, previous_violations=list(violations), previous_output=previous_output
        )


class ProviderResult(msgspec.Struct, frozen=True, kw_only=True):
    """A provider's raw (not yet validated) concept and what the call cost."""

    concept: ProductConcept
    provider: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0

    @classmethod
    def of(cls, concept: ProductConcept, usage: ProviderUsage) -> ProviderResult:
        """A result from a concept and the call's usage."""
        return cls(
            concept=concept,
            provider=usage.provider,
            model=usage.model,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cost_usd=usage.cost_usd,
            latency_ms=usage.latency_ms,
        )

    def usage(self) -> ProviderUsage:
        """This call's usage in the event-contract shape."""
        return ProviderUsage(
            provider=self.provider,
            model=self.model,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            cost_usd=self.cost_usd,
            latency_ms=self.latency_ms,
        )


class ProviderError(Exception):
    """Base of every provider failure.

    ``spent`` is filled in by :func:`~etsygen_generator.service_layer.generation.generate_valid_concept` with
    what earlier attempts of the same generation had already cost, so budgets count it.
    """

    def __init__(self, message: str, *, provider: str = "") -> None:
        super().__init__(message)
        self.provider = provider
        self.spent: ProviderUsage | None = None


class ProviderTimeout(ProviderError):  # noqa: N818 - names fixed by the generator's issue
    """The provider did not answer within the configured timeout."""


class ProviderRateLimited(ProviderError):  # noqa: N818 - names fixed by the generator's issue
    """HTTP 429; ``retry_after`` is the server's hint in seconds, when it gave one."""

    def __init__(self, message: str, *, provider: str = "", retry_after: float | None = None) -> None:
        super().__init__(message, provider=provider)
        self.retry_after = retry_after


class ProviderServerError(ProviderError):
    """HTTP 5xx (or 529 overloaded), or the server could not be reached (``status`` is then ``None``)."""

    def __init__(self, message: str, *, provider: str = "", status: int | None = None) -> None:
        super().__init__(message, provider=provider)
        self.status = status


class ProviderAuthError(ProviderError):
    """HTTP 401/403: the API key is missing, wrong or lacks access. Retrying will not help."""

    def __init__(self, message: str, *, provider: str = "", status: int | None = None) -> None:
        super().__init__(message, provider=provider)
        self.status = status


class ProviderRequestError(ProviderError):
    """Any other HTTP 4xx (unknown model, request too large): a configuration problem, not transient."""

    def __init__(self, message: str, *, provider: str = "", status: int | None = None) -> None:
        super().__init__(message, provider=provider)
        self.status = status


class ProviderBadOutput(ProviderError):  # noqa: N818 - names fixed by the generator's issue
    """The provider answered but not with a concept: invalid JSON, a schema violation, a refusal.

    ``usage`` is what the call cost (bad output is still billed).
    """

    def __init__(self, reason: str, *, provider: str = "", usage: ProviderUsage | None = None) -> None:
        super().__init__(reason, provider=provider)
        self.reason = reason
        self.usage = usage


class ConceptProvider(Protocol):
    """Anything that turns a :class:`ConceptRequest` into a raw concept."""

    @property
    def name(self) -> str:
        """Provider name as recorded in ``ProviderUsage.provider``."""
        ...

    @property
    def model(self) -> str:
        """Configured model name."""
        ...

    @property
    def billable(self) -> bool:
        """False when calls cost nothing (the built-in provider), so AI budgets need not apply."""
        ...

    async def generate(self, request: ConceptRequest) -> ProviderResult:
        """One call; raises a :class:`ProviderError` subclass on failure. The concept is not validated."""
        ...

    async def aclose(self) -> None:
        """Release connections the provider owns."""
        ...
