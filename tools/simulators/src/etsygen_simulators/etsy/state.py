"""One simulator's mutable state: limits and usage per app key, injected faults, drafts and statistics."""

from __future__ import annotations

import math
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

import msgspec

from etsygen_simulators.etsy.catalogue import Catalogue
from etsygen_simulators.etsy.drafts import draft_listing
from etsygen_simulators.etsy.params import BadRequestError


class SimulatorConfig(msgspec.Struct, kw_only=True):
    """How a simulator instance behaves; every field can also be changed at runtime via ``/_sim/control``."""

    seed: int = 7
    """Seed of the synthetic catalogue; the same seed serves the same data."""
    per_second: int = 10
    """Requests per second allowed per app key (Etsy's default is 10)."""
    per_day: int = 10_000
    """Requests per rolling day allowed per app key (Etsy's default is 10,000)."""
    epoch: int | None = None
    """Unix time the catalogue is "as of"; default: start time rounded down to the hour."""
    api_keys: dict[str, str] | None = None
    """Accepted ``keystring -> shared_secret`` pairs; ``None`` accepts any well-formed key."""
    day_seconds: float = 86_400.0
    """Length of the rolling day."""


class Controls(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Body of ``POST /_sim/control``; absent fields leave the current setting unchanged."""

    fail_5xx: int | None = None
    """Answer the next N API requests with 500."""
    latency_ms: int | None = None
    """Delay every API response by this much (persistent until changed)."""
    force_429: int | None = None
    """Answer the next N API requests with 429 and ``retry-after``."""
    retry_after: float | None = None
    """``retry-after`` (seconds) of forced 429s."""
    malformed: int | None = None
    """Answer the next N API requests with a 200 whose body does not match the schema."""
    per_second: int | None = None
    per_day: int | None = None
    reset_day: bool = False
    """Forget every request of the rolling day (as if a day passed)."""
    reset_stats: bool = False


class KeyUsage:
    """Accepted request times of one app key: the last second and the rolling day."""

    def __init__(self) -> None:
        self.second: deque[float] = deque()
        self.day: deque[float] = deque()
        self.accepted = 0
        self.max_per_second = 0

    def prune(self, now: float, day_seconds: float) -> None:
        while self.second and self.second[0] <= now - 1.0:
            self.second.popleft()
        while self.day and self.day[0] <= now - day_seconds:
            self.day.popleft()


class SimulatorState:
    """Mutable state of one simulator: limits, injected faults, usage per key, drafts and statistics."""

    def __init__(self, config: SimulatorConfig, *, clock: Callable[[], float] = time.monotonic) -> None:
        epoch = config.epoch if config.epoch is not None else int(time.time()) // 3600 * 3600
        self.config = config
        self.catalogue = Catalogue(seed=config.seed, epoch=epoch)
        self.clock = clock
        self.per_second = config.per_second
        self.per_day = config.per_day
        self.fail_5xx = 0
        self.force_429 = 0
        self.retry_after = 1.0
        self.malformed = 0
        self.latency_ms = 0
        self.usage: dict[str, KeyUsage] = {}
        self.drafts: dict[int, dict[str, Any]] = {}
        self._next_draft_id = 1 << 50
        self._arrivals: deque[float] = deque()
        self.reset_stats()

    def reset_stats(self) -> None:
        """Zero every counter (usage windows, which enforce limits, are kept)."""
        self.requests = 0
        self.accepted = 0
        self.rejected_429 = 0
        self.rejected_auth = 0
        self.injected_5xx = 0
        self.injected_malformed = 0
        self.max_arrivals_per_second = 0
        self.by_endpoint: Counter[str] = Counter()
        for usage in self.usage.values():
            usage.accepted = 0
            usage.max_per_second = len(usage.second)

    def apply(self, controls: Controls) -> dict[str, Any]:
        """Apply a control request; returns the resulting settings."""
        if controls.fail_5xx is not None:
            self.fail_5xx = max(0, controls.fail_5xx)
        if controls.force_429 is not None:
            self.force_429 = max(0, controls.force_429)
        if controls.retry_after is not None:
            self.retry_after = max(0.0, controls.retry_after)
        if controls.malformed is not None:
            self.malformed = max(0, controls.malformed)
        if controls.latency_ms is not None:
            self.latency_ms = max(0, controls.latency_ms)
        if controls.per_second is not None:
            self.per_second = max(1, controls.per_second)
        if controls.per_day is not None:
            self.per_day = max(0, controls.per_day)
        if controls.reset_day:
            for usage in self.usage.values():
                usage.day.clear()
        if controls.reset_stats:
            self.reset_stats()
        return self.settings()

    def settings(self) -> dict[str, Any]:
        """Current limits and pending injected faults."""
        return {
            "per_second": self.per_second,
            "per_day": self.per_day,
            "fail_5xx": self.fail_5xx,
            "force_429": self.force_429,
            "retry_after": self.retry_after,
            "malformed": self.malformed,
            "latency_ms": self.latency_ms,
            "seed": self.config.seed,
            "epoch": self.catalogue.epoch,
        }

    def stats(self) -> dict[str, Any]:
        """What the simulator observed; ``max_per_second`` is over accepted requests in any 1 s window."""
        now = self.clock()
        for usage in self.usage.values():
            usage.prune(now, self.config.day_seconds)
        return {
            "synthetic": True,
            "requests": self.requests,
            "accepted": self.accepted,
            "rejected_429": self.rejected_429,
            "rejected_auth": self.rejected_auth,
            "injected_5xx": self.injected_5xx,
            "injected_malformed": self.injected_malformed,
            "max_per_second": max((usage.max_per_second for usage in self.usage.values()), default=0),
            "max_arrivals_per_second": self.max_arrivals_per_second,
            "day_count": sum(len(usage.day) for usage in self.usage.values()),
            "per_second_limit": self.per_second,
            "per_day_limit": self.per_day,
            "by_endpoint": dict(self.by_endpoint),
            "keys": {
                key: {
                    "accepted": usage.accepted,
                    "day_count": len(usage.day),
                    "max_per_second": usage.max_per_second,
                }
                for key, usage in self.usage.items()
            },
        }

    def note_arrival(self, now: float) -> None:
        self.requests += 1
        self._arrivals.append(now)
        while self._arrivals and self._arrivals[0] <= now - 1.0:
            self._arrivals.popleft()
        self.max_arrivals_per_second = max(self.max_arrivals_per_second, len(self._arrivals))

    def authenticate(self, header: str | None) -> str:
        """The app's keystring, or a 401 explaining the expected form."""
        if not header:
            raise BadRequestError("Missing x-api-key header; send '<keystring>:<shared_secret>'", 401)
        keystring, sep, secret = header.partition(":")
        if not sep or not keystring or not secret:
            raise BadRequestError(
                "Invalid API key: x-api-key must be '<keystring>:<shared_secret>' (shared secret required)",
                401,
            )
        known = self.config.api_keys
        if known is not None and known.get(keystring) != secret:
            raise BadRequestError("Invalid API key: unknown keystring or wrong shared secret", 401)
        return keystring

    def rate_headers(self, usage: KeyUsage) -> dict[str, str]:
        return {
            "x-limit-per-second": str(self.per_second),
            "x-remaining-this-second": str(max(0, self.per_second - len(usage.second))),
            "x-limit-per-day": str(self.per_day),
            "x-remaining-today": str(max(0, self.per_day - len(usage.day))),
        }

    def admit(self, keystring: str) -> tuple[KeyUsage, float | None]:
        """Count the request against the key's limits; returns the usage and a retry-after if refused."""
        now = self.clock()
        usage = self.usage.setdefault(keystring, KeyUsage())
        usage.prune(now, self.config.day_seconds)
        if len(usage.day) >= self.per_day:
            oldest = usage.day[0] if usage.day else now
            return usage, max(1.0, math.ceil(oldest + self.config.day_seconds - now))
        if len(usage.second) >= self.per_second:
            return usage, max(1.0, math.ceil(usage.second[0] + 1.0 - now))
        usage.second.append(now)
        usage.day.append(now)
        usage.accepted += 1
        usage.max_per_second = max(usage.max_per_second, len(usage.second))
        self.accepted += 1
        return usage, None

    def create_draft(self, shop_id: int, user_id: int, form: dict[str, list[str]]) -> dict[str, Any]:
        """Validate a ``createDraftListing`` form and store the draft; raises ``BadRequestError``."""
        listing_id = self._next_draft_id
        draft = draft_listing(form, listing_id=listing_id, shop_id=shop_id, user_id=user_id)
        self._next_draft_id += 1
        self.drafts[listing_id] = draft
        return draft
