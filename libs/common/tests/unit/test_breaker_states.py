"""The circuit breaker wrapper: closed → open → half-open → closed/open, bounded trials, metrics.

No I/O: the dependency is a coroutine the test controls, Redis is a recording fake. Each test names its
breaker uniquely, so the process-global Prometheus series start from zero.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from prometheus_client import REGISTRY

from etsygen_common.breaker import Breaker, BreakerOpenError
from etsygen_common.testing.plugin import wait_until

SERVICE = "unit"
RESET_S = 0.3


class Unavailable(ConnectionError):
    """The dependency is down."""


class BadInput(ValueError):
    """The caller's fault: excluded from the breaker's failure count."""


class RecordingRedis:
    """Collects ``hset`` calls the way the breaker makes them."""

    def __init__(self) -> None:
        self.hashes: dict[str, dict[str, str]] = {}
        self.writes: list[tuple[str, dict[str, str]]] = []

    async def hset(self, key: str, mapping: dict[str, str]) -> int:
        self.writes.append((key, dict(mapping)))
        self.hashes.setdefault(key, {}).update(mapping)
        return len(mapping)


def _name() -> str:
    return f"dep-{uuid.uuid4().hex[:8]}"


def _value(metric: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(metric, labels) or 0.0


def state_gauge(b: Breaker) -> float:
    return _value("etsygen_circuit_breaker_state", service=b.service, breaker=b.name)


def transitions(b: Breaker, to: str) -> float:
    return _value("etsygen_circuit_breaker_transitions_total", service=b.service, breaker=b.name, to=to)


def calls(b: Breaker, outcome: str) -> float:
    return _value("etsygen_circuit_breaker_calls_total", service=b.service, breaker=b.name, outcome=outcome)


async def fail() -> None:
    raise Unavailable("connection refused")


async def ok() -> str:
    return "ok"


async def trip(b: Breaker, n: int) -> None:
    for _ in range(n):
        with pytest.raises(Unavailable):
            await b.call(fail)


async def test_a_new_breaker_is_closed_and_passes_results_through() -> None:
    b = Breaker(_name(), service=SERVICE, fail_max=3, reset_timeout_s=RESET_S)
    assert b.state == "closed"
    assert state_gauge(b) == 0
    assert await b.call(ok) == "ok"
    assert calls(b, "success") == 1


async def test_opens_after_fail_max_consecutive_failures_and_rejects_without_calling() -> None:
    b = Breaker(_name(), service=SERVICE, fail_max=3, reset_timeout_s=30)
    await trip(b, 2)
    assert b.state == "closed"
    assert b.failures == 2
    # The third failure opens it; the caller still sees the dependency's own error, not a breaker error.
    with pytest.raises(Unavailable):
        await b.call(fail)
    assert b.state == "open"
    assert state_gauge(b) == 2
    assert transitions(b, "open") == 1
    assert calls(b, "failure") == 3

    reached = 0

    async def counted() -> None:
        nonlocal reached
        reached += 1

    with pytest.raises(BreakerOpenError) as rejected:
        await b.call(counted)
    assert reached == 0
    assert rejected.value.name == b.name
    assert 29 < rejected.value.retry_after <= 30
    assert calls(b, "rejected") == 1


async def test_a_success_resets_the_consecutive_failure_count() -> None:
    b = Breaker(_name(), service=SERVICE, fail_max=3, reset_timeout_s=30)
    await trip(b, 2)
    await b.call(ok)
    await trip(b, 2)
    assert b.state == "closed"
    assert transitions(b, "open") == 0


async def test_excluded_errors_are_the_callers_fault_and_never_open_it() -> None:
    b = Breaker(_name(), service=SERVICE, fail_max=2, reset_timeout_s=30, exclude=(BadInput,))

    async def bad() -> None:
        raise BadInput("title too long")

    for _ in range(5):
        with pytest.raises(BadInput):
            await b.call(bad)
    assert b.state == "closed"
    assert calls(b, "failure") == 0


async def test_half_opens_after_the_timeout_and_a_successful_trial_closes_it() -> None:
    b = Breaker(_name(), service=SERVICE, fail_max=2, reset_timeout_s=RESET_S)
    await trip(b, 2)
    assert b.state == "open"
    assert b.retry_after() > 0
    await wait_until(lambda: b.state == "half-open", timeout=5, what="the reset timeout to elapse")
    assert b.retry_after() == 0

    assert await b.call(ok) == "ok"
    assert b.state == "closed"
    assert b.failures == 0
    assert state_gauge(b) == 0
    assert transitions(b, "half-open") == 1
    assert transitions(b, "closed") == 1
    # Closed again: failures count from zero.
    await trip(b, 1)
    assert b.state == "closed"


async def test_a_failed_trial_reopens_it_for_another_timeout() -> None:
    b = Breaker(_name(), service=SERVICE, fail_max=2, reset_timeout_s=RESET_S)
    await trip(b, 2)
    await wait_until(lambda: b.state == "half-open", timeout=5, what="the reset timeout to elapse")

    with pytest.raises(Unavailable):
        await b.call(fail)
    assert b.state == "open"
    assert state_gauge(b) == 2
    assert transitions(b, "open") == 2
    assert transitions(b, "half-open") == 1
    with pytest.raises(BreakerOpenError) as rejected:
        await b.call(ok)
    assert 0 < rejected.value.retry_after <= RESET_S


@pytest.mark.parametrize("max_trials", [1, 2])
async def test_half_open_admits_at_most_half_open_max_calls_concurrent_trials(max_trials: int) -> None:
    b = Breaker(_name(), service=SERVICE, fail_max=1, reset_timeout_s=RESET_S, half_open_max_calls=max_trials)
    await trip(b, 1)
    await wait_until(lambda: b.state == "half-open", timeout=5, what="the reset timeout to elapse")

    release = asyncio.Event()
    running = 0
    peak = 0

    async def slow_trial() -> str:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await release.wait()
        running -= 1
        return "recovered"

    callers = [asyncio.create_task(b.call(slow_trial)) for _ in range(max_trials + 3)]
    await wait_until(lambda: running == max_trials, timeout=5, what="the trial calls to start")
    assert b.state == "half-open"
    assert state_gauge(b) == 1
    # Every caller beyond the trial slots was turned away at once, without reaching the dependency.
    await wait_until(
        lambda: sum(t.done() for t in callers) == 3, timeout=5, what="the surplus callers to be rejected"
    )
    rejected = [t for t in callers if t.done()]
    for task in rejected:
        assert isinstance(task.exception(), BreakerOpenError)
    assert calls(b, "rejected") == 3

    release.set()
    results = await asyncio.gather(*(t for t in callers if t not in rejected))
    assert results == ["recovered"] * max_trials
    assert peak == max_trials
    assert b.state == "closed"
    assert transitions(b, "closed") == 1, "concurrent successful trials close the breaker once"
    # Closed again: a burst is admitted as a whole.
    assert await asyncio.gather(*(b.call(ok) for _ in range(5))) == ["ok"] * 5


async def test_trial_slots_are_released_when_a_trial_is_cancelled() -> None:
    b = Breaker(_name(), service=SERVICE, fail_max=1, reset_timeout_s=RESET_S, half_open_max_calls=1)
    await trip(b, 1)
    await wait_until(lambda: b.state == "half-open", timeout=5, what="the reset timeout to elapse")

    async def hang() -> None:
        await asyncio.Event().wait()

    trial = asyncio.create_task(b.call(hang))
    await asyncio.sleep(0)  # let the trial take its slot
    with pytest.raises(BreakerOpenError):
        await b.call(ok)
    trial.cancel()
    with pytest.raises(asyncio.CancelledError):
        await trial
    assert await b.call(ok) == "ok"
    assert b.state == "closed"


async def test_every_transition_is_published_to_the_redis_hash() -> None:
    redis = RecordingRedis()
    b = Breaker(_name(), service="scraper", fail_max=2, reset_timeout_s=RESET_S, key_prefix="pfx:")
    b.attach_redis(redis)
    key = f"pfx:breaker:scraper:{b.name}"

    await trip(b, 2)
    await wait_until(lambda: len(redis.writes) == 1, timeout=5, what="the open state to be published")
    assert redis.hashes[key]["state"] == "open"
    assert redis.hashes[key]["failures"] == "2"
    assert redis.hashes[key]["service"] == "scraper"
    assert redis.hashes[key]["name"] == b.name

    await wait_until(lambda: b.state == "half-open", timeout=5, what="the reset timeout to elapse")
    await b.call(ok)
    await wait_until(lambda: len(redis.writes) == 3, timeout=5, what="half-open and closed to be published")
    assert [w[1]["state"] for w in redis.writes] == ["open", "half-open", "closed"]
    assert {w[0] for w in redis.writes} == {key}
    assert redis.hashes[key]["state"] == "closed"


async def test_an_unreachable_redis_never_fails_the_call() -> None:
    class BrokenRedis:
        async def hset(self, key: str, mapping: dict[str, Any]) -> int:
            raise ConnectionError("redis is down")

    b = Breaker(_name(), service=SERVICE, fail_max=1, reset_timeout_s=30, redis=BrokenRedis())
    await trip(b, 1)
    assert b.state == "open"
    await asyncio.sleep(0)  # the publishing task runs and swallows its error
    with pytest.raises(BreakerOpenError):
        await b.call(ok)
