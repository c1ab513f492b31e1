"""Pace Etsy calls from the rate-limit headers Etsy returns.

Etsy limits each app per second and per rolling day and reports both on every response
(``x-limit-per-second``, ``x-remaining-this-second``, ``x-limit-per-day``, ``x-remaining-today``).

``PacingState`` is the decision logic, pure and driven by the caller's clock so it can be tested without
waiting. It treats each of the ``per_second`` slots as busy from the moment a request is sent until one
window after its response arrived. Etsy saw the request somewhere in between, so two requests sharing a
slot always reach Etsy at least a window apart, whatever the latency: the client can never exceed the
per-second limit, only fall slightly short of it.

``RateLimiter`` is the asyncio wrapper the client uses.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager, suppress

import msgspec

DEFAULT_PER_SECOND = 10
"""Etsy's default per-second limit, used until a response says otherwise."""
_EPSILON_S = 1e-6
"""Waits shorter than this are rounding noise, not worth a sleep."""


def _header_int(headers: Mapping[str, str], name: str) -> int | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        return int(float(raw.strip()))
    except ValueError:
        return None


class RateHeaders(msgspec.Struct, frozen=True, kw_only=True):
    """The four rate-limit headers of one response; ``None`` when absent or unreadable."""

    limit_per_second: int | None = None
    remaining_this_second: int | None = None
    limit_per_day: int | None = None
    remaining_today: int | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateHeaders:
        """Read the headers (names are case-insensitive in httpx's mapping)."""
        return cls(
            limit_per_second=_header_int(headers, "x-limit-per-second"),
            remaining_this_second=_header_int(headers, "x-remaining-this-second"),
            limit_per_day=_header_int(headers, "x-limit-per-day"),
            remaining_today=_header_int(headers, "x-remaining-today"),
        )


class DailyBudget(msgspec.Struct, frozen=True, kw_only=True):
    """What the client knows of today's budget; ``age_s`` is how old that knowledge is."""

    limit: int | None
    remaining: int | None
    age_s: float | None
    """Seconds since the last response that reported the budget; ``None`` before the first one."""

    def known_within(self, max_age_s: float) -> int | None:
        """``remaining`` if reported within ``max_age_s`` seconds, else ``None`` (the day is rolling)."""
        if self.remaining is None or self.age_s is None or self.age_s > max_age_s:
            return None
        return self.remaining


class PacingState:
    """Pure pacing decisions; every method takes ``now`` from a monotonic clock."""

    def __init__(self, per_second: int = DEFAULT_PER_SECOND, *, window_s: float = 1.0) -> None:
        if per_second < 1:
            raise ValueError("per_second must be at least 1")
        self.max_per_second = per_second
        """Ceiling set by configuration; headers may lower the limit in use, never raise it above this."""
        self.per_second = per_second
        self.window_s = window_s
        self.in_flight = 0
        self.limit_per_day: int | None = None
        self.remaining_today: int | None = None
        self.budget_observed_at: float | None = None
        self._released: deque[float] = deque()
        self._blocked_until = 0.0

    def _prune(self, now: float) -> None:
        while self._released and self._released[0] + self.window_s <= now:
            self._released.popleft()

    def wait_time(self, now: float) -> float | None:
        """Seconds to wait before the next request may be sent.

        Returns 0 to send now, a positive delay to re-check after, or ``None`` when every slot is held by a
        request still in flight (wait for one to finish).
        """
        self._prune(now + _EPSILON_S)
        if self._blocked_until > now + _EPSILON_S:
            return self._blocked_until - now
        if self.in_flight + len(self._released) < self.per_second:
            return 0.0
        if self._released:
            return self._released[0] + self.window_s - now
        return None

    def started(self, now: float) -> None:
        """A request is being sent now; it holds a slot and (probably) one call of today's budget."""
        del now  # kept for symmetry: slots are released by time, taken by count
        self.in_flight += 1
        if self.remaining_today is not None:
            self.remaining_today = max(0, self.remaining_today - 1)

    def finished(self, now: float, headers: RateHeaders | None = None) -> None:
        """A request's response (or failure) arrived now; ``headers`` are its rate-limit headers, if any."""
        self.in_flight = max(0, self.in_flight - 1)
        self._released.append(now)
        if headers is None:
            return
        if headers.limit_per_second is not None and headers.limit_per_second > 0:
            self.per_second = min(self.max_per_second, headers.limit_per_second)
        if headers.remaining_this_second is not None and headers.remaining_this_second <= self.in_flight:
            # Another process on the same app key may be using the rest of this second.
            self._blocked_until = max(self._blocked_until, now + self.window_s)
        if headers.limit_per_day is not None:
            self.limit_per_day = headers.limit_per_day
        if headers.remaining_today is not None:
            # Requests still in flight may not be counted in this figure yet: assume they will be.
            self.remaining_today = max(0, headers.remaining_today - self.in_flight)
            self.budget_observed_at = now

    def block_for(self, now: float, seconds: float) -> None:
        """Send nothing for ``seconds`` (a 429's ``retry-after``), whoever asks."""
        self._blocked_until = max(self._blocked_until, now + max(0.0, seconds))

    def daily_budget(self, now: float) -> DailyBudget:
        """Today's budget as last reported, less the calls sent since."""
        age = None if self.budget_observed_at is None else max(0.0, now - self.budget_observed_at)
        return DailyBudget(limit=self.limit_per_day, remaining=self.remaining_today, age_s=age)


class Slot:
    """Handed to the caller while it holds a slot, to report the response's headers."""

    __slots__ = ("headers",)

    def __init__(self) -> None:
        self.headers: RateHeaders | None = None


class RateLimiter:
    """Asyncio gate over ``PacingState``: ``async with limiter.slot() as slot:`` around each request."""

    def __init__(
        self, state: PacingState | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.state = state or PacingState()
        self._clock = clock
        self._changed = asyncio.Condition()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[Slot]:
        """Wait until a request may be sent, then hold a slot until the block exits."""
        async with self._changed:
            while (wait := self.state.wait_time(self._clock())) != 0.0:
                if wait is None:
                    await self._changed.wait()
                else:
                    with suppress(TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), timeout=wait)
            self.state.started(self._clock())
        held = Slot()
        try:
            yield held
        finally:
            async with self._changed:
                self.state.finished(self._clock(), held.headers)
                self._changed.notify_all()

    async def block_for(self, seconds: float) -> None:
        """Hold every request back for ``seconds``."""
        async with self._changed:
            self.state.block_for(self._clock(), seconds)

    def daily_budget(self) -> DailyBudget:
        """Today's budget as last reported."""
        return self.state.daily_budget(self._clock())
