"""Which partitions retention drops: those whose range ends at or before the cutoff, never DEFAULT."""

from __future__ import annotations

from datetime import UTC, datetime

from etsygen_common.partitions import expired, upper_bound


def test_a_range_partition_ends_where_its_bound_says_and_a_date_is_midnight_utc() -> None:
    assert upper_bound("FOR VALUES FROM ('2025-01-01') TO ('2025-02-01')") == datetime(2025, 2, 1, tzinfo=UTC)
    assert upper_bound("FOR VALUES FROM (MINVALUE) TO ('2027-02-01 00:00:00+00')") == datetime(
        2027, 2, 1, tzinfo=UTC
    )
    assert upper_bound("FOR VALUES FROM ('2025-01-01') TO (MAXVALUE)") is None
    assert upper_bound("DEFAULT") is None


def test_only_partitions_wholly_before_the_cutoff_expire_oldest_first() -> None:
    bounds = {
        "m_2025_03": datetime(2025, 4, 1, tzinfo=UTC),
        "m_default": None,
        "m_2025_02": datetime(2025, 3, 1, tzinfo=UTC),
        "m_legacy": datetime(2025, 1, 1, tzinfo=UTC),
    }
    assert expired(bounds, datetime(2025, 3, 1, tzinfo=UTC)) == ["m_legacy", "m_2025_02"]
    assert expired(bounds, datetime(2025, 2, 28, 23, tzinfo=UTC)) == ["m_legacy"]
