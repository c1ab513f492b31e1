"""Per-stage deadlines of keywords, on a fake clock: stalled, waiting for a known reason, finished."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from etsygen_gateway.domain.deadlines import (
    KeywordClock,
    Pace,
    deadline,
    etsy_calls,
    is_stalled,
    shortest_allowance_s,
    stage_of,
)

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
PACE = Pace(
    etsy_call_s=0.5, review_calls=20, analysis_s=30, ai_call_s=30, ai_attempts=3, margin_s=60, ceiling_s=900
)


def at(seconds: float) -> datetime:
    """The fake clock: ``seconds`` after the keyword's last progress."""
    return T0 + timedelta(seconds=seconds)


def clock(stage: str = "scrape", **kw: object) -> KeywordClock:
    fields: dict[str, object] = {"stage": stage, "updated_at": T0, "listing_budget": 100, "concepts": 1}
    fields.update(kw)
    return KeywordClock(**fields)  # type: ignore[arg-type]


def test_the_stage_follows_the_per_stage_statuses() -> None:
    assert stage_of("pending", "pending", "pending") == "scrape"
    assert stage_of("ok", "pending", "pending") == "analyze"
    assert stage_of("ok", "ok", "running") == "generate"
    assert stage_of("failed", "pending", "pending") == "done"
    assert stage_of("ok", "failed", "pending") == "done"
    assert stage_of("ok", "ok", "ok") == "done"


def test_a_scrape_is_given_its_etsy_calls_at_the_pace_plus_the_margin() -> None:
    assert etsy_calls(100, 20) == 23
    assert etsy_calls(1000, 20) == 32
    # 23 calls at 0.5 s, plus 60 s of margin.
    assert deadline(clock(), PACE) == at(23 * 0.5 + 60)
    assert not is_stalled(clock(), PACE, at(71))
    assert is_stalled(clock(), PACE, at(72))


def test_a_bigger_scrape_and_keywords_later_in_the_job_get_longer() -> None:
    small = deadline(clock(listing_budget=100), PACE)
    big = deadline(clock(listing_budget=1000), PACE)
    third = deadline(clock(listing_budget=100, position=2), PACE)
    assert small is not None
    assert big is not None
    assert small < big
    assert third == at(3 * 23 * 0.5 + 60)  # it waits for the two keywords before it


def test_analysis_is_short_and_generation_scales_with_attempts_and_concepts() -> None:
    assert deadline(clock("analyze"), PACE) == at(30 + 60)
    assert deadline(clock("generate", concepts=2), PACE) == at(30 * 3 * 2 + 60)


def test_the_flat_setting_stays_the_upper_bound() -> None:
    huge = clock("generate", concepts=50)  # 4500 s of AI calls
    assert deadline(huge, PACE) == at(900)
    assert is_stalled(huge, PACE, at(900))


def test_each_redrive_gives_the_stage_one_more_stage_time() -> None:
    assert deadline(clock("analyze", redrives=1), PACE) == at(2 * 30 + 60)
    assert deadline(clock("analyze", redrives=2), PACE) == at(3 * 30 + 60)


def test_a_keyword_waiting_for_the_daily_budget_is_not_stalled_before_it_resumes() -> None:
    resumes = at(4 * 3600)  # Etsy's budget comes back in four hours: past the flat 900 s
    waiting = clock(resume_at=resumes)
    assert not is_stalled(waiting, PACE, at(900))
    assert not is_stalled(waiting, PACE, resumes)
    assert not is_stalled(waiting, PACE, resumes + timedelta(seconds=59))
    assert is_stalled(waiting, PACE, resumes + timedelta(seconds=60))


def test_a_keyword_behind_an_open_breaker_waits_for_the_trial_call() -> None:
    waiting = clock("generate", resume_at=at(300))
    assert deadline(waiting, PACE) == at(360)
    assert not is_stalled(waiting, PACE, at(359))
    assert is_stalled(waiting, PACE, at(360))


def test_a_retry_due_soon_does_not_shorten_the_stage_deadline() -> None:
    waiting = clock("analyze", resume_at=at(10))  # the retry is due before the stage's own deadline
    assert deadline(waiting, PACE) == at(90)
    assert not is_stalled(waiting, PACE, at(89))
    assert is_stalled(waiting, PACE, at(90))


def test_a_finished_keyword_is_never_stalled() -> None:
    done = clock("done")
    assert deadline(done, PACE) is None
    assert not is_stalled(done, PACE, at(10**6))


def test_the_shortest_allowance_bounds_what_the_sweep_reads() -> None:
    shortest = shortest_allowance_s(PACE)
    assert shortest == 60 + 2 * 0.5
    for stage in ("scrape", "analyze", "generate"):
        assert deadline(clock(stage, listing_budget=0), PACE) >= at(shortest)  # type: ignore[operator]
