"""Analyzer settings: the common sections plus where the scoring configuration lives."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, ClassVar

import msgspec

from etsygen_common.settings import CommonSettings, SettingsSection, doc, load_environ


class AnalyzerSection(SettingsSection, frozen=True, kw_only=True):
    """Scoring model configuration."""

    env_prefix: ClassVar[str] = "ANALYZER_"
    scoring_config: Annotated[
        str | None,
        doc("Path of a scoring TOML file (weights, bands, targets); unset uses the shipped default"),
    ] = None
    history_limit: Annotated[int, doc("Earlier snapshots read for momentum", ge=2, le=1000)] = 60
    trend_retention_days: Annotated[
        int, doc("Days of trend snapshots kept (the history momentum is computed from)", ge=1)
    ] = 365


class AnalyzerSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the analyzer reads from the environment."""

    common: CommonSettings
    analyzer: AnalyzerSection

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AnalyzerSettings:
        """Read and validate; raises SettingsError naming the variable."""
        environ = load_environ() if environ is None else environ
        return cls(common=CommonSettings.from_env(environ), analyzer=AnalyzerSection.from_env(environ))
