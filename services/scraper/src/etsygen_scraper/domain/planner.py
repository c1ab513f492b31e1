"""Plan the Etsy API calls one keyword costs, before spending any of the daily budget.

A keyword job is, in order:

1. search pages of ``findAllListingsActive`` (100 listings each) until the listing budget or Etsy's ``count``
   is reached; Etsy refuses offsets past 12,000, so deeper reads slice the search into price bands;
2. ``getListingsByListingIds`` batches (100 ids each) for views, shop and images of every unique listing;
3. ``getReviewsByListing`` for the top N listings (by search rank), whose ``count`` is the demand signal;
4. ``getShop`` for shops neither the batch includes nor the caller already knows.

Everything here is pure: the fetcher executes the plan, this module only counts and decides.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Protocol, TypeVar

import msgspec

PAGE_SIZE = 100
"""Largest ``limit`` Etsy accepts on search and review endpoints."""
BATCH_SIZE = 100
"""Most listing ids ``getListingsByListingIds`` accepts per call."""
MAX_OFFSET = 12_000
"""Etsy answers 400 for larger search offsets."""
SLICE_REACH = MAX_OFFSET
"""Listings one search slice can reach while keeping ``offset + limit <= MAX_OFFSET``."""
DEFAULT_PRICE_EDGES: tuple[float, ...] = (5, 10, 15, 20, 25, 30, 40, 50, 75, 100, 150, 250, 500)
"""Band boundaries (in the listing currency) used when a search must be sliced past ``SLICE_REACH``."""


class PriceBand(msgspec.Struct, frozen=True, kw_only=True):
    """A ``min_price``/``max_price`` filter; ``None`` leaves that side open."""

    min_price: float | None = None
    max_price: float | None = None

    def label(self) -> str:
        """Human-readable band, e.g. ``10.00-14.99`` or ``500.00+``."""
        low = f"{self.min_price:.2f}" if self.min_price is not None else "0.00"
        return f"{low}-{self.max_price:.2f}" if self.max_price is not None else f"{low}+"


class CallPlan(msgspec.Struct, frozen=True, kw_only=True):
    """The calls one keyword job needs; counts are upper bounds the fetcher never exceeds (retries aside)."""

    keyword: str
    listing_budget: int
    target_listings: int
    """Listings the job will read: ``min(listing_budget, total_count)`` when the count is known."""
    total_count: int | None
    """Etsy's ``count`` for the keyword, when a first search page has told us."""
    bands: tuple[PriceBand, ...] = ()
    """Price bands when the search is sliced; empty for a single slice."""
    search_calls: int
    batch_calls: int
    review_calls: int
    shop_calls: int

    @property
    def sliced(self) -> bool:
        """Whether the search reads price bands because the target is beyond one slice's reach."""
        return bool(self.bands)

    @property
    def total_calls(self) -> int:
        """All calls of the job."""
        return self.search_calls + self.batch_calls + self.review_calls + self.shop_calls

    def describe(self) -> str:
        """One line naming every step, e.g. ``3 search + 3 batch + 20 reviews + 0 shops = 26 calls``."""
        slices = f" over {len(self.bands)} price bands" if self.bands else ""
        return (
            f"{self.search_calls} search{slices} + {self.batch_calls} batch + {self.review_calls} reviews"
            f" + {self.shop_calls} shops = {self.total_calls} calls"
        )


def price_bands(edges: Sequence[float] = DEFAULT_PRICE_EDGES) -> tuple[PriceBand, ...]:
    """Contiguous bands covering every price: ``[0, e1)``, ``[e1, e2)``, ..., ``[en, +inf)``.

    Upper bounds stop one cent short of the next edge so a price sits in one band; the fetcher still
    dedupes by ``listing_id`` in case Etsy rounds differently.
    """
    ordered = sorted({float(edge) for edge in edges if edge > 0})
    lows: list[float | None] = [None, *ordered]
    highs: list[float | None] = [round(edge - 0.01, 2) for edge in ordered]
    highs.append(None)
    return tuple(PriceBand(min_price=low, max_price=high) for low, high in zip(lows, highs, strict=True))


