"""Call planning for one keyword: counts, budget fit, price-band slicing, dedupe."""

from __future__ import annotations

import math

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from etsygen_scraper.domain.planner import (
    DEFAULT_PRICE_EDGES,
    MAX_OFFSET,
    PAGE_SIZE,
    SLICE_REACH,
    allocate_band_quotas,
    cannot_fit_reason,
    dedupe_listings,
    fits,
    plan_keyword,
    price_bands,
    search_offsets,
)


class Item(msgspec.Struct, frozen=True):
    listing_id: int
    page: int


def test_plan_counts_search_pages_batches_reviews_and_shops() -> None:
    plan = plan_keyword("boho wall art", 250, top_n_reviews=20, unseen_shops=2)

    assert (plan.search_calls, plan.batch_calls, plan.review_calls, plan.shop_calls) == (3, 3, 20, 2)
    assert plan.total_calls == 28
    assert plan.describe() == "3 search + 3 batch + 20 reviews + 2 shops = 28 calls"


def test_known_count_below_budget_shrinks_the_plan() -> None:
    plan = plan_keyword("sourdough starter kit", 1_000, top_n_reviews=20, total_count=130)

    assert plan.target_listings == 130
    assert (plan.search_calls, plan.batch_calls, plan.review_calls) == (2, 2, 20)


def test_keyword_without_listings_still_costs_the_search_that_tells_us() -> None:
    plan = plan_keyword("nothing matches this", 500, top_n_reviews=20, total_count=0)

    assert plan.total_calls == 1
    assert plan.review_calls == 0


def test_reviews_never_exceed_the_listings_read() -> None:
    assert plan_keyword("k", 5, top_n_reviews=20).review_calls == 5


def test_target_beyond_one_slice_is_read_through_price_bands() -> None:
    plan = plan_keyword("hand poured soy candle", 20_000, top_n_reviews=10, total_count=50_000)

    assert plan.sliced
    assert len(plan.bands) == len(DEFAULT_PRICE_EDGES) + 1
    assert plan.search_calls == 1 + len(plan.bands) + 200
    assert plan.batch_calls == 200


def test_target_within_one_slice_is_not_sliced() -> None:
    plan = plan_keyword("hand poured soy candle", SLICE_REACH, top_n_reviews=10, total_count=50_000)

    assert not plan.sliced
    assert plan.search_calls == SLICE_REACH // PAGE_SIZE


def test_cannot_fit_reason_names_needed_and_remaining_calls() -> None:
    plan = plan_keyword("boho wall art", 500, top_n_reviews=20)

    reason = cannot_fit_reason(plan, 19)

    assert reason is not None
    assert "needs 30 calls, 19 remain today" in reason
    assert not fits(plan, 19)


def test_plan_fits_exactly_the_remaining_budget() -> None:
    plan = plan_keyword("boho wall art", 500, top_n_reviews=20)

    assert fits(plan, 30)
    assert cannot_fit_reason(plan, 30) is None


def test_unknown_budget_is_assumed_to_fit() -> None:
    assert fits(plan_keyword("k", 10_000, top_n_reviews=100), None)


def test_calls_already_spent_are_not_needed_again() -> None:
    plan = plan_keyword("boho wall art", 500, top_n_reviews=20)

    assert fits(plan, 29, already_spent=1)
    reason = cannot_fit_reason(plan, 20, already_spent=1)
    assert reason is not None
    assert "needs 29 calls, 20 remain today" in reason


def test_price_bands_are_contiguous_and_do_not_overlap() -> None:
    bands = price_bands((10, 20, 50))

    assert [(band.min_price, band.max_price) for band in bands] == [
        (None, 9.99),
        (10.0, 19.99),
        (20.0, 49.99),
        (50.0, None),
    ]
    assert bands[0].label() == "0.00-9.99"
    assert bands[-1].label() == "50.00+"


def test_search_offsets_stop_before_etsys_offset_cap() -> None:
    offsets = search_offsets(50_000)

    assert offsets[0] == 0
    assert offsets[-1] + PAGE_SIZE <= MAX_OFFSET
    assert len(offsets) == SLICE_REACH // PAGE_SIZE
    assert search_offsets(250, start=PAGE_SIZE) == [100, 200]


def test_band_quotas_follow_band_sizes() -> None:
    assert allocate_band_quotas([3_000, 1_000, 0], 2_000) == [1_500, 500, 0]


def test_band_quota_capped_by_slice_reach_goes_to_other_bands() -> None:
    quotas = allocate_band_quotas([40_000, 5_000, 5_000], 20_000)

    assert quotas[0] == SLICE_REACH
    assert sum(quotas) == 20_000
    assert quotas[1] == quotas[2] == 4_000


def test_dedupe_keeps_the_first_sighting_of_each_listing() -> None:
    items = [Item(1, 0), Item(2, 0), Item(1, 1), Item(3, 1), Item(2, 2)]

    assert dedupe_listings(items) == [Item(1, 0), Item(2, 0), Item(3, 1)]


@given(
    counts=st.lists(st.integers(min_value=0, max_value=60_000), min_size=1, max_size=15),
    target=st.integers(min_value=0, max_value=200_000),
)
def test_band_quotas_never_exceed_a_band_and_sum_to_what_is_reachable(counts: list[int], target: int) -> None:
    quotas = allocate_band_quotas(counts, target)

    reachable = [min(count, SLICE_REACH) for count in counts]
    assert all(0 <= quota <= cap for quota, cap in zip(quotas, reachable, strict=True))
    assert sum(quotas) == min(target, sum(reachable))


@given(ids=st.lists(st.integers(min_value=1, max_value=30), max_size=80))
def test_dedupe_never_counts_a_listing_twice(ids: list[int]) -> None:
    unique = dedupe_listings(Item(listing_id, page) for page, listing_id in enumerate(ids))

    assert [item.listing_id for item in unique] == list(dict.fromkeys(ids))


@given(
    budget=st.integers(min_value=0, max_value=30_000),
    extra=st.integers(min_value=1, max_value=5_000),
    top_n=st.integers(min_value=0, max_value=100),
)
def test_bigger_budget_never_plans_fewer_calls(budget: int, extra: int, top_n: int) -> None:
    smaller = plan_keyword("k", budget, top_n_reviews=top_n)
    larger = plan_keyword("k", budget + extra, top_n_reviews=top_n)

    assert larger.total_calls >= smaller.total_calls


@given(
    budget=st.integers(min_value=1, max_value=SLICE_REACH), count=st.integers(min_value=0, max_value=60_000)
)
def test_unsliced_plan_reads_whole_pages(budget: int, count: int) -> None:
    plan = plan_keyword("k", budget, top_n_reviews=0, total_count=count)

    assert plan.search_calls == max(1, math.ceil(min(budget, count) / PAGE_SIZE))
    assert plan.batch_calls == math.ceil(min(budget, count) / 100)
