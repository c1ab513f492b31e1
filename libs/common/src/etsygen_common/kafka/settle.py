"""Applying prepared records in transactions: inbox row first, the handler, its outbox rows, then commit.

Consecutive prepared records of a partition share one transaction (a group). When it fails, the records are
applied again so that only the record at fault is retried or dead-lettered, and its handler is not called a
second time for this delivery.
"""

from __future__ import annotations

import time
from typing import Any

from opentelemetry import trace

from etsygen_common.kafka.batch import Batch, Group, Ready, Route
from etsygen_common.kafka.context import HandlerContext, take_locks
from etsygen_common.kafka.handoff import FailureHandoff
from etsygen_common.kafka.pausing import Pauses
from etsygen_common.logging import get_logger, log_context
from etsygen_common.metrics import EVENTS_CONSUMED, HANDLER_SECONDS
from etsygen_common.outbox import enqueue

log = get_logger(__name__)


def finish(
    service: str,
    route: Route[Any],
    outcome: str | None,
    span: Any,
    started: float | None,
    work_s: float = 0.0,
) -> None:
    """Count a record's outcome (None: counted elsewhere, or not an outcome), time it, and end its span."""
    if outcome is not None:
        EVENTS_CONSUMED.labels(service, route.topic, outcome).inc()
    seconds = time.perf_counter() - started if started is not None else work_s
    HANDLER_SECONDS.labels(service, route.topic).observe(seconds)
    span.end()


