"""Retention plumbing every service shares: bounded deletes, the outbox/inbox steps, and step reports.

``etsygen retention run`` asks each service for its steps (each service's ``service_layer.retention``); a
step removes what one predicate over one table selects, and reports what it removed as a log line and as
``etsygen_retention_removed_rows_total{service, step}``. A dry run evaluates the same predicate with
``count(*)`` and removes nothing, so with the same ``now`` it reports exactly what the real run removes.

Deletes run in batches of ``RETENTION_BATCH_ROWS``, each its own short transaction: a retention run never
holds row locks on a hot table for long and never builds one huge transaction of dead tuples (an outbox row
of scraped listings is some 56 KB).

The outbox stays one plain table, pruned in batches by its ``sent_at`` index, rather than being partitioned
by time. Retention's natural key, ``sent_at``, is set by the relay's UPDATE: partitioned on it, marking a
row sent would move it to another partition (a delete and an insert), and a concurrent ``FOR UPDATE SKIP
LOCKED`` reader meets "tuple to be locked was already moved to another partition" errors instead of
skipping. Partitioned on ``created_at`` instead, a partition could go only once every row in it is sent and
past the horizon (one stuck pending row pins it), the primary key would have to become ``(id,
created_at)``, and converting the live table means swapping it under the writers, the relay holding its
rows locked, and its NOTIFY trigger. What partitioning would save is one batched delete a day of the rows
sent a week ago, whose space VACUUM reclaims; not worth risking the relay's order and locking for.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import msgspec

from etsygen_common.db import create_pool
from etsygen_common.logging import get_logger
from etsygen_common.metrics import RETENTION_REMOVED
from etsygen_common.migrations import MigrationError, pending, service_sources
from etsygen_common.settings import CommonSettings, RetentionSettings

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Removal:
    """What one retention step removed (or, in a dry run, would remove)."""

    step: str
    removed: int
    detail: str = ""


def report(service: str, removals: Sequence[Removal], *, dry_run: bool) -> list[Removal]:
    """Log every step's count and, unless dry, add it to the retention metric. Returns the removals."""
    for r in removals:
        if not dry_run:
            RETENTION_REMOVED.labels(service, r.step).inc(r.removed)
        log.info(
            "retention step",
            extra={
                "retention_service": service,
                "step": r.step,
                "removed": r.removed,
                "detail": r.detail,
                "dry_run": dry_run,
            },
        )
    return list(removals)


async def purge(pool: Any, table: str, predicate: str, *args: Any, batch_rows: int, dry_run: bool) -> int:
    """Delete the rows of ``table`` matching ``predicate`` in batches; with ``dry_run`` only count them.

    ``table`` must be a plain table (rows are addressed by ``ctid``, which a partitioned parent does not
    make unique); ``predicate`` is fixed SQL whose parameters are ``args`` (``$1`` ...), and should be served
    by an index, since each batch evaluates it again.
    """
    async with pool.acquire() as conn:
        if dry_run:
            counted: int = await conn.fetchval(f"SELECT count(*) FROM {table} WHERE {predicate}", *args)
            return counted
        total = 0
        while True:
            status: str = await conn.execute(
                f"""DELETE FROM {table} WHERE ctid = ANY(ARRAY(
                        SELECT ctid FROM {table} WHERE {predicate} LIMIT {int(batch_rows)}))""",
                *args,
            )
            deleted = int(status.rsplit(" ", 1)[-1])
            total += deleted
            if deleted < batch_rows:
                return total


async def prune_outbox_inbox(
    pool: Any, settings: RetentionSettings, *, now: datetime, dry_run: bool
) -> list[Removal]:
    """Sent outbox rows, inbox entries and stored stage outputs older than the redelivery horizon (pending
    rows stay)."""
    cutoff = now - timedelta(days=settings.redelivery_horizon_days)
    sent = await purge(
        pool,
        "outbox",
        "sent_at IS NOT NULL AND sent_at < $1",
        cutoff,
        batch_rows=settings.batch_rows,
        dry_run=dry_run,
    )
    seen = await purge(
        pool, "inbox", "received_at < $1", cutoff, batch_rows=settings.batch_rows, dry_run=dry_run
    )
    # A stage's stored output answers re-drives of a job's keyword; past the horizon no re-drive comes.
    stored = await purge(
        pool, "stage_results", "stored_at < $1", cutoff, batch_rows=settings.batch_rows, dry_run=dry_run
    )
    return [Removal("outbox", sent), Removal("inbox", seen), Removal("stage_results", stored)]


async def run_for_service(
    service: str,
    settings: CommonSettings,
    migrations: Path,
    steps: Callable[[Any], Awaitable[list[Removal]]],
    *,
    dry_run: bool,
) -> list[Removal]:
    """Run a service's retention ``steps(pool)`` in its schema (named as the service) and report them.

    The service need not be running, but its schema must be migrated: retention changes no schema (a dry
    run must change nothing at all), so pending migrations stop it with the command that applies them.

    Raises:
        MigrationError: the schema has pending migrations.
    """
    conn = await asyncpg.connect(settings.postgres.url)
    try:
        waiting = await pending(conn, service, service_sources(migrations))
    finally:
        await conn.close()
    if waiting:
        raise MigrationError(
            f"{service}: {len(waiting)} migrations pending ({', '.join(waiting)}); "
            f"run `etsygen migrate {service}` first"
        )
    small = msgspec.structs.replace(settings.postgres, pool_min=1, pool_max=2)
    pool = await create_pool(small, service, application_name=f"etsygen-retention-{service}")
    try:
        removals = await steps(pool)
    finally:
        await pool.close()
    return report(service, removals, dry_run=dry_run)
