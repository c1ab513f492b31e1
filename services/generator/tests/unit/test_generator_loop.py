"""generate_valid_concept against scripted in-memory providers (no network)."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import pytest

from etsygen_common.contracts.products import ProductConcept, ProviderUsage
from etsygen_generator.adapters.providers import (
    BuiltinProvider,
    ConceptRequest,
    ProviderBadOutput,
    ProviderError,
    ProviderResult,
    ProviderServerError,
)
from etsygen_generator.domain.compose import NicheBrief, compose
from etsygen_generator.domain.validator import validate
from etsygen_generator.service_layer.generation import InvalidConceptError, generate_valid_concept

NICHE = NicheBrief(
    keyword="boho plant pot", top_tags=["plant pot", "planter"], top_title_phrases=["boho pot"]
)
GOOD = compose(NICHE)


class ScriptedProvider:
    """Answers from a script: a concept, or an exception to raise."""

    name = "scripted"
    model = "script-1"
    billable = True

    def __init__(self, script: Sequence[ProductConcept | ProviderError]) -> None:
        self.script = list(script)
        self.requests: list[ConceptRequest] = []

    async def generate(self, request: ConceptRequest) -> ProviderResult:
        self.requests.append(request)
        step = self.script.pop(0)
        if isinstance(step, ProviderError):
            raise step
        return ProviderResult(
            concept=step,
            provider=self.name,
            model=self.model,
            prompt_tokens=100,
            completion_tokens=50,
            cost_usd=0.01,
            latency_ms=5.0,
        )

    async def aclose(self) -> None:
        return None


def request() -> ConceptRequest:
    return ConceptRequest(niche=NICHE)


async def test_a_valid_first_answer_is_returned_after_one_call() -> None:
    provider = ScriptedProvider([GOOD])
    generated = await generate_valid_concept(provider, request())
    assert generated.concept == GOOD
    assert generated.report.valid
    assert generated.report.attempts == 1
    assert generated.report.violations == []
    assert generated.usage.prompt_tokens == 100


async def test_repairable_output_is_repaired_without_asking_again() -> None:
    messy = msgspec.structs.replace(GOOD, title=f"  {GOOD.title}  ", tags=[*GOOD.tags, GOOD.tags[0].upper()])
    provider = ScriptedProvider([messy])
    generated = await generate_valid_concept(provider, request())
    assert len(provider.requests) == 1
    assert generated.concept.title == GOOD.title
    assert generated.concept.tags == GOOD.tags
    assert generated.report.repairs
    assert any(v.startswith("tag_duplicate") for v in generated.report.violations)


async def test_unrepairable_output_is_sent_back_with_its_violations() -> None:
    no_disclosure = msgspec.structs.replace(GOOD, description="Just a pot.")
    provider = ScriptedProvider([no_disclosure, GOOD])
    generated = await generate_valid_concept(provider, request())
    assert generated.concept == GOOD
    assert generated.report.attempts == 2
    reask = provider.requests[1]
    assert [v.split(" ")[0] for v in reask.previous_violations] == ["ai_disclosure_missing"]
    assert reask.previous_output == no_disclosure
    assert generated.usage.prompt_tokens == 200
    assert generated.usage.cost_usd == pytest.approx(0.02)


async def test_bad_output_is_re_asked_and_its_cost_counted() -> None:
    bad = ProviderBadOutput(
        "invalid JSON: truncated", usage=ProviderUsage(provider="scripted", model="m", prompt_tokens=70)
    )
    provider = ScriptedProvider([bad, GOOD])
    generated = await generate_valid_concept(provider, request())
    assert generated.report.attempts == 2
    assert provider.requests[1].previous_violations == ["bad_output (response): invalid JSON: truncated"]
    assert generated.usage.prompt_tokens == 170


async def test_attempts_are_bounded_and_the_last_violations_reported() -> None:
    empty_title = msgspec.structs.replace(GOOD, title="")
    provider = ScriptedProvider([empty_title] * 5)
    with pytest.raises(InvalidConceptError) as caught:
        await generate_valid_concept(provider, request(), max_attempts=3)
    assert len(provider.requests) == 3
    assert not caught.value.report.valid
    assert caught.value.report.attempts == 3
    assert caught.value.report.violations[0].startswith("title_empty")
    assert caught.value.usage.prompt_tokens == 300


async def test_transport_errors_propagate_with_what_was_already_spent() -> None:
    provider = ScriptedProvider(
        [msgspec.structs.replace(GOOD, title=""), ProviderServerError("down", status=503)]
    )
    with pytest.raises(ProviderServerError) as caught:
        await generate_valid_concept(provider, request())
    assert caught.value.spent is not None
    assert caught.value.spent.prompt_tokens == 100


async def test_max_attempts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        await generate_valid_concept(ScriptedProvider([GOOD]), request(), max_attempts=0)


async def test_builtin_provider_costs_nothing_and_always_validates() -> None:
    provider = BuiltinProvider()
    result = await provider.generate(ConceptRequest(niche=NICHE, variant=2))
    assert validate(result.concept) == []
    assert (result.prompt_tokens, result.completion_tokens, result.cost_usd) == (0, 0, 0.0)
    assert not provider.billable
    generated = await generate_valid_concept(provider, request())
    assert generated.report.attempts == 1
    assert generated.usage.provider == "builtin"


# A concept Etsy would accept but a seller would not publish: a pipe-joined list of search phrases.
PHRASE_LIST = msgspec.structs.replace(
    GOOD, title="Boho Plant Pot | Planter | Boho Pot | Plant Pot Gift | Gift for Her | Housewarming Gift"
)


async def test_a_valid_concept_below_the_grade_is_asked_for_again_with_the_grades_reasons() -> None:
    assert validate(PHRASE_LIST) == []  # Etsy's rules alone would take it
    provider = ScriptedProvider([PHRASE_LIST, GOOD])
    generated = await generate_valid_concept(provider, request(), max_attempts=3, min_grade="B")
    assert generated.concept == GOOD
    assert generated.report.attempts == 2
    assert generated.report.grade in {"A", "B"}
    feedback = " ".join(provider.requests[1].previous_violations)
    assert "below B" in feedback


async def test_concepts_that_never_reach_the_grade_are_refused_with_the_reasons() -> None:
    provider = ScriptedProvider([PHRASE_LIST, PHRASE_LIST])
    with pytest.raises(InvalidConceptError, match="below B") as raised:
        await generate_valid_concept(provider, request(), max_attempts=2, min_grade="B")
    assert not raised.value.report.valid


async def test_a_lower_bar_accepts_what_a_higher_one_refuses() -> None:
    provider = ScriptedProvider([PHRASE_LIST])
    generated = await generate_valid_concept(provider, request(), max_attempts=1, min_grade="F")
    assert generated.report.grade not in {None, "A", "B"}  # accepted although below B
    assert generated.report.grade_reasons
