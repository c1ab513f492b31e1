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
    by_time: dict[float, HistoryPoint] = {}
    for point in history:
        by_time[point.observed_at] = point
    by_time[current.observed_at] = current
    snapshots = len(by_time)
    times = sorted(by_time)
    first_time = times[0]
    span_days = (times[-1] - first_time) / _SECONDS_PER_DAY
    if snapshots < config.min_snapshots or span_days < config.min_span_days:
        return Momentum(status="insufficient_history", snapshots=snapshots, span_days=span_days)

    # Running sums of two least-squares lines through (day, value): supply on every snapshot, sales on those
    # with an estimate. Days since the first snapshot keep the sums small, so no precision is lost to epoch
    # seconds. The sums are added in day order, so the result does not depend on the order of ``history``.
    sum_day = sum_supply = sum_day_day = sum_day_supply = 0.0
    sales_count = 0
    sales_sum_day = sum_sales = sales_sum_day_day = sum_day_sales = 0.0
    first_sale_day = last_sale_day = 0.0
    for observed_at in times:
        point = by_time[observed_at]
        day = (observed_at - first_time) / _SECONDS_PER_DAY
        day_day = day * day
        supply = float(point.total_count)  # what float arithmetic would convert it to anyway, once
        sum_day += day
        sum_supply += supply
        sum_day_day += day_day
        sum_day_supply += day * supply
        sales = point.sales_mid
        if sales is not None:
            if not sales_count:
                first_sale_day = day
            last_sale_day = day
            sales_count += 1
            sales_sum_day += day
            sum_sales += sales
            sales_sum_day_day += day_day
            sum_day_sales += day * sales
    sales_change: float | None = None
    if (
        sales_count
        and sales_count >= config.min_snapshots
        and last_sale_day - first_sale_day >= config.min_span_days
    ):
        sales_change = _relative_change_per_30_days(
            sales_count, sales_sum_day, sum_sales, sales_sum_day_day, sum_day_sales
        )
    return Momentum(
        status="ok",
        sales_change=sales_change,
        supply_change=_relative_change_per_30_days(
            snapshots, sum_day, sum_supply, sum_day_day, sum_day_supply
        ),
        snapshots=snapshots,
        span_days=span_days,
    )


def _relative_change_per_30_days(
    count: int, sum_day: float, sum_value: float, sum_day_day: float, sum_day_value: float
) -> float | None:
    """Slope per 30 days over the mean value, from a least-squares line's running sums.

    None with fewer than two distinct days or a zero mean.
    """
    spread = count * sum_day_day - sum_day * sum_day
    if count < 2 or spread <= 0 or sum_value == 0:
        return None
    slope_per_day = (count * sum_day_value - sum_day * sum_value) / spread
    return slope_per_day * _PERIOD_DAYS / abs(sum_value / count)
