"""Scraper settings: the common sections plus the Etsy API and fetch tuning."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, ClassVar

import msgspec

from etsygen_common.settings import CommonSettings, SettingsSection, doc, env, load_environ


class EtsySettings(SettingsSection, frozen=True, kw_only=True):
    """Etsy Open API v3 access (or the marketplace simulator, by base URL)."""

    env_prefix: ClassVar[str] = "ETSY_"
    api_key: Annotated[
        str,
        env("ETSY_API_KEY", "Etsy app credentials as keystring:shared_secret (sent as x-api-key)"),
        msgspec.Meta(pattern=r"^[^:\s]+:[^:\s]+$"),
    ]
    base_url: Annotated[str, doc("Etsy API origin; the simulator's URL in development")] = (
        "https://openapi.etsy.com"
    )
    per_second: Annotated[
        int, doc("Ceiling on requests per second (Etsy's default app limit is 10)", ge=1)
    ] = 10
    timeout_s: Annotated[float, doc("Per-request timeout in seconds", gt=0)] = 20.0
    breaker_fail_max: Annotated[int, doc("Consecutive failures that open the Etsy circuit breaker", ge=1)] = 5
    breaker_reset_s: Annotated[
        float, doc("Seconds the Etsy breaker stays open before a trial call", gt=0)
    ] = 60.0


class ScraperSection(SettingsSection, frozen=True, kw_only=True):
    """What the scraper fetches per keyword."""

    env_prefix: ClassVar[str] = "SCRAPER_"
    top_n_reviews: Annotated[
        int, doc("Top listings per keyword whose windowed reviews are counted", ge=0)
    ] = 20
    review_window_days: Annotated[int, doc("Review window for the demand signal, in days", ge=1, le=365)] = 30
    budget_pause_s: Annotated[
        float, doc("How long consumption pauses when Etsy's daily budget is exhausted, in seconds", gt=0)
    ] = 300.0
    snapshot_retention_days: Annotated[
        int,
        doc(
            "Days of listing/shop snapshots and scrape runs kept; a month of listing snapshots is dropped "
            "whole once its last day is past this",
            ge=1,
        ),
    ] = 90


class ScraperSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the scraper reads from the environment."""

    common: CommonSettings
    etsy: EtsySettings
    scraper: ScraperSection

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ScraperSettings:
        """Read and validate; raises SettingsError naming the variable."""
        environ = load_environ() if environ is None else environ
        return cls(
            common=CommonSettings.from_env(environ),
            etsy=EtsySettings.from_env(environ),
            scraper=ScraperSection.from_env(environ),
        )
