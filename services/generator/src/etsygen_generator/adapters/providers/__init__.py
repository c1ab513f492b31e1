"""Concept providers: one async interface over the built-in composer and AI APIs.

The composition root uses :func:`build_provider`; the service layer calls a provider only through
:func:`etsygen_generator.service_layer.generation.generate_valid_concept`. The rest is exported for tests and
typing.
"""

from etsygen_generator.adapters.providers.anthropic import AnthropicProvider
from etsygen_generator.adapters.providers.base import (
    ConceptProvider,
    ConceptRequest,
    ProviderAuthError,
    ProviderBadOutput,
    ProviderError,
    ProviderRateLimited,
    ProviderRequestError,
    ProviderResult,
    ProviderServerError,
    ProviderTimeout,
)
from etsygen_generator.adapters.providers.builtin import BuiltinProvider
from etsygen_generator.adapters.providers.factory import (
    PROVIDER_NAMES,
    ProviderConfig,
    build_provider,
    canonical_provider_name,
)
from etsygen_generator.adapters.providers.openai_compat import OpenAICompatProvider

__all__ = [
    "PROVIDER_NAMES",
    "AnthropicProvider",
    "BuiltinProvider",
    "ConceptProvider",
    "ConceptRequest",
    "OpenAICompatProvider",
    "ProviderAuthError",
    "ProviderBadOutput",
    "ProviderConfig",
    "ProviderError",
    "ProviderRateLimited",
    "ProviderRequestError",
    "ProviderResult",
    "ProviderServerError",
    "ProviderTimeout",
    "build_provider",
    "canonical_provider_name",
]
