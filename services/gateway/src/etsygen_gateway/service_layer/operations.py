"""Operator use cases: dead letters (list, inspect, replay, discard), circuit breakers, system health."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import msgspec
from redis.exceptions import RedisError

from etsygen_common.contracts import TOPICS
from etsygen_common.envelope import Envelope
from etsygen_common.outbox import enqueue
from etsygen_gateway.adapters import deadletters as repo
from etsygen_gateway.adapters.breakers import read_breakers
from etsygen_gateway.domain.deadletters import replay_headers
from etsygen_gateway.domain.health import (
    ComponentState,
    SystemHealth,
    backlog_state,
    dead_letter_state,
    summarize,
)
from etsygen_gateway.domain.views import BreakerList, DeadLetterDetail, DeadLetterPage, DeadLetterSummary
from etsygen_gateway.errors import ConflictError, NotFoundError
from etsygen_gateway.metrics import HEALTH_SCORE, SERVICE

CHECK_TIMEOUT_S = 2.0
_MAX_BIGINT = 2**63 - 1


class ReplayResult(msgspec.Struct, frozen=True, kw_only=True):
    """What a replay sent (or, with ``dry_run``, would send)."""

    dead_letter_id: int
    dry_run: bool
    topic: str
    key_base64: str | None
    headers: dict[str, str]
    size: int
    replay_count: int


async def dead_letters(
    pool: Any,
    *,
    status: str | None,
    topic: str | None,
    consumer_group: str | None,
    exception_type: str | None,
    cursor: str | None,
    limit: int,
) -> DeadLetterPage:
    """Dead letters newest first, filtered."""
    # Ids are bigint: a cursor past the largest one means "from the newest", not a database error.
    before = min(int(cursor), _MAX_BIGINT) if cursor and cursor.isdigit() else None
    return await repo.list_dead_letters(
        pool,
        status=status,
        topic=topic,
        consumer_group=consumer_group,
        exception_type=exception_type,
        before_id=before,
        limit=limit,
    )


async def dead_letter(pool: Any, letter_id: int) -> DeadLetterDetail:
    """One dead letter with headers and body.

    Raises:
        NotFoundError: no such dead letter.
    """
    found = await repo.get_dead_letter(pool, letter_id)
    if found is None:
        raise NotFoundError("no such dead letter")
    return found


async def replay(pool: Any, letter_id: int, *, dry_run: bool) -> ReplayResult:
    """Publish a dead letter's original bytes and headers to its original topic through the outbox, marked
    with ``x-replay-of`` and ``x-replay-count``; with ``dry_run`` only show what would be sent.

    Raises:
        NotFoundError: no such dead letter.
        ConflictError: it was discarded, or its original topic is not one of the platform's.
    """
    async with pool.acquire() as conn, conn.transaction():
        target = await repo.lock_for_replay(conn, letter_id)
        if target is None:
            raise NotFoundError("no such dead letter")
        if target.status == "discarded":
            raise ConflictError("the dead letter was discarded; it cannot be replayed")
        if target.original_topic not in TOPICS:
            raise ConflictError(f"the original topic {target.original_topic!r} is not a platform topic")
        count = target.replay_count + 1
        headers = replay_headers(target.headers, target.id, count)
        if not dry_run:
            await enqueue(
                conn,
                [Envelope(topic=target.original_topic, key=target.key, headers=headers, payload=target.body)],
            )
            await repo.mark_replayed(conn, letter_id)
    return ReplayResult(
        dead_letter_id=letter_id,
        dry_run=dry_run,
        topic=target.original_topic,
        key_base64=base64.b64encode(target.key).decode() if target.key is not None else None,
        headers=headers,
        size=len(target.body),
        replay_count=count if not dry_run else target.replay_count,
    )


async def discard(pool: Any, letter_id: int) -> DeadLetterSummary:
    """Mark a dead letter as dealt with.

    Raises:
        NotFoundError: no such dead letter.
    """
    found = await repo.discard(pool, letter_id)
    if found is None:
        raise NotFoundError("no such dead letter")
    return found


async def breakers(redis: Any, key_prefix: str) -> BreakerList:
    """Circuit-breaker states from Redis (empty and ``available=false`` when Redis is down)."""
    try:
        items = await read_breakers(redis, key_prefix)
    except (RedisError, OSError):
        return BreakerList(items=[], available=False)
    return BreakerList(items=items)


async def _timed(check: Callable[[], Awaitable[object]]) -> tuple[bool, str, float]:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check(), CHECK_TIMEOUT_S)
    except Exception as exc:
        return False, f"{type(exc).__name__}: {exc}"[:200], round((time.perf_counter() - started) * 1000, 1)
    return True, "", round((time.perf_counter() - started) * 1000, 1)


Check = Callable[[], Awaitable[object]]


class Health:
    """The gateway's own view of its dependencies: readiness and the system's health score."""

    def __init__(self, pool: Any, redis: Any, kafka_check: Check | None = None) -> None:
        """``pool`` and ``redis``: the gateway's clients (late-bound); ``kafka_check``: pings the broker
        (None where the gateway runs without Kafka, as in tests of the API alone)."""
        self._pool = pool
        self._redis = redis
        self._kafka_check = kafka_check
        self.stopping = False
        """Set when the process shuts down: readiness and liveness answer 503 from then on."""

    async def system_health(self) -> SystemHealth:
        """Every component's state and the weighted score."""
        pending: list[int] = []
        recent: list[int] = []

        async def postgres() -> None:
            async with self._pool.acquire() as conn:
                pending.append(await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL"))
                recent.append(await repo.recent_count(conn))

        async def redis() -> None:
            await self._redis.ping()

        checks: dict[str, Callable[[], Awaitable[object]]] = {"postgres": postgres, "redis": redis}
        if self._kafka_check is not None:
            checks["kafka"] = self._kafka_check
        results = await asyncio.gather(*(_timed(c) for c in checks.values()))
        states: dict[str, tuple[ComponentState, str, float | None]] = {}
        for name, (ok, detail, ms) in zip(checks, results, strict=True):
            if ok:
                states[name] = ("ok", "", ms)
            elif name == "postgres":
                states[name] = ("down", detail, ms)
            else:
                states[name] = ("degraded", detail, ms)
        states["outbox"] = (
            backlog_state(pending[0] if pending else None),
            f"{pending[0]} events waiting" if pending else "unknown",
            None,
        )
        states["dead_letters"] = (
            dead_letter_state(recent[0] if recent else None),
            f"{recent[0]} in the last hour" if recent else "unknown",
            None,
        )
        health = summarize(states, datetime.now(UTC).isoformat(timespec="seconds"))
        HEALTH_SCORE.labels(SERVICE).set(health.score)
        return health

    async def ready(self) -> tuple[bool, dict[str, dict[str, object]]]:
        """Readiness: Postgres must answer (it holds every accepted request). Redis and Kafka are reported,
        but only degrade the service: without Redis it serves uncached and fails limits open, without Kafka
        events wait in the outbox."""

        async def postgres() -> None:
            async with self._pool.acquire() as conn:
                await conn.fetchval("SELECT 1")

        async def redis() -> None:
            await self._redis.ping()

        checks: dict[str, Callable[[], Awaitable[object]]] = {"postgres": postgres, "redis": redis}
        if self._kafka_check is not None:
            checks["kafka"] = self._kafka_check
        results = await asyncio.gather(*(_timed(c) for c in checks.values()))
        report: dict[str, dict[str, object]] = {}
        for name, (ok, detail, ms) in zip(checks, results, strict=True):
            state = "ok" if ok else ("down" if name == "postgres" else "degraded")
            report[name] = {"status": state, "ms": ms, **({"error": detail} if detail else {})}
        return report["postgres"]["status"] == "ok" and not self.stopping, report
