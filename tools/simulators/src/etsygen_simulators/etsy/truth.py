"""The hidden truth of a seeded synthetic market, and the opportunity each niche holds for a new seller.

Hidden: the simulator serves only what Etsy's API would show (listings, shops, reviews, ``count``); these
figures stay behind it. The benchmark reads them to check the analyzer against
(``bench/bench_opportunity.py``); no service imports this package (the simulators' boundary test holds that).

**The market of a seed.** Every niche of ``profiles`` has typical figures; a seed draws the niche's actual
ones around them (log-normal, from the seed's hash, so the same seed always draws the same market and
another seed a different one; seed 7 is the default catalogue, the benchmark's held-out market is another):

- ``demand``: buyer orders per month the niche takes at prices buyers accept;
- ``sellers``: shops competing in it, loosely following demand (sellers go where buyers are, not exactly);
- ``listings``: their active listings;
- price acceptance ``[accepted_low, accepted_high]``: the range buyers pay; a listing priced outside it
  loses demand (``acceptance``), and the sellers' own price level (``seller_price``) may sit off-centre;
- ``review_rate``: reviews per order in the niche's category (each shop varies around it);
- ``rating`` and ``concentration`` (how steeply orders fall from the top-ranked listing down).

**Opportunity** (:func:`opportunity`) is a seller's economics, defined from these variables alone and not
from any analyzer formula: a new seller entering the niche shares its demand equally with the competing
sellers (``demand / (sellers + 1)`` orders a month), at the price buyers accept nearest to what the niche's
sellers ask (``seller_price`` clamped into the accepted range), and keeps that price less Etsy's fees
(6.5 % transaction, 3 % + $0.25 payment processing, $0.20 listing renewal per sale). Its monthly net
revenue is the niche's opportunity; niches are ranked by it.
"""

from __future__ import annotations

import math
from functools import lru_cache

import msgspec

from etsygen_simulators.etsy.hashing import normal, unit
from etsygen_simulators.etsy.profiles import BUILT_IN_PROFILES, KeywordProfile

MAX_NICHE_LISTINGS = 100_000
"""Most listings a niche may hold (a listing id keeps its rank in 17 bits)."""
TRANSACTION_FEE = 0.065
PAYMENT_FEE_RATE = 0.03
PAYMENT_FEE_FIXED = 0.25
LISTING_FEE = 0.20
ACCEPTANCE_WIDTH = 1.6
"""Buyers accept prices from ``centre / width`` to ``centre * width``."""
ACCEPTANCE_DECAY = 0.3
"""Outside the accepted range demand falls as a gaussian in log-price with this sigma."""

# Salts of the drawn figures (independent of each other and of the per-listing salts of the catalogue).
_DEMAND, _SELLERS, _LISTINGS, _CENTRE, _ASK, _REVIEW_RATE, _RATING, _CONCENTRATION = range(100, 108)


class NicheTruth(msgspec.Struct, frozen=True, kw_only=True):
    """One niche's hidden figures in one seed's market."""

    keyword: str
    code: int
    """The niche's number in listing and shop ids."""
    demand: float
    """Buyer orders per month the niche takes at accepted prices."""
    sellers: int
    """Shops competing in the niche."""
    listings: int
    """Their active listings in the niche."""
    accepted_low: float
    accepted_high: float
    """The price range buyers pay (USD)."""
    seller_price: float
    """The median price the niche's sellers ask (USD)."""
    price_spread: float
    """Sigma of the log-normal spread of the sellers' prices."""
    review_rate: float
    """Reviews per order in the niche's category."""
    rating: float
    """Mean star rating of the niche's reviews."""
    concentration: float
    """Orders of the listing at rank r fall as ``(r + 1) ** -concentration``."""