def plan_keyword(
    keyword: str,
    listing_budget: int,
    *,
    top_n_reviews: int,
    total_count: int | None = None,
    unseen_shops: int = 0,
    price_edges: Sequence[float] = DEFAULT_PRICE_EDGES,
) -> CallPlan:
    """Plan one keyword job.

    Args:
        keyword: the search phrase.
        listing_budget: most listings to read (the job's size).
        top_n_reviews: listings, by search rank, whose windowed review count is fetched.
        total_count: Etsy's ``count`` if known; unknown plans assume the budget is available (worst case).
        unseen_shops: shops that will need their own ``getShop`` call (not included by the batch, not known).
        price_edges: band boundaries used when the target exceeds one slice's reach.

    Returns:
        The plan; its counts are upper bounds.
    """
    if listing_budget < 0 or top_n_reviews < 0 or unseen_shops < 0:
        raise ValueError("listing_budget, top_n_reviews and unseen_shops must not be negative")
    target = listing_budget if total_count is None else min(listing_budget, total_count)
    bands: tuple[PriceBand, ...] = ()
    if target <= SLICE_REACH:
        # At least one call even for a zero budget: it is what tells us the count.
        search_calls = max(1, math.ceil(target / PAGE_SIZE))
    else:
        bands = price_bands(price_edges)
        # One unsliced page learns the count; each band's last page may be partial.
        search_calls = 1 + len(bands) + math.ceil(target / PAGE_SIZE)
    return CallPlan(
        keyword=keyword,
        listing_budget=listing_budget,
        target_listings=target,
        total_count=total_count,
        bands=bands,
        search_calls=search_calls,
        batch_calls=math.ceil(target / BATCH_SIZE),
        review_calls=min(top_n_reviews, target),
        shop_calls=unseen_shops,
    )


def cannot_fit_reason(plan: CallPlan, remaining_today: int | None, *, already_spent: int = 0) -> str | None:
    """Why ``plan`` cannot run on today's budget, or ``None`` if it can (or the budget is unknown).

    ``already_spent`` is how many of the plan's calls were made before ``remaining_today`` was read.
    """
    if remaining_today is None:
        return None
    needed = max(0, plan.total_calls - already_spent)
    if needed <= remaining_today:
        return None
    return (
        f"cannot fit keyword {plan.keyword!r}: needs {needed} calls, {remaining_today} remain today"
        f" ({plan.describe()})"
    )


def fits(plan: CallPlan, remaining_today: int | None, *, already_spent: int = 0) -> bool:
    """Whether ``plan`` fits the remaining daily budget; an unknown budget is assumed to fit."""
    return cannot_fit_reason(plan, remaining_today, already_spent=already_spent) is None


def search_offsets(target: int, *, start: int = 0) -> list[int]:
    """Offsets of the search pages that read ``target`` listings of one slice, from ``start``."""
    reach = min(target, SLICE_REACH)
    return list(range(start, reach, PAGE_SIZE))


def allocate_band_quotas(band_counts: Sequence[int], target: int, *, reach: int = SLICE_REACH) -> list[int]:
    """Share ``target`` listings across price bands in proportion to each band's ``count``.

    A band never gets more than it has or than one slice can reach; what a capped band cannot take is
    shared among the others. The sum is ``min(target, total reachable)``.
    """
    available = [max(0, min(count, reach)) for count in band_counts]
    if sum(available) <= target:
        return available
    quotas = [0] * len(available)
    open_bands = {index for index, amount in enumerate(available) if amount > 0}
    remaining = target
    while remaining > 0 and open_bands:
        weight = sum(band_counts[index] for index in open_bands)
        shares = {index: remaining * band_counts[index] / weight for index in open_bands}
        capped = {index for index in open_bands if quotas[index] + shares[index] >= available[index]}
        if capped:
            for index in capped:
                remaining -= available[index] - quotas[index]
                quotas[index] = available[index]
            open_bands -= capped
            continue
        floors = {index: math.floor(shares[index]) for index in open_bands}
        for index, amount in floors.items():
            quotas[index] += amount
        remaining -= sum(floors.values())
        by_fraction = sorted(open_bands, key=lambda index: (floors[index] - shares[index], index))
        for index in by_fraction[:remaining]:
            quotas[index] += 1
        remaining = 0
    return quotas


class HasListingId(Protocol):
    """Anything that names the listing it describes."""

    @property
    def listing_id(self) -> int: ...


ListingT = TypeVar("ListingT", bound=HasListingId)


def dedupe_listings(listings: Iterable[ListingT]) -> list[ListingT]:
    """Keep the first occurrence of each ``listing_id``, in order: a listing is never counted twice."""
    unique: dict[int, ListingT] = {}
    for listing in listings:
        unique.setdefault(listing.listing_id, listing)
    return list(unique.values())
