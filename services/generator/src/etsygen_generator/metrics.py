"""Generator metrics (declared in :mod:`etsygen_common.catalogue`; ``service`` is always ``generator``)."""

from __future__ import annotations

from typing import Final

from etsygen_common.catalogue import counter, histogram

SERVICE: Final = "generator"
OWNERS: Final = (SERVICE,)
PROVIDER: Final = "the concept provider's name (builtin, openai_compat, anthropic)"
ON_FIRST_CALL: Final = "Series appear with the first provider call."

PROVIDER_SECONDS = histogram(
    "etsygen_generator_provider_seconds",
    "AI provider call latency",
    unit="seconds",
    owners=OWNERS,
    labels={"provider": PROVIDER},
    note=ON_FIRST_CALL,
)
PROVIDER_ERRORS = counter(
    "etsygen_generator_provider_errors",
    "AI provider errors",
    unit="errors",
    owners=OWNERS,
    labels={"provider": PROVIDER, "type": "the class name of a ProviderError subclass of the generator"},
    note="Series appear with the first error of their type.",
)
TOKENS = counter(
    "etsygen_generator_tokens",
    "AI tokens used",
    unit="tokens",
    owners=OWNERS,
    labels={"provider": PROVIDER, "kind": "prompt or completion"},
    note=ON_FIRST_CALL,
)
COST = counter(
    "etsygen_generator_cost_usd",
    "AI cost in USD",
    unit="USD",
    owners=OWNERS,
    labels={"provider": PROVIDER},
    note=ON_FIRST_CALL,
)
PRODUCTS = counter(
    "etsygen_generator_products",
    "Concepts by outcome",
    unit="concepts",
    owners=OWNERS,
    labels={
        "outcome": "generated or rejected",
        "reason": "empty when generated; a RejectReason of etsygen_common.contracts.products when rejected",
    },
    note="Series appear with the first concept of their outcome and reason.",
)
LISTINGS_CREATED = counter(
    "etsygen_generator_listings_created",
    "Draft listings created on the marketplace",
    unit="listings",
    owners=OWNERS,
)
