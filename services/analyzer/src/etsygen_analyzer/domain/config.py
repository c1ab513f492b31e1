"""Scoring configuration: the typed form of ``scoring.toml`` and its validation.

Every weight, band and target of the niche score is read from one TOML file. The Structs here carry no
defaults on purpose, so the file shipped in the package is the only place a default lives.
"""

from __future__ import annotations

import math
import re
import tomllib
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import msgspec

__all__ = [
    "CompetitionConfig",
    "ConfidenceConfig",
    "ConfidenceWeights",
    "MarketSizeConfig",
    "MomentumConfig",
    "PriceConfig",
    "RatingConfig",
    "RelevanceConfig",
    "ReviewRateConfig",
    "SalesFallbackConfig",
    "SalesVelocityConfig",
    "ScoringConfig",
    "ScoringConfigError",
    "TextConfig",
    "Weights",
    "default_config",
    "default_config_text",
    "load_scoring_config",
    "scoring_config_from_dict",
]

_WEIGHT_TOLERANCE = 1e-6


class ScoringConfigError(ValueError):
    """The scoring configuration is invalid; ``key`` is the dotted path of the offending entry."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}" if key else problem)
        self.key = key
        self.problem = problem


class _Section(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of every config section: unknown keys are typos and are rejected."""


class Weights(_Section, frozen=True, kw_only=True):
    """Factor weights of the weighted sum; they add up to 1."""

    price: float
    sales_velocity: float
    rating: float
    competition: float
    market_size: float


class PriceConfig(_Section, frozen=True, kw_only=True):
    """Price sweet spot (currency units) and the gaussian decay below and above it (sigmas in ln-price)."""

    sweet_spot_low: float
    sweet_spot_high: float
    decay_below: float
    decay_above: float


class SalesVelocityConfig(_Section, frozen=True, kw_only=True):
    """Monthly revenue a new shop can win (its share of the top listings' sales at the median price, in
    currency units): at or below ``floor_monthly_revenue`` the velocity factor is 0, at or above
    ``target_monthly_revenue`` it saturates at 1, logarithmic between."""

    floor_monthly_revenue: float
    target_monthly_revenue: float


class RatingConfig(_Section, frozen=True, kw_only=True):
    """Exponent ``k > 1`` of ``(rating / 5) ** k``."""

    exponent: float


class CompetitionConfig(_Section, frozen=True, kw_only=True):
    """Listings per estimated monthly sale at which competition starts to hurt, and at which it is as bad as
    it gets."""

    comfortable_listings_per_sale: float
    crowded_listings_per_sale: float


class MarketSizeConfig(_Section, frozen=True, kw_only=True):
    """Total matching listings at which the market-size factor saturates."""

    saturation_count: float


class ReviewRateConfig(_Section, frozen=True, kw_only=True, dict=True):
    """Reviews per order, its plausible spread, and per-taxonomy overrides.

    ``dict=True`` gives instances a ``__dict__`` for :attr:`plausible_rates`, worked out once per config.
    """

    default: float
    spread_low: float
    spread_high: float
    by_taxonomy: dict[int, float]

    @cached_property
    def plausible_rates(self) -> str:
        """The range of review rates the sales estimates divide by, as shown to people ("0.133 to 0.266")."""
        return f"{self.default * self.spread_low:.3g} to {self.default * self.spread_high:.3g}"

    def rate_for(self, taxonomy_id: int | None) -> float:
        """Return the reviews-per-order rate for a taxonomy id (the default when not overridden)."""
        if taxonomy_id is None:
            return self.default
        return self.by_taxonomy.get(taxonomy_id, self.default)


class SalesFallbackConfig(_Section, frozen=True, kw_only=True):
    """Shop-based sales fallback: assumed listing age when unknown, and its (wide) spread."""

    default_listing_age_months: float
    spread_low: float
    spread_high: float


class MomentumConfig(_Section, frozen=True, kw_only=True):
    """Minimum history for a momentum figure."""

    min_snapshots: int
    min_span_days: float


class ConfidenceWeights(_Section, frozen=True, kw_only=True):
    """Weights of the four confidence components; they add up to 1."""

    volume: float
    sales_evidence: float
    ratings: float
    price_consistency: float


class ConfidenceConfig(_Section, frozen=True, kw_only=True):
    """Targets of the confidence components and their weights."""

    full_volume_listings: int
    review_sample_target: int
    fallback_sales_evidence: float
    max_price_dispersion: float
    weights: ConfidenceWeights


class RelevanceConfig(_Section, frozen=True, kw_only=True):
    """When a listing is about the keyword, and how much relevant evidence a score needs."""

    min_term_share: float
    min_relevant_listings: int
    min_relevant_share: float