class Opportunity(msgspec.Struct, frozen=True, kw_only=True):
    """What the niche holds for a new seller (see the module's definition)."""

    keyword: str
    monthly_orders: float
    """Orders a month a newcomer can expect: demand shared with the competing sellers."""
    price: float
    """The price it sells at: what sellers ask, clamped into what buyers accept."""
    net_per_order: float
    """That price less Etsy's fees."""
    monthly_net_revenue: float
    """``monthly_orders * net_per_order``: the opportunity niches are ranked by."""


def acceptance(truth: NicheTruth, price: float) -> float:
    """Share of demand a listing at ``price`` keeps: 1 inside the accepted range, less outside it."""
    if price <= 0:
        return 0.0
    if price < truth.accepted_low:
        distance = math.log(truth.accepted_low / price) / ACCEPTANCE_DECAY
    elif price > truth.accepted_high:
        distance = math.log(price / truth.accepted_high) / ACCEPTANCE_DECAY
    else:
        return 1.0
    return math.exp(-0.5 * distance * distance)


def _draw(seed: int, code: int, profile: KeywordProfile) -> NicheTruth:
    demand = profile.demand * math.exp(0.8 * normal(seed, code, _DEMAND))
    # Sellers follow demand only loosely: some niches are crowded for what they sell, others under-served.
    sellers = profile.shops * (demand / profile.demand) ** 0.3 * math.exp(0.6 * normal(seed, code, _SELLERS))
    per_seller = profile.supply / profile.shops * math.exp(0.35 * normal(seed, code, _LISTINGS))
    seller_count = max(5, round(sellers))
    listings = min(MAX_NICHE_LISTINGS, max(seller_count, round(seller_count * per_seller)))
    centre = profile.median_price * math.exp(0.2 * normal(seed, code, _CENTRE))
    return NicheTruth(
        keyword=profile.keyword,
        code=code,
        demand=demand,
        sellers=min(seller_count, listings),
        listings=listings,
        accepted_low=round(centre / ACCEPTANCE_WIDTH, 2),
        accepted_high=round(centre * ACCEPTANCE_WIDTH, 2),
        seller_price=round(centre * math.exp(0.25 * normal(seed, code, _ASK)), 2),
        price_spread=profile.price_spread,
        review_rate=min(0.45, max(0.05, 0.19 * math.exp(0.4 * normal(seed, code, _REVIEW_RATE)))),
        rating=min(4.97, max(3.8, profile.rating + 0.08 * normal(seed, code, _RATING))),
        concentration=0.55 + 0.4 * unit(seed, code, _CONCENTRATION),
    )


@lru_cache(maxsize=16)
def market(seed: int) -> tuple[NicheTruth, ...]:
    """Every niche's hidden figures in the market of ``seed``, in the order of ``BUILT_IN_PROFILES``."""
    return tuple(_draw(seed, code, profile) for code, profile in enumerate(BUILT_IN_PROFILES, start=1))


def niche_truth(seed: int, niche: str) -> NicheTruth:
    """The hidden figures of the niche named ``niche`` (its keyword) in the market of ``seed``."""
    for truth in market(seed):
        if truth.keyword == niche:
            return truth
    raise KeyError(f"no niche {niche!r} in the synthetic catalogue")


def net_per_order(price: float) -> float:
    """What a seller keeps of one order at ``price`` after Etsy's fees."""
    return price * (1 - TRANSACTION_FEE - PAYMENT_FEE_RATE) - PAYMENT_FEE_FIXED - LISTING_FEE


def opportunity(seed: int, niche: str) -> Opportunity:
    """The niche's opportunity for a new seller in the market of ``seed`` (see the module's definition)."""
    truth = niche_truth(seed, niche)
    orders = truth.demand / (truth.sellers + 1)
    price = min(truth.accepted_high, max(truth.accepted_low, truth.seller_price))
    net = net_per_order(price)
    return Opportunity(
        keyword=truth.keyword,
        monthly_orders=orders,
        price=price,
        net_per_order=net,
        monthly_net_revenue=orders * net,
    )
