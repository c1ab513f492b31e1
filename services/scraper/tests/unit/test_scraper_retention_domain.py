"""Which snapshot months retention drops: only those wholly before the cutoff, never the default one."""

from __future__ import annotations

from datetime import date

from etsygen_scraper.domain.retention import expired_partitions, month_after


def test_a_month_ends_on_the_first_of_the_next_and_december_rolls_into_january() -> None:
    assert month_after("listing_snapshots_2025_01") == date(2025, 2, 1)
    assert month_after("listing_snapshots_2024_12") == date(2025, 1, 1)
    assert month_after("listing_snapshots_default") is None
    assert month_after("listing_snapshots_2025_1") is None


def test_only_months_wholly_before_the_cutoff_expire_oldest_first() -> None:
    names = [
        "listing_snapshots_2025_03",
        "listing_snapshots_default",
        "listing_snapshots_2025_02",
        "listing_snapshots_2024_12",
        "other_2020_01",
    ]
    assert expired_partitions(names, date(2025, 3, 1)) == [
        "listing_snapshots_2024_12",
        "listing_snapshots_2025_02",
    ]
    assert expired_partitions(names, date(2025, 2, 28)) == ["listing_snapshots_2024_12"]