class Settler:
    """Runs one consumer group's handlers in database transactions and settles each record's outcome."""

    def __init__(
        self, pool: Any, *, service: str, group: str, pauses: Pauses, handoff: FailureHandoff
    ) -> None:
        self._pool = pool
        self.service = service
        self.group = group
        self._pauses = pauses
        self._handoff = handoff

    async def apply(self, batch: Batch, group: Group) -> int:
        """Apply a group's prepared records; return how many leading entries are finished (the partition is
        rewound to the first that is not).

        When a handler fails inside the group's transaction, the records before it are applied again
        without it, the failing record goes to its retry topic (or the dead-letter topic, or pauses the
        consumer) exactly as it would alone, and the records after it form the next group. Its handler is
        not called a second time for this delivery.
        """
        start = 0
        while True:
            positions = [i for i in range(start, len(group)) if isinstance(group[i], Ready)]
            if not positions:
                return len(group)
            if len(positions) == 1:
                only = group[positions[0]]
                assert isinstance(only, Ready)
                return len(group) if await self._alone(batch, only) else positions[0]
            items = [entry for entry in group[start:] if isinstance(entry, Ready)]
            failure = await self._together(batch, items)
            if failure is None:
                return len(group)
            failed, exc = failure
            if failed is None:  # not one record's fault (the inbox or outbox statement, the commit)
                for position in positions:
                    entry = group[position]
                    assert isinstance(entry, Ready)
                    if not await self._alone(batch, entry):
                        return position
                return len(group)
            failed_at = positions[failed]
            if failed > 0:
                finished = await self.apply(batch, group[start:failed_at])
                if finished < failed_at - start:
                    return start + finished
            entry = group[failed_at]
            assert isinstance(entry, Ready)
            if not await self._failed(batch, entry, exc):
                return failed_at
            start = failed_at + 1

    async def _together(self, batch: Batch, items: list[Ready]) -> tuple[int | None, Exception] | None:
        """One transaction for the group: every inbox row in one statement, each handler, every outbox row.

        Returns None when it committed; otherwise (nothing applied) the index of the record whose handler
        failed (None when the failure was no handler's) and the exception.
        """
        contexts: list[HandlerContext | None] = []
        running: int | None = None
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                await take_locks(conn, [key for item in items for key in item.locks])
                fresh = set(
                    await conn.fetchval(
                        "WITH new AS (INSERT INTO inbox (consumer_group, event_id, topic) "
                        "SELECT $1, event_id, topic "
                        "FROM unnest($2::text[], $3::text[]) AS r(event_id, topic) "
                        "ON CONFLICT DO NOTHING RETURNING event_id) "
                        "SELECT coalesce(array_agg(event_id), '{}') FROM new",
                        self.group,
                        [item.event_id for item in items],
                        [item.route.topic for item in items],
                    )
                )
                shared: dict[Any, Any] = {}
                for position, item in enumerate(items):
                    if item.event_id not in fresh:
                        contexts.append(None)
                        continue
                    fresh.discard(item.event_id)  # the same event twice in a group: the second is a duplicate
                    running = position
                    contexts.append(await self._call_handler(conn, item, shared))
                    running = None
                await enqueue(conn, [e for ctx in contexts if ctx is not None for e in ctx.emitted])
        except Exception as exc:
            if running is None:
                log.info(
                    "group transaction failed; applying its records one at a time",
                    extra={"records": len(items), "error": repr(exc)},
                )
            return running, exc
        for item, ctx in zip(items, contexts, strict=True):
            self._committed(batch, item, ctx)
        return None

    async def _alone(self, batch: Batch, item: Ready) -> bool:
        """One transaction for one record: True when finished, False when the partition was rewound to it."""
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                await take_locks(conn, item.locks)
                fresh = await conn.fetchval(
                    "INSERT INTO inbox (consumer_group, event_id, topic) VALUES ($1, $2, $3) "
                    "ON CONFLICT DO NOTHING RETURNING true",
                    self.group,
                    item.event_id,
                    item.route.topic,
                )
                ctx = await self._call_handler(conn, item, {}) if fresh else None
                if ctx is not None:
                    await enqueue(conn, ctx.emitted)
        except Exception as exc:
            return await self._failed(batch, item, exc)
        self._committed(batch, item, ctx)
        return True

    async def _failed(self, batch: Batch, item: Ready, exc: Exception) -> bool:
        """A prepared record's transaction failed: pause for an open breaker or an unreachable database (the
        record is not at fault), otherwise hand the record to its next retry topic or the dead-letter topic.
        True when finished, False when rewound to it."""
        if self._pauses.hold_back(batch, item.tp, item.record, exc):
            finish(self.service, item.route, None, item.span, None, item.work_s)
            return False
        token = log_context.set(dict(item.log_fields))
        try:
            handed_on = await self._handoff.hand_on_or_rewind(
                batch, item.tp, item.record, item.headers, item.route, item.attempt, exc, span=item.span
            )
        finally:
            log_context.reset(token)
        finish(self.service, item.route, None, item.span, None, item.work_s)
        return handed_on

    async def _call_handler(self, conn: Any, item: Ready, shared: dict[Any, Any]) -> HandlerContext:
        """Run the route's handler for one prepared record in the open transaction."""
        ctx = HandlerContext(
            conn=conn,
            headers=item.headers,
            topic=item.route.topic,
            source=self.service,
            prepared=item.prepared,
            shared=shared,
        )
        started = time.perf_counter()
        token = log_context.set(dict(item.log_fields))
        try:
            with trace.use_span(
                item.span, end_on_exit=False, record_exception=False, set_status_on_exception=False
            ):
                await item.route.handler(ctx, item.event)
        finally:
            log_context.reset(token)
            item.work_s += time.perf_counter() - started
        return ctx

    def _committed(self, batch: Batch, item: Ready, ctx: HandlerContext | None) -> None:
        """After the transaction committed: the handler's callbacks, metrics, the span."""
        if ctx is None:
            log.info("duplicate event skipped", extra={"topic": item.route.topic, "event_id": item.event_id})
            finish(self.service, item.route, "duplicate", item.span, None, item.work_s)
            return
        for callback in ctx.committed:
            callback()
        batch.handled.add(item.event_id)  # the same event again in this batch: prepare is not repeated
        finish(self.service, item.route, "ok", item.span, None, item.work_s)
