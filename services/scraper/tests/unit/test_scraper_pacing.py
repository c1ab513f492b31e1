"""Pacing decisions from Etsy's rate-limit headers, with a fake clock."""

from __future__ import annotations

from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etsygen_scraper.adapters.rate_limit import DailyBudget, PacingState, RateHeaders


def test_headers_are_read_case_insensitively_and_bad_values_ignored() -> None:
    headers = RateHeaders.from_headers(
        {
            "x-limit-per-second": "10",
            "x-remaining-this-second": "9",
            "x-limit-per-day": "10000",
            "x-remaining-today": "oops",
        }
    )

    assert headers == RateHeaders(limit_per_second=10, remaining_this_second=9, limit_per_day=10_000)


def test_sends_up_to_the_limit_then_waits_for_the_oldest_slot() -> None:
    state = PacingState(per_second=3)
    for moment in (0.0, 0.1, 0.2):
        assert state.wait_time(moment) == 0.0
        state.started(moment)
        state.finished(moment + 0.05)

    assert state.wait_time(0.3) == pytest.approx(0.75)
    assert state.wait_time(1.05) == 0.0


def test_requests_in_flight_hold_their_slot_until_they_finish() -> None:
    state = PacingState(per_second=2)
    state.started(0.0)
    state.started(0.0)

    assert state.wait_time(5.0) is None
    state.finished(5.0)
    assert state.wait_time(5.5) == pytest.approx(0.5)


def test_server_limit_lowers_but_never_raises_the_configured_ceiling() -> None:
    state = PacingState(per_second=10)
    state.started(0.0)
    state.finished(0.0, RateHeaders(limit_per_second=4))
    assert state.per_second == 4

    state.started(0.0)
    state.finished(0.0, RateHeaders(limit_per_second=50))
    assert state.per_second == 10


def test_no_remaining_this_second_blocks_for_a_window() -> None:
    state = PacingState(per_second=10)
    state.started(0.0)
    state.finished(0.2, RateHeaders(remaining_this_second=0))

    assert state.wait_time(0.5) == pytest.approx(0.7)


def test_retry_after_blocks_everyone() -> None:
    state = PacingState(per_second=10)
    state.block_for(10.0, 3.0)

    assert state.wait_time(11.0) == pytest.approx(2.0)
    assert state.wait_time(13.0) == 0.0


def test_daily_budget_follows_headers_and_counts_calls_sent_since() -> None:
    state = PacingState()
    assert state.daily_budget(0.0) == DailyBudget(limit=None, remaining=None, age_s=None)

    state.started(0.0)
    state.finished(1.0, RateHeaders(limit_per_day=500, remaining_today=42))
    state.started(2.0)

    budget = state.daily_budget(3.0)
    assert budget == DailyBudget(limit=500, remaining=41, age_s=2.0)
    assert budget.known_within(5.0) == 41
    assert budget.known_within(1.0) is None


def test_remaining_today_assumes_calls_in_flight_will_be_counted() -> None:
    state = PacingState()
    state.started(0.0)
    state.started(0.0)
    state.finished(0.1, RateHeaders(remaining_today=10))

    assert state.remaining_today == 9


@settings(max_examples=200)
@given(
    per_second=st.integers(min_value=1, max_value=12),
    plan=st.lists(
        st.tuples(
            st.floats(min_value=0.0, max_value=0.4),  # think time before asking
            st.floats(min_value=0.0, max_value=0.6),  # latency
            st.floats(min_value=0.0, max_value=1.0),  # where in the flight the server sees it
        ),
        min_size=1,
        max_size=60,
    ),
)
def test_server_never_sees_more_than_the_limit_in_any_second(
    per_second: int, plan: list[tuple[float, float, float]]
) -> None:
    """Up to ``per_second`` concurrent callers; the server sees each request somewhere in its flight."""
    state = PacingState(per_second=per_second)
    now = 0.0
    in_flight: list[tuple[float, float]] = []  # (finish time, server time)
    server_times: list[float] = []
    for think, latency, where in plan:
        now += think
        while True:
            for done in sorted(item for item in in_flight if item[0] <= now):
                state.finished(done[0])
                in_flight.remove(done)
            wait = state.wait_time(now)
            if wait == 0.0:
                break
            now = min(item[0] for item in in_flight) if wait is None else now + wait
        state.started(now)
        server_times.append(now + where * latency)
        in_flight.append((now + latency, now + where * latency))

    window: deque[float] = deque()
    for moment in sorted(server_times):
        window.append(moment)
        while window[0] <= moment - 1.0 + 1e-6:
            window.popleft()
        assert len(window) <= per_second
