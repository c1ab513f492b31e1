"""Niche score: a weighted sum of five factors in [0, 1], with confidence, risk and the evidence behind it.

The five factor functions take one plain number each, so "why this score" can show exactly what went in.
:func:`score_niche` gathers those numbers from one keyword's scraped data and puts everything together.
Pure: no I/O and no clock (the caller says when the data was observed).

The analyzer scores many keywords per research job, so the scorer reads each listing once in one loop (after
the de-duplication check), sorts once, and touches shops only when a fallback needs them. On that path
``x if x < 1.0 else 1.0`` stands in for ``min(1.0, x)`` (same result, NaN and ties included): CPython 3.11's
builtin ``min``/``max`` parse keyword arguments on every call and cost about ten comparisons each.
"""

from __future__ import annotations

import bisect
import math
import operator
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

import msgspec

from etsygen_analyzer.domain.config import (
    CompetitionConfig,
    ConfidenceConfig,
    MarketSizeConfig,
    PriceConfig,
    RatingConfig,
    SalesVelocityConfig,
    ScoringConfig,
)
from etsygen_analyzer.domain.estimates import (
    SalesEstimate,
    build_estimates,
    sales_from_review_counts,
    sales_from_shop_sales,
)
from etsygen_analyzer.domain.momentum import HistoryPoint, compute_momentum
from etsygen_analyzer.domain.text import top_tags, top_title_phrases
from etsygen_common.contracts.listings import ListingSample, ListingsScraped, ShopSample
from etsygen_common.contracts.trends import Estimate, FactorScore, Momentum, PriceBand, Risk

__all__ = [
    "NicheAssessment",
    "NicheScore",
    "RatingEvidence",
    "classify_risk",
    "competition_factor",
    "compute_niche_score",
    "listing_rating",
    "market_size_factor",
    "price_factor",
    "rating_factor",
    "sales_velocity_factor",
    "score_niche",
    "shop_rating",
    "unique_listings",
    "unique_shops",
]

_MAX_RATING = 5.0


class RatingEvidence(msgspec.Struct, frozen=True, kw_only=True):
    """The niche's review-weighted rating and how much of the sample it covers."""

    rating: float
    """Weighted average on Etsy's 0-5 scale."""
    source: Literal["listings", "shops"]
    """``listings``: the listings' own windowed ratings; ``shops``: shop review averages (fallback)."""
    coverage: float
    """Share of the sample the rating speaks for, in [0, 1] (the ratings component of confidence)."""


class NicheScore(msgspec.Struct, frozen=True, kw_only=True):
    """The numbers the analyzer concludes about one keyword: score, confidence, risk and their evidence."""

    score: float
    confidence: float
    risk: Risk
    factors: list[FactorScore]
    confidence_components: dict[str, float]
    """The four confidence components (volume, sales_evidence, ratings, price_consistency), each in [0, 1]."""
    estimates: list[Estimate]
    sales: SalesEstimate | None
    price_band: PriceBand | None
    momentum: Momentum
    listing_count: int
    """Unique listings scored (after de-duplication by listing id)."""
    total_count: int
    """Etsy's ``count`` as received."""
    snapshot: HistoryPoint
    """This observation, to be stored as history for later momentum."""


class NicheAssessment(NicheScore, frozen=True, kw_only=True):
    """A :class:`NicheScore` plus the generator's text evidence; maps one-to-one onto ``TrendScored``."""

    top_tags: list[str]
    top_title_phrases: list[str]


# --- the five factors -------------------------------------------------------------------------------------


def price_factor(median_price: float | None, config: PriceConfig) -> float:
    """Price factor. Input: the niche's median listing price (currency units).

    Shape: 1.0 inside ``[sweet_spot_low, sweet_spot_high]``; outside, a gaussian in log-price with sigma
    ``decay`` measured from the nearest edge, so halving and doubling cost the same. No price gives 0.
    """
    if median_price is None or not 0 < median_price < math.inf:
        return 0.0
    return _log_band(median_price, config.sweet_spot_low, config.sweet_spot_high, config.decay, config.decay)


