"""Execute a keyword's call plan against Etsy (or the simulator) and return contract-ready data.

The order is the planner's: search pages, batch enrichment, windowed review counts for the top listings,
then shops not yet seen. The plan is checked against the remaining daily budget before the first call (when
the budget is known and fresh) and again, exactly, once the first search page has told us Etsy's ``count``.
A job that cannot fit raises ``EtsyDailyBudgetExhausted`` saying how many calls it needs and how many remain.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from etsygen_common.contracts.listings import FetchMetadata, ShopSample
from etsygen_scraper.adapters.etsy_client import EtsyClient, tally_calls
from etsygen_scraper.adapters.etsy_errors import EtsyDailyBudgetExhausted
from etsygen_scraper.domain.etsy_models import EtsyListing, EtsyShop, ReviewWindow
from etsygen_scraper.domain.normalize import KeywordFetch, listing_samples, shop_sample
from etsygen_scraper.domain.planner import (
    BATCH_SIZE,
    DEFAULT_PRICE_EDGES,
    PAGE_SIZE,
    CallPlan,
    allocate_band_quotas,
    cannot_fit_reason,
    plan_keyword,
    search_offsets,
)

ETSY_SOURCE = "etsy-open-api-v3"
SIMULATOR_SOURCE = "etsygen-simulator (synthetic)"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class _Listings:
    """Unique listings in first-seen order: a listing is never counted twice across pages or slices."""

    def __init__(self) -> None:
        self.by_id: dict[int, EtsyListing] = {}

    def add(self, listings: Sequence[EtsyListing]) -> None:
        for listing in listings:
            self.by_id.setdefault(listing.listing_id, listing)


async def fetch_keyword(
    client: EtsyClient,
    keyword: str,
    budget: int,
    *,
    top_n_reviews: int = 20,
    review_window_days: int = 30,
    now: datetime | None = None,
    known_shops: Mapping[int, ShopSample] | None = None,
    budget_max_age_s: float = 60.0,
    price_edges: Sequence[float] = DEFAULT_PRICE_EDGES,
    clock: Callable[[], datetime] = _utc_now,
) -> KeywordFetch:
    """Fetch one keyword's listings, shops and demand signals.

    Args:
        client: the Etsy client (its base URL decides Etsy or the simulator).
        keyword: the search phrase.
        budget: most listings to read.
        top_n_reviews: listings (by search rank) whose reviews in the window are counted.
        review_window_days: the review window, ending at ``now``.
        now: end of the review window; defaults to the current time.
        known_shops: shops already known to the caller, which need no ``getShop`` call.
        budget_max_age_s: how old a daily-budget reading may be and still refuse a job before its first
            call (Etsy's day is rolling, so old readings understate what remains).
        price_edges: price-band boundaries for searches deeper than 12,000 listings.
        clock: wall clock for ``FetchMetadata`` timestamps.

    Returns:
        A ``KeywordFetch``; turn it into the event with ``domain.normalize.to_listings_scraped``.

    Raises:
        EtsyDailyBudgetExhausted: the plan does not fit today's remaining calls, or Etsy says none remain.
        EtsyError: any other failure of the client (auth, malformed data, persistent 5xx...).
    """
    started_at = clock()
    window_end = now or started_at
    min_created = int((window_end - timedelta(days=review_window_days)).timestamp())
    max_created = int(window_end.timestamp())
    known = dict(known_shops or {})

    with tally_calls() as tally:
        worst_case = plan_keyword(keyword, budget, top_n_reviews=top_n_reviews, price_edges=price_edges)
        _ensure_fits(worst_case, client.daily_budget.known_within(budget_max_age_s), already_spent=0)

        first = await client.search_active(keyword, limit=max(1, min(PAGE_SIZE, budget)), offset=0)
        plan = plan_keyword(
            keyword, budget, top_n_reviews=top_n_reviews, total_count=first.count, price_edges=price_edges
        )
        _ensure_fits(plan, client.daily_budget.remaining, already_spent=1)

        ranked = await _search(client, plan, first.results)
        listings = await _enrich(client, ranked)

        shops: dict[int, EtsyShop] = {
            listing.shop.shop_id: listing.shop for listing in listings if listing.shop is not None
        }
        shop_order = list(dict.fromkeys(listing.shop_id for listing in listings))
        unseen = [shop_id for shop_id in shop_order if shop_id not in shops and shop_id not in known]
        top = listings[: min(top_n_reviews, len(listings))]
        plan = plan_keyword(
            keyword,
            budget,
            top_n_reviews=top_n_reviews,
            total_count=first.count,
            unseen_shops=len(unseen),
            price_edges=price_edges,
        )
        # Another process on the same key may have spent budget meanwhile: reviews are the demand signal
        # and must fit; shop calls that no longer fit are skipped and the fetch is marked truncated.
        remaining = client.daily_budget.remaining
        if remaining is not None and remaining < len(top):
            _ensure_fits(plan, remaining, already_spent=plan.total_calls - len(top) - len(unseen))
        affordable = len(unseen) if remaining is None else min(len(unseen), remaining - len(top))

        reviews = await _count_reviews(client, top, min_created, max_created)
        fetched_shops = await _get_shops(client, unseen[:affordable])
        shops.update(fetched_shops)

        samples = listing_samples(listings, reviews)
        shop_samples = [
            shop_sample(shops[shop_id]) if shop_id in shops else known[shop_id]
            for shop_id in shop_order
            if shop_id in shops or shop_id in known
        ]
        reachable = min(budget, first.count)
        synthetic = tally.synthetic > 0
        metadata = FetchMetadata(
            api_calls=tally.requests,
            started_at=_iso(started_at),
            finished_at=_iso(clock()),
            source=SIMULATOR_SOURCE if synthetic else ETSY_SOURCE,
            synthetic=synthetic,
            truncated=len(samples) < reachable or affordable < len(unseen),
        )
    return KeywordFetch(
        keyword=keyword,
        total_count=first.count,
        listings=samples,
        shops=shop_samples,
        review_window_days=review_window_days,
        fetch=metadata,
        plan=plan,
    )


def _ensure_fits(plan: CallPlan, remaining_today: int | None, *, already_spent: int) -> None:
    reason = cannot_fit_reason(plan, remaining_today, already_spent=already_spent)
    if reason is not None:
        raise EtsyDailyBudgetExhausted(
            f"daily budget exhausted: {reason}",
            needed=max(0, plan.total_calls - already_spent),
            remaining=remaining_today,
        )


async def _search(client: EtsyClient, plan: CallPlan, first_page: Sequence[EtsyListing]) -> list[EtsyListing]:
    """Unique listings in search-rank order, up to the plan's target; the first page is already read."""
    found = _Listings()
    found.add(first_page[: plan.target_listings])
    if plan.sliced:
        await _search_bands(client, plan, found)
    else:
        for offset in search_offsets(plan.target_listings, start=PAGE_SIZE):
            limit = min(PAGE_SIZE, plan.target_listings - offset)
            page = await client.search_active(plan.keyword, limit=limit, offset=offset)
            found.add(page.results)
            if len(page.results) < limit:
                break
    return list(found.by_id.values())[: plan.target_listings]


async def _enrich(client: EtsyClient, ranked: Sequence[EtsyListing]) -> list[EtsyListing]:
    """Batch versions (views, shop, images) of ``ranked`` in order; one the batch omits stays as found."""
    enriched: dict[int, EtsyListing] = {}
    for start in range(0, len(ranked), BATCH_SIZE):
        chunk = [listing.listing_id for listing in ranked[start : start + BATCH_SIZE]]
        batch = await client.get_listings_batch(chunk)
        enriched.update((listing.listing_id, listing) for listing in batch.results)
    return [enriched.get(listing.listing_id, listing) for listing in ranked]


async def _search_bands(client: EtsyClient, plan: CallPlan, found: _Listings) -> None:
    """Read a target beyond one slice's reach: each price band's first page, then pages by quota."""
    firsts = []
    for band in plan.bands:
        page = await client.search_active(
            plan.keyword, limit=PAGE_SIZE, offset=0, min_price=band.min_price, max_price=band.max_price
        )
        firsts.append(page)
    quotas = allocate_band_quotas([page.count for page in firsts], plan.target_listings)
    for band, page, quota in zip(plan.bands, firsts, quotas, strict=True):
        found.add(page.results[:quota])
        for offset in search_offsets(quota, start=PAGE_SIZE):
            more = await client.search_active(
                plan.keyword,
                limit=min(PAGE_SIZE, quota - offset),
                offset=offset,
                min_price=band.min_price,
                max_price=band.max_price,
            )
            found.add(more.results)
            if len(more.results) < min(PAGE_SIZE, quota - offset):
                break


async def _count_reviews(
    client: EtsyClient, listings: Sequence[EtsyListing], min_created: int, max_created: int
) -> dict[int, ReviewWindow]:
    if not listings:
        return {}
    async with asyncio.TaskGroup() as group:
        tasks = [
            group.create_task(client.count_reviews(item.listing_id, min_created, max_created))
            for item in listings
        ]
    return {task.result().listing_id: task.result() for task in tasks}


async def _get_shops(client: EtsyClient, shop_ids: Sequence[int]) -> dict[int, EtsyShop]:
    if not shop_ids:
        return {}
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(client.get_shop(shop_id)) for shop_id in shop_ids]
    return {task.result().shop_id: task.result() for task in tasks}


def estimated_calls(budget: int, *, top_n_reviews: int = 20) -> int:
    """Worst-case calls of one keyword job (for admission control before a job is queued)."""
    return plan_keyword("", budget, top_n_reviews=top_n_reviews).total_calls
