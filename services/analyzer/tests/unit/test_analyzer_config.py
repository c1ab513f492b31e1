"""Scoring configuration: the shipped file is valid, and a bad one names its key."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest

from etsygen_analyzer.domain.config import (
    ScoringConfigError,
    default_config,
    default_config_text,
    load_scoring_config,
    scoring_config_from_dict,
)

DEFAULT_DATA: dict[str, Any] = tomllib.loads(default_config_text())


def _with(section: str, key: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(DEFAULT_DATA)
    target = data
    for part in section.split("."):
        target = target[part]
    target[key] = value
    return data


def _error_for(data: dict[str, Any]) -> ScoringConfigError:
    with pytest.raises(ScoringConfigError) as caught:
        scoring_config_from_dict(data)
    return caught.value


def test_shipped_config_has_the_documented_weights() -> None:
    weights = default_config().weights
    assert (
        weights.price,
        weights.sales_velocity,
        weights.rating,
        weights.competition,
        weights.market_size,
    ) == (
        0.25,
        0.30,
        0.20,
        0.15,
        0.10,
    )


def test_shipped_config_has_the_documented_bands_and_review_rate() -> None:
    config = default_config()
    assert (config.price.sweet_spot_low, config.price.sweet_spot_high) == (20.0, 80.0)
    competition = config.competition
    assert (competition.comfortable_listings_per_sale, competition.crowded_listings_per_sale) == (20.0, 60.0)
    assert config.review_rate.default == 0.19
    assert config.rating.exponent > 1


def test_loading_the_shipped_file_from_a_path_gives_the_default(tmp_path: Path) -> None:
    path = tmp_path / "scoring.toml"
    path.write_text(default_config_text(), encoding="utf-8")
    assert load_scoring_config(path) == default_config()


def test_weights_that_do_not_sum_to_one_are_rejected() -> None:
    error = _error_for(_with("weights", "price", 0.35))
    assert error.key == "weights"
    assert str(error).startswith("weights: must sum to 1")


def test_weights_within_the_tolerance_are_accepted() -> None:
    config = scoring_config_from_dict(_with("weights", "price", 0.25 + 5e-7))
    assert config.weights.price == 0.25 + 5e-7


def test_a_negative_weight_names_its_key() -> None:
    data = _with("weights", "price", -0.05)
    data["weights"]["sales_velocity"] = 0.60
    assert _error_for(data).key == "weights.price"


def test_a_value_of_the_wrong_type_names_its_key() -> None:
    error = _error_for(_with("weights", "price", "a quarter"))
    assert error.key == "weights.price"
    assert str(error).startswith("weights.price: ")


def test_an_unknown_key_is_rejected_by_name() -> None:
    assert _error_for(_with("price", "sweet_spot_hgh", 90.0)).key == "price.sweet_spot_hgh"


def test_a_missing_key_is_rejected_by_name() -> None:
    data = copy.deepcopy(DEFAULT_DATA)
    del data["rating"]["exponent"]
    assert _error_for(data).key == "rating.exponent"


def test_a_price_sweet_spot_out_of_order_is_rejected() -> None:
    error = _error_for(_with("price", "sweet_spot_high", 10.0))
    assert error.key == "price.sweet_spot_high"
    assert "price.sweet_spot_low" in str(error)


def test_a_competition_band_out_of_order_is_rejected() -> None:
    error = _error_for(_with("competition", "comfortable_listings_per_sale", 70.0))
    assert error.key == "competition.crowded_listings_per_sale"


def test_a_sales_velocity_band_out_of_order_is_rejected() -> None:
    error = _error_for(_with("sales_velocity", "floor_monthly_revenue", 100.0))
    assert error.key == "sales_velocity.target_monthly_revenue"


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("sales_velocity", "floor_monthly_revenue", 0),
        ("sales_velocity", "target_monthly_revenue", 0),
        ("market_size", "saturation_count", -1),
        ("price", "decay_below", 0.0),
        ("price", "decay_above", -1.0),
        ("competition", "crowded_listings_per_sale", float("nan")),
        ("relevance", "min_relevant_listings", 0),
        ("momentum", "min_span_days", 0.0),
        ("confidence", "full_volume_listings", 0),
    ],
)
def test_targets_must_be_positive(section: str, key: str, value: float) -> None:
    assert _error_for(_with(section, key, value)).key == f"{section}.{key}"


@pytest.mark.parametrize("exponent", [1.0, 0.5])
def test_rating_exponent_must_exceed_one(exponent: float) -> None:
    assert _error_for(_with("rating", "exponent", exponent)).key == "rating.exponent"


def test_review_rate_must_be_a_rate() -> None:
    assert _error_for(_with("review_rate", "default", 1.5)).key == "review_rate.default"


def test_a_review_rate_override_applies_to_its_taxonomy() -> None:
    config = scoring_config_from_dict(_with("review_rate", "by_taxonomy", {"1156": 0.12}))
    assert config.review_rate.rate_for(1156) == 0.12
    assert config.review_rate.rate_for(69) == 0.19
    assert config.review_rate.rate_for(None) == 0.19


def test_a_review_rate_override_with_a_bad_taxonomy_id_names_it() -> None:
    assert (
        _error_for(_with("review_rate", "by_taxonomy", {"mugs": 0.12})).key == "review_rate.by_taxonomy.mugs"
    )


def test_a_review_rate_override_out_of_range_names_it() -> None:
    assert (
        _error_for(_with("review_rate", "by_taxonomy", {"1156": 0.0})).key == "review_rate.by_taxonomy.1156"
    )


@pytest.mark.parametrize(
    ("key", "value"), [("min_term_share", 0.0), ("min_term_share", 1.5), ("min_relevant_share", 2.0)]
)
def test_relevance_shares_must_be_shares(key: str, value: float) -> None:
    assert _error_for(_with("relevance", key, value)).key == f"relevance.{key}"


def test_momentum_needs_at_least_two_snapshots() -> None:
    assert _error_for(_with("momentum", "min_snapshots", 1)).key == "momentum.min_snapshots"


def test_confidence_weights_must_sum_to_one() -> None:
    assert _error_for(_with("confidence.weights", "volume", 0.5)).key == "confidence.weights"


def test_a_file_that_is_not_toml_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "scoring.toml"
    path.write_text("[weights\nprice = ", encoding="utf-8")
    with pytest.raises(ScoringConfigError, match="not valid TOML"):
        load_scoring_config(path)


def test_a_missing_file_is_rejected_with_its_path(tmp_path: Path) -> None:
    with pytest.raises(ScoringConfigError, match="cannot read scoring config"):
        load_scoring_config(tmp_path / "absent.toml")
