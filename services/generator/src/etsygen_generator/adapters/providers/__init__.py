"""Concept providers: one async interface over the built-in composer and AI APIs.

The generator handler uses :func:`build_provider` and :func:`generate_valid_concept`; the rest is exported for
tests and typing.
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
from etsygen_generator.adapters.providers.loop import (
    DEFAULT_MAX_ATTEMPTS,
    GeneratedConcept,
    InvalidConceptError,
    generate_valid_concept,
)
from etsygen_generator.adapters.providers.openai_compat import OpenAICompatProvider

__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "PROVIDER_NAMES",
    "AnthropicProvider",
    "BuiltinProvider",
    "ConceptProvider",
    "ConceptRequest",
    "GeneratedConcept",
    "InvalidConceptError",
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
    "generate_valid_concept",
]
