"""What the factors are computed from: one keyword's relevant listings (de-duplicated, then filtered by
:mod:`.relevance`), read once into prices, a price band, a sales estimate, a rating and the supply per sale.

The analyzer scores many keywords per research job, so :func:`niche_inputs` reads each listing once in one
loop (after the de-duplication check), sorts once, and touches shops only when a fallback needs them.
"""

from __future__ import annotations

import bisect
import math
import operator
from collections.abc import Mapping, Sequence
from typing import Literal

import msgspec

from etsygen_analyzer.domain.config import ScoringConfig
from etsygen_analyzer.domain.estimates import SalesEstimate, sales_from_review_counts, sales_from_shop_sales
from etsygen_common.contracts.listings import ListingSample, ListingsScraped, ShopSample
from etsygen_common.contracts.trends import PriceBand

MAX_RATING = 5.0
"""Top of Etsy's rating scale."""
_SHOP_ID = operator.attrgetter("shop_id")


class RatingEvidence(msgspec.Struct, frozen=True, kw_only=True):
    """The niche's review-weighted rating and how much of the sample it covers."""

    rating: float
    """Weighted average on Etsy's 0-5 scale."""
    source: Literal["listings", "shops"]
    """``listings``: the listings' own windowed ratings; ``shops``: shop review averages (fallback)."""
    coverage: float
    """Share of the sample the rating speaks for, in [0, 1] (the ratings component of confidence)."""


class NicheInputs(msgspec.Struct, frozen=True, kw_only=True):
    """One keyword's numbers before any factor: what each factor, the confidence and the estimates read."""

    listing_count: int
    """Unique relevant listings held."""
    supply: int
    """Relevant active listings: Etsy's count times the share of fetched listings about the keyword, or the
    relevant listings held when that is lower."""
    supply_measured: bool
    """True when every fetched listing is relevant, so that ``supply`` is Etsy's count as received."""
    currency: str
    """The most common currency of the prices (ties: alphabetical); USD without listings."""
    prices: list[float]
    """Positive, finite prices in that currency, sorted."""
    median_price: float | None
    price_band: PriceBand | None
    sales: SalesEstimate | None
    sales_mid: float | None
    """Mid estimate of monthly sales of the sampled top listings."""
    listings_per_sale: float | None
    """Supply per estimated monthly sale; None when there is no estimate or it is zero."""
    competing_shops: float
    """Estimated shops competing in the niche: the supply times the distinct shops per listing among the
    relevant listings held (a shop with many listings competes as one seller); 0 without listings."""
    newcomer_sales: float | None
    """A new shop's share of the top listings' estimated monthly sales: ``sales_mid / (competing_shops + 1)``,
    the newcomer sharing them with every competing shop. A lower bound of what it can win, since sales
    beyond the sampled top listings are not seen. None without a sales estimate."""
    newcomer_revenue: float | None
    """``newcomer_sales`` valued at the niche's median price (currency units a month); None without either."""
    rating: RatingEvidence | None


def niche_inputs(
    listings: Sequence[ListingSample],
    scraped: ListingsScraped,
    config: ScoringConfig,
    observed_at: float,
    *,
    relevant_share: float = 1.0,
) -> NicheInputs:
    """Everything the score is computed from, for listings already de-duplicated (:func:`unique_listings`)
    and kept when relevant; ``relevant_share`` is the share of the de-duplicated listings kept."""
    listing_count = len(listings)
    # Etsy's count covers off-topic matches too: scale it by the share of what we fetched that is relevant.
    # The count should cover every relevant listing we hold; if it does not, trust what we hold.
    supply_measured = relevant_share == 1.0
    total_count = scraped.total_count if supply_measured else round(scraped.total_count * relevant_share)
    supply = listing_count if listing_count > total_count else total_count
    amounts, weighted_ratings, rating_weight, reviewed, reviews_total, currency, one_currency = _read(
        listings
    )
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
    competing_shops = supply * len(set(map(_SHOP_ID, listings))) / listing_count if listing_count else 0.0
    newcomer_sales = sales_mid / (competing_shops + 1.0) if sales_mid is not None else None
    return NicheInputs(
        listing_count=listing_count,
        supply=supply,
        supply_measured=supply_measured,
        currency=currency,
        prices=prices,
        median_price=median_price,
        price_band=price_band,
        sales=sales,
        sales_mid=sales_mid,
        listings_per_sale=supply / sales_mid if sales_mid else None,
        competing_shops=competing_shops,
        newcomer_sales=newcomer_sales,
        newcomer_revenue=(
            newcomer_sales * median_price if newcomer_sales is not None and median_price is not None else None
        ),
        rating=rating,
    )


def _read(
    listings: Sequence[ListingSample],
) -> tuple[list[float], list[float], int, int, int, str, bool]:
    """One pass over the listings for what the usual keyword needs: prices, windowed review counts and
    review-weighted ratings. Mixed currencies, off-scale ratings and the shop fallbacks are rare and make
    their own passes.

    Returns:
        ``(amounts, weighted_ratings, rating_weight, reviewed, reviews_total, currency, one_currency)``:
        every price amount (unsorted), each rated listing's rating times its weight, the weights' sum, the
        listings with a windowed review count and those counts' sum, the first listing's currency, and
        whether every listing has it.
    """
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
    return amounts, weighted_ratings, rating_weight, reviewed, reviews_total, currency, one_currency


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
    if not 0 <= average <= MAX_RATING:
        # Rare: some rating is off the 0-5 scale (or nan). Drop those and average again.
        rated = [listing for listing in rated if 0 <= (listing.rating or 0.0) <= MAX_RATING]
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
    if not 0 <= average <= MAX_RATING:
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
        and 0 <= shop.review_average <= MAX_RATING
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
