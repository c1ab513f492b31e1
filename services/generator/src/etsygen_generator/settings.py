"""Generator settings: the common sections, the AI provider, guards, budgets and Etsy drafts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, ClassVar, Literal

import msgspec

from etsygen_common.settings import CommonSettings, SettingsSection, doc, env, load_environ


class ProviderSection(SettingsSection, frozen=True, kw_only=True):
    """Which AI provider makes concepts and how it is reached."""

    env_prefix: ClassVar[str] = "AI_"
    provider: Annotated[
        Literal["builtin", "openai", "openai_compat", "ollama", "vllm", "anthropic"],
        env(
            "AI_PROVIDER",
            "Concept provider: builtin (no network), openai (any compatible server) or anthropic",
        ),
    ] = "builtin"
    base_url: Annotated[
        str | None, doc("Provider API root (OpenAI-compatible: .../v1); unset uses the default")
    ] = None
    api_key: Annotated[str | None, doc("Provider API key (required for anthropic)")] = None
    model: Annotated[str | None, doc("Model name; unset uses the provider's default")] = None
    timeout_s: Annotated[float, doc("Per-call timeout in seconds", gt=0)] = 30.0
    prompt_price_per_1k: Annotated[float, doc("USD per 1,000 prompt tokens (cost accounting)", ge=0)] = 0.0
    completion_price_per_1k: Annotated[float, doc("USD per 1,000 completion tokens", ge=0)] = 0.0
    max_attempts: Annotated[int, doc("Attempts per concept when output fails validation", ge=1, le=10)] = 3
    breaker_fail_max: Annotated[int, doc("Consecutive failures that open the provider's breaker", ge=1)] = 5
    breaker_reset_s: Annotated[float, doc("Seconds the provider's breaker stays open", gt=0)] = 60.0


class GuardSection(SettingsSection, frozen=True, kw_only=True):
    """Brand blocklist, near-duplicate thresholds and per-owner AI budgets."""

    env_prefix: ClassVar[str] = "GENERATOR_"
    blocklist_extra: Annotated[
        list[str], doc("Comma-separated brand terms to block besides the starter list")
    ] = msgspec.field(default_factory=list)
    blocklist_allowed: Annotated[list[str], doc("Comma-separated starter-list terms to allow (licensed)")] = (
        msgspec.field(default_factory=list)
    )
    duplicate_title: Annotated[
        float, doc("Title similarity that alone marks a near-duplicate", ge=0, le=1)
    ] = 0.8
    duplicate_tags: Annotated[
        float, doc("Tag-set similarity that alone marks a near-duplicate", ge=0, le=1)
    ] = 0.8
    duplicate_combined: Annotated[float, doc("Similarity both must reach together", ge=0, le=1)] = 0.6
    min_grade: Annotated[
        Literal["A", "B", "C", "D", "F"],
        doc("Lowest listing-quality grade a concept may have; below it is repaired, re-asked or rejected"),
    ] = "B"
    daily_token_budget: Annotated[
        Annotated[int, msgspec.Meta(ge=0)] | None, doc("AI tokens per owner per day; unset means no limit")
    ] = None
    daily_cost_budget_usd: Annotated[
        Annotated[float, msgspec.Meta(ge=0)] | None, doc("AI cost per owner per day in USD; unset: no limit")
    ] = None


class DraftSection(SettingsSection, frozen=True, kw_only=True):
    """Creating draft listings on Etsy (OAuth 2 seller credentials)."""

    env_prefix: ClassVar[str] = "ETSY_"
    base_url: Annotated[str, doc("Etsy API origin; the simulator's URL in development")] = (
        "https://openapi.etsy.com"
    )
    api_key: Annotated[
        Annotated[str, msgspec.Meta(pattern=r"^[^:\s]+:[^:\s]+$")] | None,
        env("ETSY_API_KEY", "Etsy app credentials as keystring:shared_secret; unset disables publishing"),
    ] = None
    seller_user_id: Annotated[
        int | None, doc("Numeric Etsy user id of the seller whose shop gets drafts")
    ] = None
    seller_refresh_token: Annotated[str | None, doc("The seller's OAuth refresh token (90 days)")] = None
    taxonomy_id: Annotated[int, doc("Default Etsy taxonomy id for drafts without a suggestion", ge=1)] = 1


class GeneratorSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the generator reads from the environment."""

    common: CommonSettings
    provider: ProviderSection
    guards: GuardSection
    drafts: DraftSection

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GeneratorSettings:
        """Read and validate; raises SettingsError naming the variable."""
        environ = load_environ() if environ is None else environ
        return cls(
            common=CommonSettings.from_env(environ),
            provider=ProviderSection.from_env(environ),
            guards=GuardSection.from_env(environ),
            drafts=DraftSection.from_env(environ),
        )
