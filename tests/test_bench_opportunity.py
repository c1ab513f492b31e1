"""The opportunity benchmark's core on a few niches, so CI runs what ``make bench`` measures in full:
the real scraper client against the simulator, the analyzer's scoring, the hidden truth, the rank
correlation. Asserted: the nonsense share and the arithmetic, never timings or the correlation's level."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

import bench_opportunity as bench  # noqa: E402 - the benchmark scripts live outside the packages

NICHES = ["personalized dog collar", "cat tree furniture", "hand poured soy candle", "leather wallet men"]


def test_spearman_is_one_for_the_same_order_minus_one_for_the_reverse_and_handles_ties() -> None:
    assert bench.spearman([1, 2, 3, 4], [10, 20, 30, 400]) == 1.0
    assert bench.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == -1.0
    assert bench.ranks([5.0, 1.0, 5.0]) == [2.5, 1.0, 2.5]
    assert bench.spearman([1, 1, 1], [1, 2, 3]) == 0.0


async def test_every_nonsense_query_is_rejected_and_every_niche_is_ranked_against_its_truth() -> None:
    figures = await bench.measure_market(
        bench.DEFAULT_SEED, NICHES, bench.NONSENSE_QUERIES, budget=30, top_n_reviews=5
    )

    assert figures.rejected_share == 100.0
    assert all(rated.total_count == 0 for rated in figures.probes)
    assert [rated.query for rated, _ in figures.niches] == NICHES
    assert all(rated.listings > 0 and truth > 0 for rated, truth in figures.niches)
    assert -1.0 <= figures.spearman <= 1.0
    assert sum(figures.risk_shares.values()) == 100.0
    assert all(rated.true_sales is not None and rated.true_sales > 0 for rated, _ in figures.niches)
    assert 0.0 <= figures.sales_coverage <= 100.0
