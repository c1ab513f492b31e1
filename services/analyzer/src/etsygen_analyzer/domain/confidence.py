"""How far to trust a score: four components of the evidence behind it, their weighted sum, and the risk
class that score and confidence make together."""

from __future__ import annotations

from etsygen_analyzer.domain.config import ConfidenceConfig, ConfidenceWeights
from etsygen_analyzer.domain.factors import unit_interval
from etsygen_analyzer.domain.inputs import NicheInputs
from etsygen_common.contracts.trends import Risk


def confidence_components(inputs: NicheInputs, config: ConfidenceConfig) -> dict[str, float]:
    """Data volume, sales evidence, rating coverage and price consistency, each in [0, 1]."""
    listing_count = inputs.listing_count
    sales = inputs.sales
    price_band = inputs.price_band
    if listing_count == 0:
        return {"volume": 0.0, "sales_evidence": 0.0, "ratings": 0.0, "price_consistency": 0.0}
    volume = listing_count / config.full_volume_listings
    if not volume < 1.0:
        volume = 1.0

    if sales is None:
        sales_evidence = 0.0
    elif sales.basis == "reviews":
        sample = config.review_sample_target
        sales_evidence = sales.listings_used / (sample if sample < listing_count else listing_count)
        if not sales_evidence < 1.0:
            sales_evidence = 1.0
    else:
        sales_evidence = config.fallback_sales_evidence

    # Interquartile range over the median: 0 when the middle half of prices agrees, growing with the spread.
    price_consistency = 0.0
    if price_band is not None and len(inputs.prices) >= 2 and price_band.median > 0:
        dispersion = (price_band.p75 - price_band.p25) / price_band.median
        price_consistency = 1.0 - dispersion / config.max_price_dispersion
        if not price_consistency > 0.0:
            price_consistency = 0.0

    return {
        "volume": volume,
        "sales_evidence": sales_evidence,
        "ratings": inputs.rating.coverage if inputs.rating is not None else 0.0,
        "price_consistency": price_consistency,
    }


def weighted_confidence(components: dict[str, float], weights: ConfidenceWeights) -> float:
    """The components' weighted sum, in [0, 1]."""
    return unit_interval(
        components["volume"] * weights.volume
        + components["sales_evidence"] * weights.sales_evidence
        + components["ratings"] * weights.ratings
        + components["price_consistency"] * weights.price_consistency
    )


def classify_risk(score: float, confidence: float) -> Risk:
    """``low`` when score > 0.7 and confidence > 0.7; ``medium`` when both > 0.5; otherwise ``high``."""
    if score > 0.7 and confidence > 0.7:
        return "low"
    if score > 0.5 and confidence > 0.5:
        return "medium"
    return "high"
