"""The GCRA reference model and the rate-limit headers (pure, no Redis)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from etsygen_gateway.domain.ratelimit import (
    Decision,
    Tier,
    combine,
    describe_wait,
    gcra,
    headers_for,
    merge,
    result_from,
)

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


AI = Tier(name="ai", limit=20, window_s=3600)


def test_a_costly_request_needs_that_many_tokens_left_and_takes_all_or_none() -> None:
    tat: float | None = None
    ok, tat, _ = gcra(tat, 0.0, AI, cost=15)
    assert ok
    ok, unchanged, wait_us = gcra(tat, 0.0, AI, cost=6)  # five left: refused, nothing spent
    assert not ok
    assert unchanged == tat
    assert wait_us == AI.interval_us  # one more token, one interval from now
    ok, tat, _ = gcra(tat, 0.0, AI, cost=5)
    assert ok
    assert not gcra(tat, 0.0, AI)[0]


def test_a_cost_of_the_whole_limit_fits_a_full_budget_and_more_never_does() -> None:
    assert gcra(None, 0.0, AI, cost=20)[0]
    with pytest.raises(ValueError, match="can never fit"):
        gcra(None, 0.0, AI, cost=21)


def test_a_refund_gives_tokens_back_but_never_more_than_a_full_budget() -> None:
    ok, tat, _ = gcra(None, 0.0, AI, cost=20)
    ok, tat, _ = gcra(tat, 0.0, AI, cost=-3)
    assert ok
    assert [gcra(tat, 0.0, AI, cost=c)[0] for c in (4, 3)] == [False, True]
    _, full, _ = gcra(None, 0.0, AI, cost=-5)  # refunding a full budget
    ok, after, _ = gcra(full, 0.0, AI, cost=20)
    assert ok
    assert not gcra(after, 0.0, AI)[0]  # the refund did not make room beyond the limit


@given(st.lists(st.integers(min_value=-3, max_value=20), min_size=1, max_size=60))
def test_a_cost_is_admitted_exactly_when_that_much_is_left(costs: list[int]) -> None:
    tat: float | None = None
    spent = 0
    for cost in costs:
        ok, tat, _ = gcra(tat, 0.0, AI, cost=cost)
        assert ok == (spent + cost <= AI.limit)
        if ok:
            spent = max(0, spent + cost)  # refunds never make a budget fuller than full


def test_a_refused_costly_request_says_how_much_is_left() -> None:
    # 15 of 20 spent: 5 left; a request of 8 is refused until 3 more came back.
    reset = 15 * AI.interval_us
    result = result_from(AI, False, reset, 3 * AI.interval_us, cost=8)
    assert result.remaining == 5
    assert result.retry_after_s == 3 * 180
    assert result.reset_s == 15 * 180
    assert result_from(AI, False, reset, AI.interval_us).remaining == 0  # cost 1: refused only when empty


def test_a_handlers_decision_joins_the_access_checks_and_replaces_what_it_redescribes() -> None:
    access = combine([API], [(True, API.interval_us, 0.0)])
    failures = Tier(name="auth-failures-ip", limit=5, window_s=900)
    spent = combine([failures], [(True, failures.interval_us, 0.0)])
    both = merge(access, spent)
    assert [r.tier.name for r in both.results] == ["api", "auth-failures-ip"]
    refunded = merge(both, combine([failures], [(True, 0.0, 0.0)]))
    assert [(r.tier.name, r.remaining) for r in refunded.results] == [("api", 99), ("auth-failures-ip", 5)]
    refused = merge(access, combine([failures], [(False, 900 * SECOND, 180 * SECOND)]))
    assert not refused.allowed
    assert dict(headers_for(refused))["retry-after"] == "180"


def test_waits_read_as_a_person_says_them() -> None:
    assert [describe_wait(s) for s in (1, 45, 89, 90, 840, 3600, 5400, 7200)] == [
        "1 second",
        "45 seconds",
        "89 seconds",
        "2 minutes",
        "14 minutes",
        "60 minutes",
        "2 hours",
        "2 hours",
    ]
