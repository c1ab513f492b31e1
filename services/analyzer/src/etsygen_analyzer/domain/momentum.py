"""Momentum: how a keyword's estimated sales and supply move across this platform's own snapshots.

Nothing here looks at outside trend data. With too little history the answer is ``insufficient_history``
with no figures, never a zero that nobody measured.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from etsygen_analyzer.domain.config import MomentumConfig
from etsygen_common.contracts.trends import Momentum

__all__ = ["HistoryPoint", "compute_momentum"]

_SECONDS_PER_DAY = 86_400.0
_PERIOD_DAYS = 30.0


class HistoryPoint(msgspec.Struct, frozen=True, kw_only=True):
    """One earlier (or the current) snapshot of a keyword, as the analyzer stores it."""

    observed_at: float
    """Unix seconds (UTC) when the snapshot's data was fetched."""
    sales_mid: float | None
    """Estimated monthly sales of the top listings (midpoint of the range); None when no estimate existed."""
    total_count: int
    """Supply: Etsy's ``count`` of active listings matching the keyword."""


def compute_momentum(
    history: Iterable[HistoryPoint], current: HistoryPoint, config: MomentumConfig
) -> Momentum:
    """Relative change per 30 days of estimated sales and of supply, from a least-squares fit over snapshots.

    Input: the stored snapshots of one keyword on one marketplace plus the current one. Snapshots taken at the
    same instant count once (the current point wins). Shape: slope of the fitted line times 30 days,
    divided by the mean of the series, so ``0.1`` reads "about 10 % more per month". Status is
    ``insufficient_history`` when there are fewer than ``config.min_snapshots`` snapshots or they span less
    than ``config.min_span_days``. Sales change is None when too few snapshots carry a sales estimate or their
    mean is zero (a relative change of nothing is undefined).
    """
    by_time: dict[float, HistoryPoint] = {point.observed_at: point for point in history}
    by_time[current.observed_at] = current
    snapshots = len(by_time)
    times = sorted(by_time)
    span_days = (times[-1] - times[0]) / _SECONDS_PER_DAY
    if snapshots < config.min_snapshots or span_days < config.min_span_days:
        return Momentum(status="insufficient_history", snapshots=snapshots, span_days=span_days)

    supply = _LineFit()
    sales = _LineFit()
    first_sale_day: float | None = None
    last_sale_day = 0.0
    for observed_at in times:
        point = by_time[observed_at]
        # Days since the first snapshot keep the sums small, so the fit loses no precision to epoch seconds.
        day = (observed_at - times[0]) / _SECONDS_PER_DAY
        supply.add(day, point.total_count)
        if point.sales_mid is not None:
            sales.add(day, point.sales_mid)
            if first_sale_day is None:
                first_sale_day = day
            last_sale_day = day
    sales_change: float | None = None
    if (
        first_sale_day is not None
        and sales.count >= config.min_snapshots
        and last_sale_day - first_sale_day >= config.min_span_days
    ):
        sales_change = sales.relative_change_per_30_days()
    return Momentum(
        status="ok",
        sales_change=sales_change,
        supply_change=supply.relative_change_per_30_days(),
        snapshots=snapshots,
        span_days=span_days,
    )


class _LineFit:
    """Running sums for an ordinary least-squares line through ``(day, value)`` points."""

    __slots__ = ("count", "sum_day", "sum_day_day", "sum_day_value", "sum_value")

    def __init__(self) -> None:
        self.count = 0
        self.sum_day = self.sum_value = self.sum_day_day = self.sum_day_value = 0.0

    def add(self, day: float, value: float) -> None:
        self.count += 1
        self.sum_day += day
        self.sum_value += value
        self.sum_day_day += day * day
        self.sum_day_value += day * value

    def relative_change_per_30_days(self) -> float | None:
        """Slope per 30 days over the mean value; None with fewer than two distinct days or a zero mean."""
        count = self.count
        spread = count * self.sum_day_day - self.sum_day * self.sum_day
        if count < 2 or spread <= 0 or self.sum_value == 0:
            return None
        slope_per_day = (count * self.sum_day_value - self.sum_day * self.sum_value) / spread
        return slope_per_day * _PERIOD_DAYS / abs(self.sum_value / count)
