"""What the HTTP providers send and how they read answers, without a network."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import msgspec
import pytest

from etsygen_generator.adapters.providers import (
    AnthropicProvider,
    BuiltinProvider,
    ConceptRequest,
    OpenAICompatProvider,
    ProviderBadOutput,
    ProviderConfig,
    build_provider,
)
from etsygen_generator.adapters.providers.prompting import (
    CONCEPT_JSON_SCHEMA,
    TOOL_NAME,
    decode_concept,
    extract_payload,
    user_message,
)
from etsygen_generator.adapters.providers.transport import parse_retry_after, token_cost
from etsygen_generator.domain.compose import NicheBrief, compose

NICHE = NicheBrief(keyword="boho plant pot", top_tags=["plant pot"], top_title_phrases=["boho pot"])


def test_user_message_carries_the_niche_for_the_model_and_the_fake_servers() -> None:
    message = user_message(ConceptRequest(niche=NICHE, variant=1))
    payload = extract_payload(message)
    assert payload is not None
    assert payload.niche == NICHE
    assert payload.variant == 1


def test_re_ask_message_lists_the_violations_and_previous_answer() -> None:
    previous = compose(NICHE)
    message = user_message(
        ConceptRequest(niche=NICHE, previous_violations=["title_empty (title): x"], previous_output=previous)
    )
    assert "- title_empty (title): x" in message
    assert "<previous>" in message


def test_schema_is_strict_mode_compatible() -> None:
    assert CONCEPT_JSON_SCHEMA["additionalProperties"] is False
    assert set(CONCEPT_JSON_SCHEMA["required"]) == set(CONCEPT_JSON_SCHEMA["properties"])


def test_decode_accepts_a_concept_in_a_code_fence() -> None:
    raw = msgspec.json.encode(compose(NICHE)).decode()
    assert decode_concept(f"```json\n{raw}\n```", provider="p") == compose(NICHE)


def test_decode_passes_unknown_who_made_through_for_the_validator() -> None:
    raw = {"title": "t", "tags": [], "description": "d", "who_made": "robot"}
    assert decode_concept(msgspec.json.encode(raw), provider="p").who_made == "robot"


@pytest.mark.parametrize(
    ("raw", "prefix"),
    [
        ('{"title": "t", "tags": [', "invalid JSON"),
        ('{"title": 1, "tags": [], "description": "d"}', "schema"),
    ],
)
def test_decode_failures_are_bad_output(raw: str, prefix: str) -> None:
    with pytest.raises(ProviderBadOutput) as caught:
        decode_concept(raw, provider="p")
    assert caught.value.reason.startswith(prefix)


def test_retry_after_reads_seconds_milliseconds_and_dates() -> None:
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after(httpx.Headers({"retry-after": "7"})) == 7.0
    assert parse_retry_after(httpx.Headers({"retry-after-ms": "1500", "retry-after": "9"})) == 1.5
    dated = httpx.Headers({"retry-after": "Wed, 01 Jan 2025 12:00:30 GMT"})
    assert parse_retry_after(dated, now=now) == 30.0
    assert parse_retry_after(httpx.Headers({})) is None
    assert parse_retry_after(httpx.Headers({"retry-after": "soon"})) is None


def test_token_cost_uses_per_1k_prices() -> None:
    assert token_cost(2000, 500, prompt_per_1k=0.01, completion_per_1k=0.03) == pytest.approx(0.035)


async def test_openai_request_uses_a_strict_json_schema_response_format() -> None:
    provider = OpenAICompatProvider(model="m", base_url="http://x/v1", api_key="k", temperature=0.2)
    body = provider.request_body(ConceptRequest(niche=NICHE))
    await provider.aclose()
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["strict"] is True
    assert body["response_format"]["json_schema"]["schema"] is CONCEPT_JSON_SCHEMA
    assert body["temperature"] == 0.2
    assert [m["role"] for m in body["messages"]] == ["system", "user"]


async def test_anthropic_request_forces_the_concept_tool() -> None:
    provider = AnthropicProvider(model="c", api_key="k", base_url="http://x")
    body = provider.request_body(ConceptRequest(niche=NICHE))
    await provider.aclose()
    assert body["tool_choice"] == {"type": "tool", "name": TOOL_NAME}
    assert body["tools"][0]["input_schema"] is CONCEPT_JSON_SCHEMA
    assert body["max_tokens"] == 2048


async def test_factory_builds_each_provider_and_resolves_aliases() -> None:
    assert isinstance(build_provider("builtin"), BuiltinProvider)
    local = build_provider("ollama", ProviderConfig(base_url="http://localhost:11434/v1", model="llama3.2"))
    assert isinstance(local, OpenAICompatProvider)
    assert local.model == "llama3.2"
    claude = build_provider("Anthropic", ProviderConfig(api_key="k"))
    assert isinstance(claude, AnthropicProvider)
    await local.aclose()
    await claude.aclose()


@pytest.mark.parametrize(
    ("name", "config", "message"),
    [
        ("gpt5000", ProviderConfig(), "unknown concept provider"),
        ("anthropic", ProviderConfig(), "api_key"),
        ("openai", ProviderConfig(), "api_key"),
    ],
)
def test_factory_fails_fast_on_bad_settings(name: str, config: ProviderConfig, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_provider(name, config)
