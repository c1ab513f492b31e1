"""The five factors, each a function of one plain number in [0, 1], so "why this score" can show exactly what
went in; and the weighted score they make together.

On the scoring path ``x if x < 1.0 else 1.0`` stands in for ``min(1.0, x)`` (same result, NaN and ties
included): CPython 3.11's builtin ``min``/``max`` parse keyword arguments on every call and cost about ten
comparisons each.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from etsygen_analyzer.domain.config import (
    CompetitionConfig,
    MarketSizeConfig,
    PriceConfig,
    RatingConfig,
    SalesVelocityConfig,
    ScoringConfig,
)
from etsygen_analyzer.domain.estimates import SalesEstimate
from etsygen_analyzer.domain.inputs import MAX_RATING, NicheInputs
from etsygen_common.contracts.trends import FactorScore


def price_factor(median_price: float | None, config: PriceConfig) -> float:
    """Price factor. Input: the niche's median listing price (currency units).

    Shape: 1.0 inside ``[sweet_spot_low, sweet_spot_high]``; outside, a gaussian in log-price measured from
    the nearest edge, with sigma ``decay_below`` under the sweet spot and ``decay_above`` over it. The
    shipped decay is steeper below: a cheap item leaves a thin margin after fees and materials, while buyers
    who pay a higher price already show in the niche's sales. No price gives 0.
    """
    if median_price is None or not 0 < median_price < math.inf:
        return 0.0
    return _log_band(
        median_price, config.sweet_spot_low, config.sweet_spot_high, config.decay_below, config.decay_above
    )


def sales_velocity_factor(newcomer_revenue: float | None, config: SalesVelocityConfig) -> float:
    """Sales-velocity factor, as what a new shop can win. Input: its monthly revenue (currency units): the
    top listings' estimated monthly sales shared among the competing shops plus the newcomer, at the median
    price (:attr:`NicheInputs.newcomer_revenue`).

    Shape: ``ln(revenue / floor_monthly_revenue) / ln(target_monthly_revenue / floor_monthly_revenue)``,
    0 at or below the floor and capped at 1 from the target on: each tenfold adds the same. Monotone in
    the input. No sales evidence or no price gives 0.
    """
    floor = config.floor_monthly_revenue
    if newcomer_revenue is None or not newcomer_revenue > floor:  # None, nan, at or below the floor
        return 0.0
    target = config.target_monthly_revenue
    if newcomer_revenue >= target:
        return 1.0
    return math.log(newcomer_revenue / floor) / math.log(target / floor)


def rating_factor(rating: float | None, config: RatingConfig) -> float:
    """Quality factor. Input: the review-weighted average rating on Etsy's 0-5 scale.

    Shape: ``(rating / 5) ** exponent`` with ``exponent > 1``, so the gap between 4.5 and 5 weighs more than
    a linear scale would. No rating gives 0.
    """
    if rating is None or not rating > 0:
        return 0.0
    return math.pow((MAX_RATING if rating > MAX_RATING else rating) / MAX_RATING, config.exponent)


def competition_factor(listings_per_sale: float | None, config: CompetitionConfig) -> float:
    """Competition factor. Input: relevant active listings per estimated monthly sale of the top listings.

    The unit reads "how many competing listings share each sale": supply relative to demand, a different
    signal from market size (supply alone). Monotone: fewer listings per sale is never worse. Shape: 1.0 at
    or below ``comfortable_listings_per_sale`` (competition does not hurt yet), 0.0 at or above
    ``crowded_listings_per_sale`` (as crowded as it gets), and between them a smooth step (``3t² - 2t³``) in
    the log of the ratio, flat at both ends. No supply at all reads 1.0. Whether there is demand is the
    sales-velocity factor's and the confidence's question: an unknown ratio (no demand estimate, or zero
    sales, which makes the ratio infinite) gives 0, the crowded end.
    """
    if listings_per_sale is None or not listings_per_sale < math.inf:  # None, inf, nan
        return 0.0
    comfortable = config.comfortable_listings_per_sale
    if listings_per_sale <= comfortable:
        return 1.0
    crowded = config.crowded_listings_per_sale
    if listings_per_sale >= crowded:
        return 0.0
    t = math.log(listings_per_sale / comfortable) / math.log(crowded / comfortable)
    return 1.0 - t * t * (3.0 - 2.0 * t)


def market_size_factor(total_count: int, config: MarketSizeConfig) -> float:
    """Market-size factor. Input: total active listings matching the keyword (Etsy ``count``).

    Shape: ``ln(1 + count) / ln(1 + saturation_count)``, capped at 1. An empty market gives 0.
    """
    if total_count <= 0:
        return 0.0
    size = math.log1p(total_count) / math.log1p(config.saturation_count)
    return size if size < 1.0 else 1.0


def _log_band(value: float, low: float, high: float, sigma_below: float, sigma_above: float) -> float:
    if value < low:
        distance = math.log(low / value) / sigma_below
    elif value > high:
        distance = math.log(value / high) / sigma_above
    else:
        return 1.0
    return math.exp(-0.5 * distance * distance)


def niche_factors(inputs: NicheInputs, config: ScoringConfig) -> list[FactorScore]:
    """The five factors of one keyword, each with its weight and the input it was computed from."""
    median_price = inputs.median_price
    sales = inputs.sales
    newcomer_revenue = inputs.newcomer_revenue
    rating = inputs.rating
    rating_input = rating.rating if rating is not None else None
    listings_per_sale = inputs.listings_per_sale
    supply = inputs.supply
    weights = config.weights
    return [
        FactorScore(
            name="price",
            value=price_factor(median_price, config.price),
            weight=weights.price,
            input=median_price,
            input_label=f"median price ({inputs.currency})" if median_price is not None else "no prices",
            measured=median_price is not None,
        ),
        FactorScore(
            name="sales_velocity",
            value=sales_velocity_factor(newcomer_revenue, config.sales_velocity),
            weight=weights.sales_velocity,
            input=newcomer_revenue,
            input_label=_sales_label(sales, inputs.currency),
            measured=False,
        ),
        FactorScore(
            name="rating",
            value=rating_factor(rating_input, config.rating),
            weight=weights.rating,
            input=rating_input,
            input_label=_RATING_LABELS[rating.source if rating is not None else None],
            measured=rating is not None,
        ),
        FactorScore(
            name="competition",
            value=competition_factor(listings_per_sale, config.competition),
            weight=weights.competition,
            input=listings_per_sale,
            input_label=_competition_label(sales, listings_per_sale),
            measured=False,
        ),
        FactorScore(
            name="market_size",
            value=market_size_factor(supply, config.market_size),
            weight=weights.market_size,
            input=float(supply),
            input_label=(
                "active listings matching the keyword (Etsy count)"
                if inputs.supply_measured
                else "active listings about the keyword (Etsy count x relevant share)"
            ),
            measured=inputs.supply_measured,
        ),
    ]


def weighted_score(factors: Sequence[FactorScore]) -> float:
    """The factors' weighted sum in [0, 1] (``fsum`` is exactly rounded: no dependence on order)."""
    return unit_interval(math.fsum([factor.value * factor.weight for factor in factors]))


def unit_interval(value: float) -> float:
    """``min(1.0, max(0.0, value))``, NaN included (it gives 0.0), without the builtins' argument parsing."""
    if not value > 0.0:
        value = 0.0
    return value if value < 1.0 else 1.0


_RATING_LABELS: Mapping[str | None, str] = {
    "listings": "review-weighted average rating of the listings",
    "shops": "review-count-weighted rating of the listings' shops (no listing ratings)",
    None: "no ratings",
}


def _competition_label(sales: SalesEstimate | None, listings_per_sale: float | None) -> str:
    if listings_per_sale is not None:
        return "active listings about the keyword per estimated monthly sale of the top listings"
    if sales is None:
        return "no demand estimate: listings per sale unknown"
    return "zero estimated monthly sales: listings per sale unbounded"


def _sales_label(sales: SalesEstimate | None, currency: str) -> str:
    if sales is None:
        return "no sales evidence"
    basis = "windowed reviews ÷ review rate" if sales.basis == "reviews" else "fallback: shop lifetime sales"
    return (
        f"a new shop's monthly revenue ({currency}): the top listings' estimated sales ({basis}) shared "
        "among the competing shops plus the newcomer, at the median price"
    )
