"""Build a concept provider by name from plain settings."""

from __future__ import annotations

from typing import Final

import httpx
import msgspec

from etsygen_generator.adapters.providers import anthropic, openai_compat
from etsygen_generator.adapters.providers.anthropic import AnthropicProvider
from etsygen_generator.adapters.providers.base import ConceptProvider
from etsygen_generator.adapters.providers.builtin import BuiltinProvider
from etsygen_generator.adapters.providers.openai_compat import OpenAICompatProvider

PROVIDER_NAMES: Final = ("builtin", "openai_compat", "anthropic")
# Other names people use for the same protocols; all OpenAI-compatible servers share one client.
PROVIDER_ALIASES: Final = {"openai": "openai_compat", "ollama": "openai_compat", "vllm": "openai_compat"}
DEFAULT_MODELS: Final = {"openai_compat": "gpt-4o-mini", "anthropic": "claude-3-5-haiku-latest"}


class ProviderConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Settings for one provider; unset fields take the provider's defaults."""

    base_url: str | None = None
    """API root: ``.../v1`` for OpenAI-compatible servers, the host root for Anthropic."""
    api_key: str | None = None
    """Secret key; optional for local OpenAI-compatible servers, required for Anthropic."""
    model: str | None = None
    """Model name; defaults per provider in ``DEFAULT_MODELS``."""
    timeout_s: float = 30.0
    """Per-call timeout in seconds."""
    prompt_price_per_1k: float = 0.0
    """USD per 1,000 prompt (input) tokens, for cost accounting."""
    completion_price_per_1k: float = 0.0
    """USD per 1,000 completion (output) tokens, for cost accounting."""
    max_output_tokens: int | None = None
    """Cap on output tokens (Anthropic requires one and defaults to 2048)."""
    temperature: float | None = None
    """Sampling temperature; omitted from the request when unset (some models reject it)."""


def canonical_provider_name(name: str) -> str:
    """``name`` resolved through aliases; raises ``ValueError`` naming the valid choices."""
    key = name.strip().lower()
    key = PROVIDER_ALIASES.get(key, key)
    if key not in PROVIDER_NAMES:
        choices = ", ".join([*PROVIDER_NAMES, *PROVIDER_ALIASES])
        raise ValueError(f"unknown concept provider {name!r}; choose one of {choices}")
    return key


def build_provider(
    name: str, config: ProviderConfig | None = None, *, client: httpx.AsyncClient | None = None
) -> ConceptProvider:
    """The provider called ``name`` configured from ``config``.

    ``client`` lets the caller share one HTTP connection pool; without it the provider makes its own and
    closes it in ``aclose()``.

    Raises:
        ValueError: unknown name, or a setting the provider cannot work without.
    """
    settings = config or ProviderConfig()
    kind = canonical_provider_name(name)
    if kind == "builtin":
        return BuiltinProvider()
    model = settings.model or DEFAULT_MODELS[kind]
    if kind == "anthropic":
        if not settings.api_key:
            raise ValueError("the anthropic provider needs an API key (ProviderConfig.api_key)")
        return AnthropicProvider(
            model=model,
            api_key=settings.api_key,
            base_url=settings.base_url or anthropic.DEFAULT_BASE_URL,
            prompt_price_per_1k=settings.prompt_price_per_1k,
            completion_price_per_1k=settings.completion_price_per_1k,
            timeout_s=settings.timeout_s,
            max_output_tokens=settings.max_output_tokens or 2048,
            temperature=settings.temperature,
            client=client,
        )
    base_url = settings.base_url or openai_compat.DEFAULT_BASE_URL
    if base_url == openai_compat.DEFAULT_BASE_URL and not settings.api_key:
        raise ValueError(
            "the OpenAI API needs an API key (ProviderConfig.api_key); local servers need a base_url"
        )
    return OpenAICompatProvider(
        model=model,
        base_url=base_url,
        api_key=settings.api_key,
        prompt_price_per_1k=settings.prompt_price_per_1k,
        completion_price_per_1k=settings.completion_price_per_1k,
        timeout_s=settings.timeout_s,
        temperature=settings.temperature,
        max_output_tokens=settings.max_output_tokens,
        client=client,
    )