def sales_velocity_factor(monthly_sales: float | None, config: SalesVelocityConfig) -> float:
    """Sales-velocity factor. Input: estimated monthly sales summed over the sampled top listings.

    Shape: ``ln(1 + sales) / ln(1 + target_monthly_sales)``, capped at 1: each doubling adds about the same,
    and anything at or above the target saturates. No sales evidence gives 0.
    """
    if monthly_sales is None or not monthly_sales > 0:
        return 0.0
    velocity = math.log1p(monthly_sales) / math.log1p(config.target_monthly_sales)
    return velocity if velocity < 1.0 else 1.0


def rating_factor(rating: float | None, config: RatingConfig) -> float:
    """Quality factor. Input: the review-weighted average rating on Etsy's 0-5 scale.

    Shape: ``(rating / 5) ** exponent`` with ``exponent > 1``, so the gap between 4.5 and 5 weighs more than
    a linear scale would. No rating gives 0.
    """
    if rating is None or not rating > 0:
        return 0.0
    return math.pow((_MAX_RATING if rating > _MAX_RATING else rating) / _MAX_RATING, config.exponent)


def competition_factor(listings_per_sale: float | None, config: CompetitionConfig) -> float:
    """Competition factor. Input: active matching listings (Etsy ``count``) per estimated monthly sale.

    The sale figure is the estimated monthly sales of the sampled top listings, so the unit reads "how many
    competing listings share each sale the leaders make": supply relative to demand, a different signal from
    market size (supply alone). Shape: 1.0 inside ``[optimal_low, optimal_high]``; outside, a gaussian in the
    log of the ratio with sigma ``decay_above`` (crowded for its demand) or ``decay_below`` (demand out of
    line with supply: a handful of outliers or too few sellers to trust). Unknown or zero demand gives 0.
    """
    if listings_per_sale is None or not 0 < listings_per_sale < math.inf:
        return 0.0
    return _log_band(
        listings_per_sale, config.optimal_low, config.optimal_high, config.decay_below, config.decay_above
    )


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


# --- risk ---------------------------------------------------------------------------------------------------


def classify_risk(score: float, confidence: float) -> Risk:
    """``low`` when score > 0.7 and confidence > 0.7; ``medium`` when both > 0.5; otherwise ``high``."""
    if score > 0.7 and confidence > 0.7:
        return "low"
    if score > 0.5 and confidence > 0.5:
        return "medium"
    return "high"


# --- evidence gathering -------------------------------------------------------------------------------------


def unique_listings(listings: Sequence[ListingSample]) -> Sequence[ListingSample]:
    """One snapshot per listing id, in first-seen order.

    When the same id appears with different data, the snapshot carrying more optional data wins, and between
    equally complete ones the greater encoded form, so which snapshot is kept never depends on input order.
    Everything computed from the result is order-independent too (sorted prices, counted tags, exactly
    rounded sums), so neither position nor repetition of a listing changes a score.
    """
    if len({listing.listing_id for listing in listings}) == len(listings):
        return listings
    chosen: dict[int, ListingSample] = {}
    for listing in listings:
        seen = chosen.setdefault(listing.listing_id, listing)
        if seen is not listing and seen != listing:
            chosen[listing.listing_id] = max(seen, listing, key=_listing_preference)
    return list(chosen.values())


def unique_shops(shops: Sequence[ShopSample]) -> dict[int, ShopSample]:
    """Shops by id, one per id (the same tie-break as :func:`unique_listings`)."""
    shop_ids = [shop.shop_id for shop in shops]
    if len(set(shop_ids)) == len(shop_ids):
        return dict(zip(shop_ids, shops, strict=True))
    chosen: dict[int, ShopSample] = {}
    for shop in shops:
        seen = chosen.setdefault(shop.shop_id, shop)
        if seen is not shop and seen != shop:
            chosen[shop.shop_id] = max(seen, shop, key=_shop_preference)
    return chosen


def _listing_preference(listing: ListingSample) -> tuple[int, bytes]:
    present = sum(
        value is not None
        for value in (
            listing.reviews_in_window,
            listing.rating,
            listing.created_at,
            listing.views,
            listing.taxonomy_id,
        )
    )
    return present + len(listing.tags), msgspec.json.encode(listing)


def _shop_preference(shop: ShopSample) -> tuple[int, bytes]:
    return int(shop.review_average is not None) + int(shop.review_count > 0), msgspec.json.encode(shop)


