"""The price suggestion every provider's concept gets: the niche's median, kept inside its middle half."""

from __future__ import annotations

import math
from typing import Final

from etsygen_common.contracts.base import Money
from etsygen_common.contracts.products import PriceSuggestion
from etsygen_common.contracts.trends import PriceBand

DEFAULT_PRICE: Final = Money(amount=24.99, currency="USD")


def _usable_band(band: PriceBand | None) -> PriceBand | None:
    if band is None:
        return None
    values = (band.p25, band.median, band.p75)
    if not all(math.isfinite(value) for value in values) or max(values) <= 0:
        return None
    low, high = sorted((band.p25, band.p75))
    return PriceBand(p25=max(low, 0.0), median=band.median, p75=high, currency=band.currency)


def _charm_price(target: float, low: float, high: float) -> float:
    """A price ending in .99 near ``target`` if one lies inside ``[low, high]``, else ``target`` in cents."""
    for candidate in (math.floor(target) + 0.99, math.floor(target) - 0.01):
        if low <= candidate <= high and candidate > 0:
            return round(candidate, 2)
    cents = round(target, 2)
    return cents if low <= cents <= high else target


def suggest_price(band: PriceBand | None, *, fallback: Money = DEFAULT_PRICE) -> PriceSuggestion:
    """Suggest the niche's median price (as a .99 price where one fits), never outside its p25-p75 band.

    Without a usable band (missing, non-finite or non-positive) the fallback price is suggested and the
    rationale says there was no evidence.
    """
    usable = _usable_band(band)
    if usable is None:
        return PriceSuggestion(
            price=fallback,
            band=None,
            rationale=(
                f"No price band for this niche; default price {fallback.amount:.2f} {fallback.currency}."
            ),
        )
    target = min(max(usable.median, usable.p25), usable.p75)
    price = _charm_price(target, usable.p25, usable.p75)
    return PriceSuggestion(
        price=Money(amount=price, currency=usable.currency),
        band=band,
        rationale=(
            f"Niche median {usable.median:.2f} {usable.currency} within its middle half "
            f"{usable.p25:.2f}-{usable.p75:.2f}; suggested {price:.2f}."
        ),
    )
