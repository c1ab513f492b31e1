"""Transactional outbox: write events in the caller's transaction; a relay publishes them to Kafka.

Writer: :func:`enqueue` inserts envelopes with the connection the caller's transaction is using, so a state
change and the events it causes commit or roll back together.

Relay: :class:`OutboxRelay` runs in every service. One relay per schema is active at a time (a session
advisory lock, so per-key order holds even with several replicas); it selects pending rows in id order
``FOR UPDATE SKIP LOCKED``, publishes the batch and waits for every acknowledgement (acks=all), then marks the
rows sent in the same transaction. A crash between publish and mark leaves the rows pending, so they are
published again: delivery is at-least-once and consumers deduplicate through the inbox. While Kafka is
unreachable the relay backs off exponentially; rows wait, nothing is lost. It wakes on ``NOTIFY`` from the
outbox trigger and polls as a fallback.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import zlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Protocol

import asyncpg

from etsygen_common.db import check_schema_name
from etsygen_common.envelope import Envelope
from etsygen_common.logging import get_logger
from etsygen_common.metrics import (
    OUTBOX_BATCH_SECONDS,
    OUTBOX_OLDEST_PENDING,
    OUTBOX_PENDING,
    OUTBOX_PUBLISH_ERRORS,
    OUTBOX_PUBLISHED,
)
from etsygen_common.settings import OutboxSettings

log = get_logger(__name__)

BACKLOG_MEASURE_S = 5.0
"""How often the active relay counts its backlog and the age of its oldest row (one indexed query)."""


async def enqueue(conn: asyncpg.Connection, envelopes: Iterable[Envelope]) -> int:
    """Insert envelopes into the outbox of the connection's schema, inside the caller's transaction.

    Args:
        conn: a connection with an open transaction (its search path names the service's schema).
        envelopes: events wrapped by :func:`etsygen_common.envelope.wrap`.

    Returns:
        The number of rows written.
    """
    rows = [(e.topic, e.key, e.headers, e.payload) for e in envelopes]
    if not rows:
        return 0
    if not conn.is_in_transaction():
        raise RuntimeError("outbox.enqueue must run inside the caller's transaction")
    await conn.executemany("INSERT INTO outbox (topic, key, headers, payload) VALUES ($1, $2, $3, $4)", rows)
    return len(rows)


class Publisher(Protocol):
    """What the relay needs from Kafka: publish a batch and return once every record is acknowledged."""

    async def publish_batch(self, records: Sequence[Envelope]) -> None: ...


class OutboxRelay:
    """Publishes pending outbox rows of one schema, in order, at least once."""

    def __init__(
        self,
        pool: Any,
        schema: str,
        publisher: Publisher,
        settings: OutboxSettings,
        *,
        service: str,
        after_publish: Callable[[Sequence[int]], Awaitable[None]] | None = None,
    ) -> None:
        """Create a relay.

        Args:
            pool: asyncpg pool of the service.
            schema: the schema whose ``outbox`` table is relayed.
            publisher: sends records and waits for acknowledgements.
            settings: batch size, polling interval, backoff bound.
            service: label for metrics and logs.
            after_publish: test hook run after a batch was acknowledged and before it is marked sent
                (the window the at-least-once test kills the process in).
        """
        self._pool = pool
        self._schema = check_schema_name(schema)
        self._publisher = publisher
        self._settings = settings
        self._service = service
        self._after_publish = after_publish
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lock_key = zlib.crc32(f"etsygen-outbox:{schema}".encode())
        self.published = 0

    @property
    def channel(self) -> str:
        """The NOTIFY channel the outbox trigger signals."""
        return f"{self._schema}_outbox"

    def start(self) -> None:
        """Run the relay in a background task."""
        self._task = asyncio.create_task(self.run(), name=f"outbox-relay-{self._schema}")

    async def stop(self, *, flush: bool = True, timeout: float = 10.0) -> None:
        """Stop the relay; with ``flush`` publish what is pending first (bounded by ``timeout``)."""
        if flush:
            deadline = time.monotonic() + timeout
            while (
                time.monotonic() < deadline
                and await self.pending() > 0
                and self._task
                and not self._task.done()
            ):
                self._wake.set()
                await asyncio.sleep(0.05)
        self._stopping.set()
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def pending(self) -> int:
        """Count rows not yet published."""
        async with self._pool.acquire() as conn:
            n: int = await conn.fetchval(f"SELECT count(*) FROM {self._schema}.outbox WHERE sent_at IS NULL")
        OUTBOX_PENDING.labels(self._service).set(n)
        return n

    async def run(self) -> None:
        """Hold the relay lock, then publish until stopped."""
        async with self._pool.acquire() as lock_conn:
            while not self._stopping.is_set():
                if await lock_conn.fetchval("SELECT pg_try_advisory_lock($1)", self._lock_key):
                    break
                await self._sleep(self._settings.poll_interval_s * 5)  # another replica relays; stand by
            if self._stopping.is_set():
                return
            await lock_conn.add_listener(self.channel, self._on_notify)
            try:
                await self._loop()
            finally:
                try:
                    await lock_conn.remove_listener(self.channel, self._on_notify)
                    await lock_conn.execute("SELECT pg_advisory_unlock($1)", self._lock_key)
                except Exception:
                    # The pool does not reset session state (db.create_pool): a connection that may still
                    # hold the lock or listen must not go back to it.
                    lock_conn.terminate()
                except BaseException:  # cancelled during the clean-up
                    lock_conn.terminate()
                    raise

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        self._wake.clear()

    async def measure_backlog(self) -> None:
        """Count pending rows and the age of the oldest one into the backlog gauges."""
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                f"""SELECT count(*) AS n, coalesce(extract(epoch FROM now() - min(created_at)), 0) AS age
                    FROM {self._schema}.outbox WHERE sent_at IS NULL"""
            )
        OUTBOX_PENDING.labels(self._service).set(row["n"])
        OUTBOX_OLDEST_PENDING.labels(self._service).set(float(row["age"]))

    async def _loop(self) -> None:
        failures = 0
        measured = 0.0
        while not self._stopping.is_set():
            # Measured here, not per batch: while Kafka is down no batch completes, and that is when the age
            # of the oldest row matters most. A database error leaves the last figures.
            if time.monotonic() - measured >= BACKLOG_MEASURE_S:
                measured = time.monotonic()
                with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                    await self.measure_backlog()
            try:
                sent = await self.relay_once()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                sent = -1
                log.warning("outbox relay database error", extra={"error": repr(exc)})
            except Exception as exc:
                sent = -1
                OUTBOX_PUBLISH_ERRORS.labels(self._service).inc()
                log.warning("outbox publish failed; rows stay pending", extra={"error": repr(exc)})
            if sent < 0:
                failures += 1
                cap = min(self._settings.max_backoff_s, 0.1 * 2**failures)
                await asyncio.sleep(random.uniform(cap / 2, cap))
                continue
            failures = 0
            if sent < self._settings.batch_size:
                await self._sleep(self._settings.poll_interval_s)

    async def relay_once(self) -> int:
        """Publish one batch of pending rows and mark them sent. Returns how many were sent."""
        started = time.perf_counter()
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                f"""SELECT id, topic, key, headers, payload FROM {self._schema}.outbox
                    WHERE sent_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED""",
                self._settings.batch_size,
            )
            if not rows:
                return 0
            envelopes = [
                Envelope(topic=r["topic"], key=r["key"], headers=r["headers"], payload=r["payload"])
                for r in rows
            ]
            await self._publisher.publish_batch(envelopes)
            ids = [r["id"] for r in rows]
            if self._after_publish is not None:
                await self._after_publish(ids)
            await conn.execute(f"UPDATE {self._schema}.outbox SET sent_at = now() WHERE id = ANY($1)", ids)
        for e in envelopes:
            OUTBOX_PUBLISHED.labels(self._service, e.topic).inc()
        OUTBOX_BATCH_SECONDS.labels(self._service).observe(time.perf_counter() - started)
        self.published += len(rows)
        return len(rows)