def listing_rating(listings: Sequence[ListingSample], review_sample_target: int) -> RatingEvidence | None:
    """Average of the listings' own (windowed) ratings, weighted by their windowed review counts (at least 1).

    Coverage is the rated listings over the review sample the scraper aims for (``review_sample_target``, or
    every listing when there are fewer). None when no listing has a rating on the 0-5 scale.
    """
    rated = [listing for listing in listings if listing.rating is not None]
    average = _weighted_rating(rated)
    if not 0 <= average <= _MAX_RATING:
        # Rare: some rating is off the 0-5 scale (or nan). Drop those and average again.
        rated = [listing for listing in rated if 0 <= (listing.rating or 0.0) <= _MAX_RATING]
        average = _weighted_rating(rated)
    if not rated:
        return None
    coverage = min(1.0, len(rated) / min(len(listings), review_sample_target))
    return RatingEvidence(rating=average, source="listings", coverage=coverage)


def _listing_rating_from_sums(
    weighted_ratings: list[float],
    weight_total: int,
    listings: Sequence[ListingSample],
    review_sample_target: int,
) -> RatingEvidence | None:
    """:func:`listing_rating` from the scorer's own pass: each rated listing's rating times its weight.

    Falls back to :func:`listing_rating` itself when the average is off the 0-5 scale. Products of a zero
    rating differ from the ``rating or 0.0`` of :func:`_weighted_rating` only in the sign of zero, which
    ``fsum`` does not keep, so both give the same average.
    """
    if not weighted_ratings:
        return None
    average = math.fsum(weighted_ratings) / weight_total
    if not 0 <= average <= _MAX_RATING:
        return listing_rating(listings, review_sample_target)
    listing_count = len(listings)
    coverage = len(weighted_ratings) / (
        review_sample_target if review_sample_target < listing_count else listing_count
    )
    return RatingEvidence(rating=average, source="listings", coverage=coverage if coverage < 1.0 else 1.0)


def _weighted_rating(rated: Sequence[ListingSample]) -> float:
    if not rated:
        return 0.0
    ratings = [listing.rating or 0.0 for listing in rated]
    weights = [listing.reviews_in_window or 1 for listing in rated]
    # fsum is exactly rounded, so the average does not depend on listing order.
    return math.fsum(map(operator.mul, ratings, weights)) / sum(weights)


def shop_rating(listings: Sequence[ListingSample], shops: Mapping[int, ShopSample]) -> RatingEvidence | None:
    """Fallback: the listings' shops' review averages, weighted by each shop's review count, each shop once.

    Coverage is the share of listings whose shop has a rating. None when no shop has one.
    """
    shop_ids = [listing.shop_id for listing in listings]
    rated_shops = {
        shop_id: shop
        for shop_id, shop in shops.items()
        if shop.review_count > 0
        and shop.review_average is not None
        and 0 <= shop.review_average <= _MAX_RATING
    }
    covered = sum(map(rated_shops.__contains__, shop_ids))
    if not covered:
        return None
    used = [rated_shops[shop_id] for shop_id in rated_shops.keys() & set(shop_ids)]
    weighted = math.fsum((shop.review_average or 0.0) * shop.review_count for shop in used)
    weight_total = sum(shop.review_count for shop in used)
    return RatingEvidence(rating=weighted / weight_total, source="shops", coverage=covered / len(shop_ids))


def _prices_in_main_currency(listings: Sequence[ListingSample]) -> tuple[str, list[float]]:
    """Sorted positive, finite prices in the most common currency (ties: alphabetical), and that currency."""
    by_currency: dict[str, list[float]] = {}
    for listing in listings:
        price = listing.price
        by_currency.setdefault(price.currency, []).append(price.amount)
    if not by_currency:
        return "USD", []
    currency, prices = min(by_currency.items(), key=lambda item: (-len(item[1]), item[0]))
    prices.sort()
    return currency, _usable_prices(prices)


def _usable_prices(sorted_prices: list[float]) -> list[float]:
    """The positive, finite ones of already sorted prices (the list itself when all are)."""
    prices = sorted_prices
    # The sum is finite only when no price is inf or nan, so the usual case costs one C-level sum.
    if not math.isfinite(sum(prices)):
        prices = sorted(price for price in prices if math.isfinite(price))
    if prices and prices[0] <= 0:
        prices = prices[bisect.bisect_right(prices, 0.0) :]
    return prices


