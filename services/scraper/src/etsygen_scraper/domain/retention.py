"""Which monthly partitions of ``listing_snapshots`` lie wholly before a retention cutoff (pure)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

_MONTHLY = re.compile(r"^listing_snapshots_(\d{4})_(\d{2})$")


def month_after(name: str) -> date | None:
    """The first day after the month a partition ``listing_snapshots_YYYY_MM`` holds; None for other names."""
    match = _MONTHLY.match(name)
    if match is None:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    return date(year + month // 12, month % 12 + 1, 1)


def expired_partitions(names: Iterable[str], cutoff: date) -> list[str]:
    """Monthly partitions whose every day is before ``cutoff``, oldest first (the default one never is)."""
    due = [(end, n) for n in names if (end := month_after(n)) is not None and end <= cutoff]
    return [n for _, n in sorted(due)]
