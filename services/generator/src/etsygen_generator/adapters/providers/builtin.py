"""The built-in provider: composes concepts from the niche's own data, with no network and no cost."""

from __future__ import annotations

import time
from typing import Final

from etsygen_generator.adapters.providers.base import ConceptRequest, ProviderResult
from etsygen_generator.domain.compose import compose

BUILTIN_MODEL: Final = "compose-v1"


class BuiltinProvider:
    """Wraps :func:`~etsygen_generator.domain.compose.compose` in the provider interface."""

    billable = False

    def __init__(self, *, name: str = "builtin", model: str = BUILTIN_MODEL) -> None:
        self.name = name
        self.model = model

    async def generate(self, request: ConceptRequest) -> ProviderResult:
        """Compose the requested variant; previous violations are moot, composed concepts always validate."""
        started = time.perf_counter()
        concept = compose(request.niche, variant=request.variant)
        latency_ms = (time.perf_counter() - started) * 1000
        return ProviderResult(concept=concept, provider=self.name, model=self.model, latency_ms=latency_ms)

    async def aclose(self) -> None:
        """Nothing to release."""