def _quantile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolation quantile of an already sorted, non-empty sequence."""
    last = len(sorted_values) - 1
    position = last * q
    index = int(position)
    fraction = position - index
    if fraction == 0 or index >= last:
        return sorted_values[index]
    low = sorted_values[index]
    return low + (sorted_values[index + 1] - low) * fraction


def _confidence_components(
    *,
    listing_count: int,
    sales: SalesEstimate | None,
    rating: RatingEvidence | None,
    price_band: PriceBand | None,
    price_count: int,
    config: ConfidenceConfig,
) -> dict[str, float]:
    """Data volume, sales evidence, rating coverage and price consistency, each in [0, 1]."""
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
    if price_band is not None and price_count >= 2 and price_band.median > 0:
        dispersion = (price_band.p75 - price_band.p25) / price_band.median
        price_consistency = 1.0 - dispersion / config.max_price_dispersion
        if not price_consistency > 0.0:
            price_consistency = 0.0

    return {
        "volume": volume,
        "sales_evidence": sales_evidence,
        "ratings": rating.coverage if rating is not None else 0.0,
        "price_consistency": price_consistency,
    }


# --- the assessment -----------------------------------------------------------------------------------------


def score_niche(
    scraped: ListingsScraped,
    config: ScoringConfig,
    history: Iterable[HistoryPoint] = (),
    *,
    observed_at: float,
) -> NicheAssessment:
    """Score one keyword's niche and collect its text evidence (what the analyzer handler calls).

    Args:
        scraped: the scraper's event (only listings, shops, total_count and review_window_days are read).
        config: weights, bands and targets (see ``scoring.toml``).
        history: earlier snapshots of the same keyword on the same marketplace, for momentum.
        observed_at: unix seconds when the data was fetched; dates this snapshot and ages listings.

    Listings are de-duplicated by id first, so neither order nor repetition changes the result.
    """
    listings = unique_listings(scraped.listings)
    numbers = _score_unique(listings, scraped, config, history, observed_at)
    text = config.text
    return NicheAssessment(
        **msgspec.structs.asdict(numbers),
        top_tags=top_tags(listings, text.top_tags),
        top_title_phrases=top_title_phrases(listings, text.top_phrases, text.min_phrase_listings),
    )


def compute_niche_score(
    scraped: ListingsScraped,
    config: ScoringConfig,
    history: Iterable[HistoryPoint] = (),
    *,
    observed_at: float,
) -> NicheScore:
    """The numeric part of :func:`score_niche` alone (no tags or title phrases); same arguments."""
    return _score_unique(unique_listings(scraped.listings), scraped, config, history, observed_at)


def _score_unique(
    listings: Sequence[ListingSample],
    scraped: ListingsScraped,
    config: ScoringConfig,
    history: Iterable[HistoryPoint],
    observed_at: float,
) -> NicheScore:
    listing_count = len(listings)
    # Etsy's count should cover every listing we hold; if it does not, trust what we hold.
    total_count = scraped.total_count
    supply = listing_count if listing_count > total_count else total_count

    # One pass over the listings gathers what the usual keyword needs: prices, windowed review counts and
    # review-weighted ratings. Mixed currencies, off-scale ratings and the shop fallbacks are rare and make
    # their own passes below.
    amounts: list[float] = []
    add_amount = amounts.append
    weighted_ratings: list[float] = []
    add_weighted_rating = weighted_ratings.append
    currency = listings[0].price.currency if listings else "USD"
    one_currency = True
    reviewed = reviews_total = rating_weight = 0
    for listing in listings:
        price = listing.price
        add_amount(price.amount)
        if price.currency != currency:
            one_currency = False
        review_count = listing.reviews_in_window
        if review_count is not None:
            reviewed += 1
            reviews_total += review_count
        stars = listing.rating
        if stars is not None:
            weight = review_count or 1
            rating_weight += weight
            add_weighted_rating(stars * weight)

    if one_currency:
        amounts.sort()
        prices = _usable_prices(amounts)
    else:
        currency, prices = _prices_in_main_currency(listings)
    price_band: PriceBand | None = None
    median_price: float | None = None
    if prices:
        median_price = _quantile(prices, 0.5)
        price_band = PriceBand(
            p25=_quantile(prices, 0.25), median=median_price, p75=_quantile(prices, 0.75), currency=currency
        )

    # Shops are needed only by the fallbacks; most keywords never pay for them.
    shops: dict[int, ShopSample] | None = None
    sales = sales_from_review_counts(
        listings,
        listings_used=reviewed,
        reviews_total=reviews_total,
        review_window_days=scraped.review_window_days,
        review_rate=config.review_rate,
    )
    if sales is None:
        shops = unique_shops(scraped.shops)
        sales = sales_from_shop_sales(listings, shops, observed_at, config.sales_fallback)
    rating = _listing_rating_from_sums(
        weighted_ratings, rating_weight, listings, config.confidence.review_sample_target
    )
    if rating is None:
        rating = shop_rating(listings, shops if shops is not None else unique_shops(scraped.shops))

    sales_mid = sales.mid if sales is not None else None
    listings_per_sale = supply / sales_mid if sales_mid else None
    rating_input = rating.rating if rating is not None else None

    price_value = price_factor(median_price, config.price)
    velocity_value = sales_velocity_factor(sales_mid, config.sales_velocity)
    rating_value = rating_factor(rating_input, config.rating)
    competition_value = competition_factor(listings_per_sale, config.competition)
    market_size_value = market_size_factor(supply, config.market_size)
    weights = config.weights
    factors = [
        FactorScore(
            name="price",
            value=price_value,
            weight=weights.price,
            input=median_price,
            input_label=f"median price ({currency})" if median_price is not None else "no prices",
            measured=median_price is not None,
        ),
        FactorScore(
            name="sales_velocity",
            value=velocity_value,
            weight=weights.sales_velocity,
            input=sales_mid,
            input_label=_sales_label(sales),
            measured=False,
        ),
        FactorScore(
            name="rating",
            value=rating_value,
            weight=weights.rating,
            input=rating_input,
            input_label=_RATING_LABELS[rating.source if rating is not None else None],
            measured=rating is not None,
        ),
        FactorScore(
            name="competition",
            value=competition_value,
            weight=weights.competition,
            input=listings_per_sale,
            input_label=_competition_label(sales, listings_per_sale),
            measured=False,
        ),
        FactorScore(
            name="market_size",
            value=market_size_value,
            weight=weights.market_size,
            input=float(supply),
            input_label="active listings matching the keyword (Etsy count)",
        ),
    ]
    score = _unit_interval(
        math.fsum(
            (
                price_value * weights.price,
                velocity_value * weights.sales_velocity,
                rating_value * weights.rating,
                competition_value * weights.competition,
                market_size_value * weights.market_size,
            )
        )
    )

    components = _confidence_components(
        listing_count=listing_count,
        sales=sales,
        rating=rating,
        price_band=price_band,
        price_count=len(prices),
        config=config.confidence,
    )
    confidence_weights = config.confidence.weights
    confidence = _unit_interval(
        components["volume"] * confidence_weights.volume
        + components["sales_evidence"] * confidence_weights.sales_evidence
        + components["ratings"] * confidence_weights.ratings
        + components["price_consistency"] * confidence_weights.price_consistency
    )

    snapshot = HistoryPoint(observed_at=observed_at, sales_mid=sales_mid, total_count=supply)
    return NicheScore(
        score=score,
        confidence=confidence,
        risk=classify_risk(score, confidence),
        factors=factors,
        confidence_components=components,
        estimates=build_estimates(sales, median_price, currency),
        sales=sales,
        price_band=price_band,
        momentum=compute_momentum(history, snapshot, config.momentum),
        listing_count=listing_count,
        total_count=total_count,
        snapshot=snapshot,
    )


def _unit_interval(value: float) -> float:
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
        return "active listings (Etsy count) per estimated monthly sale of the top listings"
    if sales is None:
        return "no demand estimate: listings per sale unknown"
    return "zero estimated monthly sales: listings per sale unbounded"


def _sales_label(sales: SalesEstimate | None) -> str:
    if sales is None:
        return "no sales evidence"
    if sales.basis == "reviews":
        return "estimated monthly sales of the top listings (windowed reviews ÷ review rate)"
    return "estimated monthly sales of the top listings (fallback: shop lifetime sales)"
