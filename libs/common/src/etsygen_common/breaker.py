"""Circuit breakers around external dependencies (Etsy API, AI providers), on aiobreaker.

One wrapper serves every service. Listeners feed Prometheus (state, calls by outcome, transitions), the log,
and a Redis hash ``{prefix}breaker:{service}:{name}`` that the gateway's admin API reads. Half-open admits a
bounded number of concurrent trial calls (aiobreaker itself lets every caller through). While a breaker is
open, :class:`BreakerOpenError` tells the caller how long to wait; consumers turn that into
:class:`etsygen_common.kafka.PauseConsumption` so records are not burnt into retries.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from aiobreaker import CircuitBreaker, CircuitBreakerError, CircuitBreakerListener, CircuitBreakerState

from etsygen_common.logging import get_logger
from etsygen_common.metrics import BREAKER_CALLS, BREAKER_STATE, BREAKER_TRANSITIONS

log = get_logger(__name__)
T = TypeVar("T")

_STATE_VALUE = {"closed": 0, "half-open": 1, "open": 2}


class BreakerOpenError(Exception):
    """The breaker is open (or its half-open trial slots are taken); retry after ``retry_after`` seconds."""

    def __init__(self, name: str, retry_after: float) -> None:
        super().__init__(f"circuit breaker {name!r} is open; retry in {retry_after:.1f}s")
        self.name = name
        self.retry_after = retry_after


def _state_name(state: Any) -> str:
    value = getattr(state, "state", state)
    return {
        CircuitBreakerState.CLOSED: "closed",
        CircuitBreakerState.OPEN: "open",
        CircuitBreakerState.HALF_OPEN: "half-open",
    }.get(value, str(value))


class Breaker:
    """A circuit breaker for one dependency of one service."""

    def __init__(
        self,
        name: str,
        *,
        service: str,
        fail_max: int = 5,
        reset_timeout_s: float = 60.0,
        half_open_max_calls: int = 1,
        exclude: Iterable[type[BaseException]] = (),
        redis: Any = None,
        key_prefix: str = "etsygen:",
    ) -> None:
        """Create a breaker.

        Args:
            name: the dependency (``etsy-api``, ``ai-openai``...).
            service: the owning service, a metrics label.
            fail_max: consecutive failures that open the breaker.
            reset_timeout_s: how long it stays open before half-opening.
            half_open_max_calls: trial calls admitted at once while half-open.
            exclude: exception types that are the caller's fault, not the dependency's (never counted).
            redis: optional asyncio Redis client to publish state for the gateway.
            key_prefix: prefix of the Redis key.
        """
        self.name = name
        self.service = service
        self.half_open_max_calls = half_open_max_calls
        self._trials = 0
        self._redis = redis
        self._key = f"{key_prefix}breaker:{service}:{name}"
        self._cb = CircuitBreaker(
            fail_max=fail_max,
            timeout_duration=timedelta(seconds=reset_timeout_s),
            exclude=list(exclude),
            listeners=[_Listener(self)],
            name=name,
        )
        self._tasks: set[asyncio.Task[None]] = set()
        BREAKER_STATE.labels(service, name).set(0)

    def attach_redis(self, redis: Any) -> None:
        """Publish state transitions to ``redis`` from now on (the client exists once the service runs)."""
        self._redis = redis

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``half-open`` (an open breaker whose timeout elapsed reads half-open)."""
        name = _state_name(self._cb.current_state)
        if name == "open" and self.retry_after() == 0:
            return "half-open"
        return name

    @property
    def failures(self) -> int:
        """Consecutive failures counted so far."""
        return int(self._cb.fail_counter)

    def retry_after(self) -> float:
        """Seconds until an open breaker admits a trial call (0 when it would now)."""
        if _state_name(self._cb.current_state) != "open":
            return 0.0
        opened = self._cb._state_storage.opened_at  # aiobreaker exposes no public accessor
        if opened is None:
            return 0.0
        reopen = opened + self._cb.timeout_duration
        return float(max(0.0, (reopen - datetime.utcnow()).total_seconds()))  # noqa: DTZ003 - aiobreaker uses naive UTC

    async def call(self, func: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """Call ``func`` through the breaker.

        Raises:
            BreakerOpenError: the breaker is open or no half-open trial slot is free.
            Exception: whatever ``func`` raised (also when that failure opened the breaker).
        """
        state = self.state
        if state == "open":
            BREAKER_CALLS.labels(self.service, self.name, "rejected").inc()
            raise BreakerOpenError(self.name, self.retry_after())
        trial = state == "half-open"
        if trial:
            if self._trials >= self.half_open_max_calls:
                BREAKER_CALLS.labels(self.service, self.name, "rejected").inc()
                raise BreakerOpenError(self.name, 1.0)
            self._trials += 1
        try:
            result: T = await self._cb.call_async(func, *args, **kwargs)
            return result
        except CircuitBreakerError as exc:
            if exc.__cause__ is not None:  # the call failed and that failure opened the breaker
                raise exc.__cause__ from None
            BREAKER_CALLS.labels(self.service, self.name, "rejected").inc()
            raise BreakerOpenError(self.name, self.retry_after()) from None
        finally:
            if trial:
                self._trials -= 1

    def _published(self, state: str) -> None:
        if self._redis is None:
            return
        mapping = {
            "state": state,
            "changed_at": datetime.now(UTC).isoformat(),
            "failures": str(self.failures),
            "service": self.service,
            "name": self.name,
            "updated": str(time.time()),
        }

        async def write() -> None:
            try:
                await self._redis.hset(self._key, mapping=mapping)
            except Exception as exc:  # Redis is optional here; metrics still have the state
                log.debug("breaker state not published", extra={"error": repr(exc)})

        try:
            task = asyncio.get_running_loop().create_task(write())
        except RuntimeError:
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


class _Listener(CircuitBreakerListener):  # type: ignore[misc]
    def __init__(self, breaker: Breaker) -> None:
        self._b = breaker

    def success(self, breaker: CircuitBreaker) -> None:
        BREAKER_CALLS.labels(self._b.service, self._b.name, "success").inc()

    def failure(self, breaker: CircuitBreaker, exception: Exception) -> None:
        BREAKER_CALLS.labels(self._b.service, self._b.name, "failure").inc()

    def state_change(self, breaker: CircuitBreaker, old: Any, new: Any) -> None:
        to = _state_name(new)
        if old is not None and _state_name(old) == to:
            # With several half-open trials, each successful (or failed) trial closes (or reopens) the
            # breaker again; aiobreaker reports that as a change, but the state did not change.
            return
        BREAKER_STATE.labels(self._b.service, self._b.name).set(_STATE_VALUE.get(to, 0))
        BREAKER_TRANSITIONS.labels(self._b.service, self._b.name, to).inc()
        log.warning(
            "circuit breaker state changed",
            extra={"breaker": self._b.name, "from": _state_name(old), "to": to},
        )
        self._b._published(to)  # the listener belongs to the wrapper
