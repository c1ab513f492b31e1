"""The AI provider's circuit breaker against the fake OpenAI-compatible server.

Wired as ``bootstrap.build_app`` wires it (name ``ai-<provider>``, bad output and configuration errors
excluded), with ``fail_max=5`` and a short reset timeout: five consecutive HTTP 500s open it, further calls
are rejected without reaching the server (and the concept handler turns that into a consumer pause), and
after the timeout one trial call reaches the server and closes it on success.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from etsygen_common.breaker import Breaker, BreakerOpenError
from etsygen_common.contracts import TrendScored
from etsygen_common.kafka import PauseConsumption
from etsygen_common.testing.plugin import wait_until
from etsygen_generator.adapters.providers import (
    ConceptProvider,
    ConceptRequest,
    ProviderAuthError,
    ProviderConfig,
    ProviderRequestError,
    ProviderServerError,
    build_provider,
)
from etsygen_generator.domain.compose import NicheBrief
from etsygen_generator.domain.guards import AIBudget, BrandBlocklist, DuplicateThresholds
from etsygen_generator.handlers import TrendScoredHandler
from etsygen_generator.service_layer.concepts import ConceptGeneration
from etsygen_generator.service_layer.generation import InvalidConceptError, generate_valid_concept
from etsygen_generator.service_layer.products import ProductStore
from etsygen_simulators.ai import FakeAIServer

pytestmark = pytest.mark.integration

RESET_S = 1.0
REQUEST = ConceptRequest(niche=NicheBrief(keyword="boho plant pot", top_tags=["plant pot", "boho planter"]))


@pytest.fixture
async def server() -> AsyncIterator[FakeAIServer]:
    async with FakeAIServer() as running:
        yield running


@pytest.fixture
async def control(server: FakeAIServer) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the fake server's control endpoints (``/_control``, ``/_stats``)."""
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        yield client


@pytest.fixture
async def provider(server: FakeAIServer) -> AsyncIterator[ConceptProvider]:
    built = build_provider(
        "openai_compat", ProviderConfig(base_url=server.openai_base_url, model="fake-model", timeout_s=5)
    )
    yield built
    await built.aclose()


def _breaker(provider: ConceptProvider) -> Breaker:
    return Breaker(
        f"ai-{provider.name}-{uuid.uuid4().hex[:6]}",  # unique, so this test's metric series start at zero
        service="generator",
        fail_max=5,
        reset_timeout_s=RESET_S,
        exclude=(InvalidConceptError, ProviderAuthError, ProviderRequestError),
    )


async def _requests(control: httpx.AsyncClient) -> int:
    stats = (await control.get("/_stats")).raise_for_status().json()
    return int(stats["requests"])


async def _set_mode(control: httpx.AsyncClient, mode: str) -> None:
    (await control.post("/_control", json={"mode": mode})).raise_for_status()


def _metric(name: str, b: Breaker, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, {"service": b.service, "breaker": b.name, **labels}) or 0.0


async def generate(breaker: Breaker, provider: ConceptProvider) -> Any:
    """One concept through the breaker, as the concept handler asks for it."""
    return await breaker.call(generate_valid_concept, provider, REQUEST, max_attempts=3)


async def test_five_server_errors_open_the_breaker_and_a_trial_after_the_timeout_closes_it(
    provider: ConceptProvider, control: httpx.AsyncClient
) -> None:
    breaker = _breaker(provider)
    await _set_mode(control, "500")

    for n in range(1, 6):
        with pytest.raises(ProviderServerError):
            await generate(breaker, provider)
        assert await _requests(control) == n
        assert breaker.state == ("open" if n == 5 else "closed")
    assert _metric("etsygen_circuit_breaker_state", breaker) == 2
    assert _metric("etsygen_circuit_breaker_calls_total", breaker, outcome="failure") == 5

    # Open: calls fail fast and never reach the server.
    for _ in range(3):
        with pytest.raises(BreakerOpenError) as rejected:
            await generate(breaker, provider)
        assert 0 < rejected.value.retry_after <= RESET_S
    assert await _requests(control) == 5
    assert _metric("etsygen_circuit_breaker_calls_total", breaker, outcome="rejected") == 3

    # The provider recovers; after the reset timeout one trial call goes through and closes the breaker.
    await _set_mode(control, "ok")
    await wait_until(lambda: breaker.state == "half-open", timeout=RESET_S + 5, what="the reset timeout")
    assert await _requests(control) == 5
    generated = await generate(breaker, provider)
    assert generated.report.valid
    assert await _requests(control) == 6
    assert breaker.state == "closed"
    assert _metric("etsygen_circuit_breaker_state", breaker) == 0
    assert _metric("etsygen_circuit_breaker_transitions_total", breaker, to="half-open") == 1
    assert _metric("etsygen_circuit_breaker_transitions_total", breaker, to="closed") == 1
    # Closed again: calls flow normally.
    await generate(breaker, provider)
    assert await _requests(control) == 7


async def test_a_failed_trial_reopens_it_and_the_handler_pauses_instead_of_failing(
    provider: ConceptProvider, control: httpx.AsyncClient
) -> None:
    breaker = _breaker(provider)
    handler = TrendScoredHandler(
        ConceptGeneration(
            provider, breaker, blocklist=BrandBlocklist.starter(), budget=AIBudget(), max_attempts=3
        ),
        ProductStore(DuplicateThresholds()),
    )
    trend = TrendScored(
        job_id="job-1", owner_id="owner-1", keyword="boho plant pot", score=0.9, confidence=0.8, risk="low"
    )
    await _set_mode(control, "500")
    for _ in range(5):
        with pytest.raises(ProviderServerError):
            await handler.prepare(trend)
    assert breaker.state == "open"

    # The concept handler does not fail the record while the breaker is open: it asks the consumer to pause.
    with pytest.raises(PauseConsumption) as pause:
        await handler.prepare(trend)
    assert 0.5 <= pause.value.seconds <= RESET_S
    assert await _requests(control) == 5

    # The trial call still fails: the breaker opens again for another timeout.
    await wait_until(lambda: breaker.state == "half-open", timeout=RESET_S + 5, what="the reset timeout")
    with pytest.raises(ProviderServerError):
        await handler.prepare(trend)
    assert await _requests(control) == 6
    assert breaker.state == "open"
    with pytest.raises(PauseConsumption):
        await handler.prepare(trend)
    assert await _requests(control) == 6

    await _set_mode(control, "ok")
    await wait_until(lambda: breaker.state == "half-open", timeout=RESET_S + 5, what="the reset timeout")
    (outcome,) = await handler.prepare(trend)
    assert outcome.concept is not None
    assert breaker.state == "closed"
    assert await _requests(control) == 7
