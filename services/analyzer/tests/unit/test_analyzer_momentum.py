"""Momentum from this platform's own snapshots: direction, size, and honest "insufficient history"."""

from __future__ import annotations

import pytest
from analyzer_builders import CONFIG, DAY, NOW, reference_niche

from etsygen_analyzer.domain.momentum import HistoryPoint, compute_momentum
from etsygen_analyzer.domain.scoring import score_niche
from etsygen_common.contracts.trends import Momentum

MOMENTUM = CONFIG.momentum


def _series(sales: list[float | None], supply: list[int], every_days: float = 7.0) -> list[HistoryPoint]:
    """Snapshots ``every_days`` apart, the last one at NOW."""
    count = len(sales)
    return [
        HistoryPoint(
            observed_at=NOW - (count - 1 - index) * every_days * DAY, sales_mid=mid, total_count=total
        )
        for index, (mid, total) in enumerate(zip(sales, supply, strict=True))
    ]


def _momentum(points: list[HistoryPoint]) -> Momentum:
    *history, current = points
    return compute_momentum(history, current, MOMENTUM)


def test_rising_sales_and_supply_give_positive_changes() -> None:
    momentum = _momentum(_series([100, 120, 140, 160, 180], [5_000, 5_100, 5_200, 5_300, 5_400]))
    assert momentum.status == "ok"
    assert momentum.sales_change is not None
    assert momentum.sales_change > 0
    assert momentum.supply_change is not None
    assert momentum.supply_change > 0


def test_falling_sales_give_a_negative_change() -> None:
    momentum = _momentum(_series([180, 160, 140, 120, 100], [5_400, 5_300, 5_200, 5_100, 5_000]))
    assert momentum.sales_change is not None
    assert momentum.sales_change < 0
    assert momentum.supply_change is not None
    assert momentum.supply_change < 0


def test_flat_history_gives_a_measured_zero() -> None:
    momentum = _momentum(_series([150, 150, 150, 150], [5_000, 5_000, 5_000, 5_000]))
    assert momentum.status == "ok"
    assert momentum.sales_change == 0.0
    assert momentum.supply_change == 0.0


def test_change_is_relative_and_per_30_days() -> None:
    # +1 sale a day around a mean of 115: about +26 % a month.
    momentum = _momentum(_series([100, 110, 120, 130], [5_000] * 4, every_days=10.0))
    assert momentum.sales_change == pytest.approx(30 / 115)
    assert momentum.span_days == pytest.approx(30.0)
    assert momentum.snapshots == 4


def test_too_few_snapshots_are_insufficient_history() -> None:
    momentum = _momentum(_series([100, 200], [5_000, 6_000], every_days=30.0))
    assert momentum.status == "insufficient_history"
    assert momentum.sales_change is None
    assert momentum.supply_change is None
    assert momentum.snapshots == 2


def test_snapshots_spanning_too_little_time_are_insufficient_history() -> None:
    momentum = _momentum(_series([100, 150, 200, 250], [5_000] * 4, every_days=1.0))
    assert momentum.status == "insufficient_history"
    assert momentum.sales_change is None
    assert momentum.span_days == pytest.approx(3.0)


def test_a_snapshot_stored_twice_counts_once() -> None:
    points = _series([100, 120, 140], [5_000, 5_100, 5_200])
    momentum = compute_momentum([points[0], points[0], points[1], points[2]], points[2], MOMENTUM)
    assert momentum.snapshots == 3


def test_snapshots_without_sales_leave_the_sales_change_unknown() -> None:
    momentum = _momentum(_series([None, None, None, 100], [5_000, 5_100, 5_200, 5_300]))
    assert momentum.status == "ok"
    assert momentum.sales_change is None
    assert momentum.supply_change is not None
    assert momentum.supply_change > 0


def test_scoring_with_no_history_reports_insufficient_history_and_the_snapshot_to_store() -> None:
    assessment = score_niche(reference_niche(), CONFIG, observed_at=NOW)
    assert assessment.momentum.status == "insufficient_history"
    assert assessment.momentum.sales_change is None
    assert assessment.snapshot.observed_at == NOW
    assert assessment.snapshot.sales_mid == pytest.approx(300.0)
    assert assessment.snapshot.total_count == 9_000


def test_scoring_with_history_uses_it() -> None:
    history = _series([200, 230, 260], [8_000, 8_300, 8_600])[:3]
    shifted = [
        HistoryPoint(
            observed_at=point.observed_at - 7 * DAY, sales_mid=point.sales_mid, total_count=point.total_count
        )
        for point in history
    ]
    assessment = score_niche(reference_niche(), CONFIG, shifted, observed_at=NOW)
    assert assessment.momentum.status == "ok"
    assert assessment.momentum.snapshots == 4
    assert assessment.momentum.sales_change is not None
    assert assessment.momentum.sales_change > 0