class TextConfig(_Section, frozen=True, kw_only=True):
    """How many top tags and title phrases to report."""

    top_tags: int
    top_phrases: int
    min_phrase_listings: int


class ScoringConfig(_Section, frozen=True, kw_only=True):
    """Everything the niche score depends on, as loaded from ``scoring.toml``."""

    weights: Weights
    price: PriceConfig
    sales_velocity: SalesVelocityConfig
    rating: RatingConfig
    competition: CompetitionConfig
    market_size: MarketSizeConfig
    review_rate: ReviewRateConfig
    sales_fallback: SalesFallbackConfig
    momentum: MomentumConfig
    confidence: ConfidenceConfig
    relevance: RelevanceConfig
    text: TextConfig


def default_config_text() -> str:
    """Return the text of the ``scoring.toml`` shipped in the package."""
    return resources.files("etsygen_analyzer").joinpath("scoring.toml").read_text(encoding="utf-8")


@cache
def default_config() -> ScoringConfig:
    """Return the validated default configuration shipped in the package (parsed once)."""
    return _parse(default_config_text(), source="scoring.toml (package default)")


def load_scoring_config(path: str | Path) -> ScoringConfig:
    """Read and validate a scoring configuration file.

    Raises:
        ScoringConfigError: the file is missing, is not TOML, or holds a bad value; the message starts with
            the dotted key at fault (``weights.price: ...``).
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ScoringConfigError("", f"cannot read scoring config {path}: {exc.strerror or exc}") from exc
    return _parse(text, source=str(path))


def scoring_config_from_dict(data: dict[str, Any]) -> ScoringConfig:
    """Validate an already-parsed configuration mapping (the shape of ``scoring.toml``).

    Raises:
        ScoringConfigError: a key is missing, unknown, of the wrong type or out of range.
    """
    prepared = _with_integer_taxonomy_keys(data)
    try:
        config = msgspec.convert(prepared, ScoringConfig)
    except msgspec.ValidationError as exc:
        key, problem = _split_validation_message(str(exc))
        raise ScoringConfigError(key, problem) from exc
    _validate(config)
    return config


def _parse(text: str, *, source: str) -> ScoringConfig:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScoringConfigError("", f"{source} is not valid TOML: {exc}") from exc
    return scoring_config_from_dict(data)


def _with_integer_taxonomy_keys(data: dict[str, Any]) -> dict[str, Any]:
    """TOML keys are strings; taxonomy ids are integers. Convert them, naming any key that is not one."""
    review_rate = data.get("review_rate")
    if not isinstance(review_rate, dict) or not isinstance(review_rate.get("by_taxonomy"), dict):
        return data
    converted: dict[int, Any] = {}
    for raw_key, rate in review_rate["by_taxonomy"].items():
        key = f"review_rate.by_taxonomy.{raw_key}"
        try:
            taxonomy_id = int(raw_key)
        except ValueError:
            raise ScoringConfigError(key, "taxonomy ids must be integers") from None
        if isinstance(rate, bool) or not isinstance(rate, int | float):
            raise ScoringConfigError(key, f"expected a number of reviews per order, got {rate!r}")
        converted[taxonomy_id] = rate
    return {**data, "review_rate": {**review_rate, "by_taxonomy": converted}}


_AT_PATH = re.compile(r"^(?P<message>.*?)(?: - at `(?:key in )?(?P<path>\$[^`]*)`)?$", re.DOTALL)
_NAMED_FIELD = re.compile(r"(?:unknown|required) field `(?P<field>[^`]+)`")


def _split_validation_message(message: str) -> tuple[str, str]:
    """Split msgspec's ``"Expected `float`, got `str` - at `$.weights.price`"`` into key and problem."""
    match = _AT_PATH.match(message)
    problem = match.group("message") if match else message
    path = (match.group("path") if match else None) or "$"
    # "[...]" is msgspec's marker for "some item of this collection"; keep it out of the dotted split.
    parts = [part for part in path.removeprefix("$").replace("[...]", "").split(".") if part]
    field = _NAMED_FIELD.search(problem)
    if field:
        parts.append(field.group("field"))
    return ".".join(parts), problem


