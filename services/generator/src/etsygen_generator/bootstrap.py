"""The generator's composition root."""

from __future__ import annotations

from pathlib import Path

from etsygen_common import contracts
from etsygen_common.breaker import Breaker
from etsygen_common.runtime import ServiceRuntime
from etsygen_generator.adapters.etsy_drafts import EtsyDraftClient
from etsygen_generator.adapters.providers import (
    ProviderAuthError,
    ProviderConfig,
    ProviderRequestError,
    build_provider,
)
from etsygen_generator.domain.guards import AIBudget, BrandBlocklist, DuplicateThresholds
from etsygen_generator.handlers import PublishHandler, TrendScoredHandler
from etsygen_generator.metrics import SERVICE
from etsygen_generator.service_layer.concepts import ConceptGeneration
from etsygen_generator.service_layer.generation import InvalidConceptError
from etsygen_generator.service_layer.products import ProductStore
from etsygen_generator.service_layer.publishing import Publishing
from etsygen_generator.settings import GeneratorSettings

DEFAULT_PORT = 8103
MIGRATIONS = Path(__file__).parent / "migrations"


def load_settings() -> GeneratorSettings:
    """Read the generator's settings from the environment."""
    return GeneratorSettings.from_env()


def build_app(settings: GeneratorSettings) -> ServiceRuntime:
    """Wire the generator: provider behind its breaker, guards, concept and publishing consumers."""
    p = settings.provider
    provider = build_provider(
        p.provider,
        ProviderConfig(
            base_url=p.base_url,
            api_key=p.api_key,
            model=p.model,
            timeout_s=p.timeout_s,
            prompt_price_per_1k=p.prompt_price_per_1k,
            completion_price_per_1k=p.completion_price_per_1k,
        ),
    )
    breaker = Breaker(
        f"ai-{provider.name}",
        service=SERVICE,
        fail_max=p.breaker_fail_max,
        reset_timeout_s=p.breaker_reset_s,
        key_prefix=settings.common.redis.key_prefix,
        # Bad output and configuration errors are not the provider being down.
        exclude=(InvalidConceptError, ProviderAuthError, ProviderRequestError),
    )
    runtime = ServiceRuntime(
        name=SERVICE,
        settings=settings.common,
        migrations_dir=MIGRATIONS,
        default_port=DEFAULT_PORT,
        group="etsygen-generator",
        waiting_stage="generate",
    )
    g = settings.guards
    thresholds = DuplicateThresholds(
        title=g.duplicate_title, tags=g.duplicate_tags, combined=g.duplicate_combined
    )
    generation = ConceptGeneration(
        provider,
        breaker,
        blocklist=BrandBlocklist.starter(extra_terms=g.blocklist_extra, allowed_terms=g.blocklist_allowed),
        budget=AIBudget(
            max_tokens_per_day=g.daily_token_budget, max_cost_usd_per_day=g.daily_cost_budget_usd
        ),
        max_attempts=p.max_attempts,
        min_grade=g.min_grade,
        pool=runtime.late_pool,
        thresholds=thresholds,
    )
    store = ProductStore(thresholds)
    d = settings.drafts
    drafts = EtsyDraftClient(d.api_key, base_url=d.base_url) if d.api_key else None
    publishing = Publishing(
        drafts,
        user_id=d.seller_user_id,
        refresh_token=d.seller_refresh_token,
        taxonomy_id=d.taxonomy_id,
        pool=runtime.late_pool,
    )
    assert runtime.consumer is not None
    # A re-drive of a niche already generated re-emits its stored outcomes: no second AI call, no new product.
    runtime.consumer.subscribe(
        contracts.TRENDS_SCORED,
        contracts.TrendScored,
        TrendScoredHandler(generation, store),
        replay_redrives=True,
    )
    runtime.consumer.subscribe(
        contracts.PUBLISH_REQUESTED, contracts.PublishRequested, PublishHandler(publishing)
    )
    runtime.extra_topics.extend(
        [contracts.PRODUCTS_GENERATED, contracts.PRODUCTS_REJECTED, contracts.LISTINGS_PUBLISHED]
    )

    async def started(rt: ServiceRuntime) -> None:
        breaker.attach_redis(rt.redis)

    async def stopped(_rt: ServiceRuntime) -> None:
        await provider.aclose()
        if drafts is not None:
            await drafts.aclose()

    runtime.on_start.append(started)
    runtime.on_stop.append(stopped)
    return runtime
