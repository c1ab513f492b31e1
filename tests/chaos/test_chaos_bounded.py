"""The bounded chaos run of CI: the full suite's checks on fewer jobs (``make chaos`` runs the full one)."""

from __future__ import annotations

from pathlib import Path

import pytest
from chaos import run_chaos

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_bounded_chaos_run_keeps_every_guarantee(tmp_path: Path) -> None:
    report = run_chaos(
        [
            "--jobs",
            "24",
            "--keywords",
            "3",
            "--kills",
            "1",
            "--duration",
            "60",
            "--submit-interval",
            "1.5",
            "--ai-outage",
            "10",
            "--settle-timeout",
            "300",
            "--workdir",
            str(tmp_path / "chaos"),
        ]
    )
    assert report.jobs_accepted == 24
    assert report.jobs_terminal == report.jobs_total >= 24
    assert report.products_missing == 0
    assert report.products_duplicated == 0
    assert report.concepts_generated == report.products_generator > 24
    assert report.dead_letters_stored == report.dead_letters_expected == 5
    assert report.dead_letters_unexpected == []
    assert report.dead_letters_missing == []
    assert all(report.kills.get(s, 0) >= 1 for s in ("gateway", "scraper", "analyzer", "generator"))
    assert report.ok, report.render()