def _validate(config: ScoringConfig) -> None:
    """Range and consistency checks msgspec's types cannot express."""
    _check_sums_to_one("weights", msgspec.structs.asdict(config.weights))

    price = config.price
    _check_positive("price.sweet_spot_low", price.sweet_spot_low)
    _check_positive("price.sweet_spot_high", price.sweet_spot_high)
    _check_ordered(
        "price.sweet_spot_low", price.sweet_spot_low, "price.sweet_spot_high", price.sweet_spot_high
    )
    _check_positive("price.decay_below", price.decay_below)
    _check_positive("price.decay_above", price.decay_above)

    velocity = config.sales_velocity
    _check_positive_band(
        "sales_velocity",
        ("floor_monthly_revenue", velocity.floor_monthly_revenue),
        ("target_monthly_revenue", velocity.target_monthly_revenue),
    )

    exponent = config.rating.exponent
    if not math.isfinite(exponent) or exponent <= 1:
        raise ScoringConfigError(
            "rating.exponent", f"must be greater than 1 (a non-linear boost), got {exponent}"
        )

    competition = config.competition
    _check_positive_band(
        "competition",
        ("comfortable_listings_per_sale", competition.comfortable_listings_per_sale),
        ("crowded_listings_per_sale", competition.crowded_listings_per_sale),
    )

    _check_positive("market_size.saturation_count", config.market_size.saturation_count)

    review_rate = config.review_rate
    _check_rate("review_rate.default", review_rate.default)
    for taxonomy_id, rate in review_rate.by_taxonomy.items():
        _check_rate(f"review_rate.by_taxonomy.{taxonomy_id}", rate)
    _check_spread("review_rate", review_rate.spread_low, review_rate.spread_high)

    fallback = config.sales_fallback
    _check_positive("sales_fallback.default_listing_age_months", fallback.default_listing_age_months)
    _check_spread("sales_fallback", fallback.spread_low, fallback.spread_high)

    momentum = config.momentum
    if momentum.min_snapshots < 2:
        raise ScoringConfigError(
            "momentum.min_snapshots",
            f"must be at least 2 (a change needs two points), got {momentum.min_snapshots}",
        )
    _check_positive("momentum.min_span_days", momentum.min_span_days)

    confidence = config.confidence
    _check_positive("confidence.full_volume_listings", confidence.full_volume_listings)
    _check_positive("confidence.review_sample_target", confidence.review_sample_target)
    _check_unit_interval("confidence.fallback_sales_evidence", confidence.fallback_sales_evidence)
    _check_positive("confidence.max_price_dispersion", confidence.max_price_dispersion)
    _check_sums_to_one("confidence.weights", msgspec.structs.asdict(confidence.weights))

    relevance = config.relevance
    if not math.isfinite(relevance.min_term_share) or not 0 < relevance.min_term_share <= 1:
        raise ScoringConfigError(
            "relevance.min_term_share", f"must be in (0, 1], got {relevance.min_term_share}"
        )
    _check_positive("relevance.min_relevant_listings", relevance.min_relevant_listings)
    _check_unit_interval("relevance.min_relevant_share", relevance.min_relevant_share)

    text = config.text
    _check_positive("text.top_tags", text.top_tags)
    _check_positive("text.top_phrases", text.top_phrases)
    _check_positive("text.min_phrase_listings", text.min_phrase_listings)


def _check_positive(key: str, value: float) -> None:
    if not math.isfinite(value) or value <= 0:
        raise ScoringConfigError(key, f"must be a positive number, got {value}")


def _check_positive_band(section: str, low: tuple[str, float], high: tuple[str, float]) -> None:
    """Both ends of a band positive, the low end below the high one (keys named ``section.name``)."""
    low_key, high_key = f"{section}.{low[0]}", f"{section}.{high[0]}"
    _check_positive(low_key, low[1])
    _check_positive(high_key, high[1])
    _check_ordered(low_key, low[1], high_key, high[1])


def _check_unit_interval(key: str, value: float) -> None:
    if not math.isfinite(value) or not 0 <= value <= 1:
        raise ScoringConfigError(key, f"must be between 0 and 1, got {value}")


def _check_rate(key: str, value: float) -> None:
    if not math.isfinite(value) or not 0 < value <= 1:
        raise ScoringConfigError(key, f"must be a rate of reviews per order in (0, 1], got {value}")


def _check_ordered(low_key: str, low: float, high_key: str, high: float) -> None:
    if not low < high:
        raise ScoringConfigError(high_key, f"must be greater than {low_key} ({low}), got {high}")


def _check_spread(section: str, low: float, high: float) -> None:
    if not math.isfinite(low) or not 0 < low <= 1:
        raise ScoringConfigError(f"{section}.spread_low", f"must be in (0, 1], got {low}")
    if not math.isfinite(high) or high < 1:
        raise ScoringConfigError(f"{section}.spread_high", f"must be at least 1, got {high}")


def _check_sums_to_one(section: str, weights: dict[str, Any]) -> None:
    for name, weight in weights.items():
        if not math.isfinite(weight) or weight < 0:
            raise ScoringConfigError(f"{section}.{name}", f"must be a non-negative weight, got {weight}")
    total = math.fsum(weights.values())
    if abs(total - 1.0) > _WEIGHT_TOLERANCE:
        raise ScoringConfigError(section, f"must sum to 1 (tolerance {_WEIGHT_TOLERANCE:g}), got {total:.6f}")
