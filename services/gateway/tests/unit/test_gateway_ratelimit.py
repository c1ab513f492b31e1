"""The GCRA reference model and the rate-limit headers (pure, no Redis)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from etsygen_gateway.domain.ratelimit import Decision, Tier, combine, gcra, headers_for, result_from

API = Tier(name="api", limit=100, window_s=900)
SECOND = 1_000_000.0


def run(tier: Tier, arrivals_us: list[float]) -> list[bool]:
    tat: float | None = None
    admitted = []
    for now in arrivals_us:
        ok, tat, _ = gcra(tat, now, tier)
        admitted.append(ok)
    return admitted


def test_a_full_budget_admits_exactly_the_limit_at_once() -> None:
    admitted = run(API, [0.0] * 150)
    assert admitted.count(True) == 100
    assert admitted[:100] == [True] * 100


def test_a_refused_request_learns_when_to_retry() -> None:
    tat: float | None = None
    for _ in range(100):
        _, tat, _ = gcra(tat, 0.0, API)
    ok, _, wait_us = gcra(tat, 0.0, API)
    assert not ok
    assert wait_us == API.interval_us  # one emission interval: 9 s for 100 per 15 min


def test_budget_comes_back_one_request_per_interval() -> None:
    admitted = run(API, [0.0] * 100 + [API.interval_us - 1, API.interval_us, API.interval_us])
    assert admitted[100:] == [False, True, False]


@given(st.lists(st.floats(min_value=0, max_value=3600 * SECOND), min_size=1, max_size=300))
def test_never_more_than_the_burst_plus_what_the_elapsed_time_earned(times: list[float]) -> None:
    tier = Tier(name="t", limit=10, window_s=60)
    arrivals = sorted(times)
    admitted = run(tier, arrivals)
    horizon = arrivals[-1] - arrivals[0]
    assert sum(admitted) <= tier.limit + horizon / tier.interval_us + 1e-9


@given(st.integers(min_value=1, max_value=1000), st.integers(min_value=1, max_value=86_400))
def test_remaining_counts_down_from_limit_minus_one(limit: int, window: int) -> None:
    tier = Tier(name="t", limit=limit, window_s=window)
    first = result_from(tier, True, tier.interval_us, 0)
    assert first.remaining == limit - 1
    last = result_from(tier, True, tier.interval_us * limit, 0)
    assert last.remaining == 0


def test_headers_follow_the_ietf_draft_and_the_x_ratelimit_convention() -> None:
    decision = combine([API], [(True, 3 * API.interval_us, 0.0)])
    headers = dict(headers_for(decision))
    assert headers["ratelimit-policy"] == '"api";q=100;w=900'
    assert headers["ratelimit"] == '"api";r=97;t=27'
    assert headers["x-ratelimit-limit"] == "100"
    assert headers["x-ratelimit-remaining"] == "97"
    assert headers["x-ratelimit-reset"] == "27"
    assert "retry-after" not in headers


def test_a_refusal_names_the_exhausted_tier_and_says_when_to_retry() -> None:
    ai = Tier(name="ai", limit=20, window_s=3600)
    decision = combine([ai, API], [(False, 3600 * SECOND, 180 * SECOND), (True, 5 * API.interval_us, 0.0)])
    headers = dict(headers_for(decision))
    assert not decision.allowed
    assert headers["x-ratelimit-limit"] == "20"
    assert headers["x-ratelimit-remaining"] == "0"
    assert headers["retry-after"] == "180"
    assert headers["ratelimit-policy"] == '"ai";q=20;w=3600, "api";q=100;w=900'


def test_failing_open_sends_no_rate_limit_headers() -> None:
    assert headers_for(Decision(allowed=True, results=(), failed_open=True)) == []
