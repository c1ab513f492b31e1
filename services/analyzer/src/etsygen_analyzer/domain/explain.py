"""What each factor's input means for a seller, in words, with numbers rounded for people.

"about 3 active listings per monthly sale: little competition" rather than "listings per sale = 1.455
scores 0.03". The words follow the factor's value, so an explanation never contradicts its score; the
figures come from the shared formatter (:mod:`etsygen_common.numbers`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import msgspec

from etsygen_analyzer.domain.config import ScoringConfig
from etsygen_analyzer.domain.estimates import SalesEstimate
from etsygen_analyzer.domain.inputs import MAX_RATING
from etsygen_common.contracts.trends import FactorScore
from etsygen_common.numbers import human_money, human_number, human_share

__all__ = ["ExplanationContext", "explain_factor", "explain_factors"]

_STRONG = 0.75
"""A factor value at or above this reads as good news for the seller."""
_WEAK = 0.25
"""At or below this, as bad news."""


class ExplanationContext(msgspec.Struct, frozen=True, kw_only=True):
    """What an explanation needs besides the factor: the config's bands and the evidence behind inputs."""

    config: ScoringConfig
    currency: str
    sales: SalesEstimate | None
    median_price: float | None
    """The niche's median price, at which the sales-velocity factor values a newcomer's sales."""
    supply_measured: bool
    """False when the supply is Etsy's count scaled to the relevant share (an estimate)."""
    relevant_share: float
    """Share of the fetched listings about the keyword, in [0, 1]."""


def explain_factors(factors: Sequence[FactorScore], context: ExplanationContext) -> list[FactorScore]:
    """The factors with their ``explanation`` filled in (one this module does not know is kept as is)."""
    return [
        msgspec.structs.replace(factor, explanation=explain_factor(factor, context))
        if factor.name in _EXPLAINERS
        else factor
        for factor in factors
    ]


def explain_factor(factor: FactorScore, context: ExplanationContext) -> str:
    """One factor's explanation for a seller; "" for a factor this module does not know."""
    explainer = _EXPLAINERS.get(factor.name)
    return explainer(factor, context) if explainer is not None else ""


def _level(value: float, good: str, middling: str, bad: str) -> str:
    if value >= _STRONG:
        return good
    return bad if value <= _WEAK else middling


def _price(factor: FactorScore, context: ExplanationContext) -> str:
    price = factor.input
    if price is None:
        return "no prices to judge the niche's price level by"
    band = context.config.price
    sweet_spot = (
        f"{human_money(band.sweet_spot_low, context.currency)}\u2013"
        f"{human_money(band.sweet_spot_high, context.currency)}"
    )
    typical = f"typical price {human_money(price, context.currency)}"
    if price < band.sweet_spot_low:
        return f"{typical}: below the {sweet_spot} sweet spot, a thin margin on each sale"
    if price > band.sweet_spot_high:
        return f"{typical}: above the {sweet_spot} sweet spot, fewer buyers at that price"
    return f"{typical}: inside the {sweet_spot} sweet spot buyers pay"


def _sales_velocity(factor: FactorScore, context: ExplanationContext) -> str:
    sales = context.sales
    if sales is None:
        return "no sales evidence: demand unknown"
    if not sales.mid > 0:
        return "no estimated sales in the window: no demand seen"
    revenue = factor.input
    median_price = context.median_price
    if revenue is None or median_price is None or not median_price > 0:
        return "no prices: what a new shop could earn from the demand is unknown"
    demand = _level(
        factor.value,
        "strong demand for a newcomer",
        "some demand for a newcomer",
        "weak demand for a newcomer",
    )
    newcomer_sales = revenue / median_price
    # The factor's input is sales.mid / (shops + 1) * median price; the shops follow back from it.
    shops = sales.mid / newcomer_sales - 1.0 if newcomer_sales > 0 else 0.0
    listings = "listing" if sales.listings_used == 1 else "listings"
    shop_word = "shop" if human_number(shops) == "1" else "shops"
    return (
        f"the top {sales.listings_used} {listings} sell about {human_number(sales.mid)} a month; shared "
        f"with about {human_number(shops)} competing {shop_word}, a new shop's part is "
        f"{human_number(newcomer_sales)} sales, about {human_money(revenue, context.currency)} a month at "
        f"{human_money(median_price, context.currency)}: {demand}"
    )


def _rating(factor: FactorScore, context: ExplanationContext) -> str:
    rating = factor.input
    if rating is None:
        return "no ratings: buyer satisfaction unknown"
    verdict = _level(
        factor.value,
        "buyers are happy with what this niche sells",
        "buyers are mostly satisfied",
        "buyers are often disappointed: room for better quality",
    )
    return f"buyers rate these listings {human_number(rating)} of {human_number(MAX_RATING)}: {verdict}"


def _competition(factor: FactorScore, context: ExplanationContext) -> str:
    ratio = factor.input
    if ratio is None:
        if context.sales is None:
            return "no demand estimate: competition per sale unknown"
        return "no estimated sales: listings compete for no sales seen"
    crowding = _level(
        factor.value, "little competition", "some competition", "crowded: many listings share each sale"
    )
    listings = "listing" if human_number(ratio) == "1" else "listings"
    return f"about {human_number(ratio)} active {listings} per monthly sale: {crowding}"


def _market_size(factor: FactorScore, context: ExplanationContext) -> str:
    count = factor.input
    if count is None or not count > 0:
        return "no active listings match: no market seen"
    size = _level(factor.value, "a large market", "a mid-sized market", "a small market")
    scaled = (
        ""
        if context.supply_measured
        else f" (Etsy's count scaled to the {human_share(context.relevant_share)} of listings about it)"
    )
    return f"about {human_number(count)} active listings about the keyword{scaled}: {size}"


_EXPLAINERS: Mapping[str, Callable[[FactorScore, ExplanationContext], str]] = {
    "price": _price,
    "sales_velocity": _sales_velocity,
    "rating": _rating,
    "competition": _competition,
    "market_size": _market_size,
}
