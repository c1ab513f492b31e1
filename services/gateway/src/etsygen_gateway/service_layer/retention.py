"""Retention of the gateway's schema: archive long-finished jobs, prune dead letters, sessions, invitations,
and the outbox and inbox. ``bootstrap.run_retention`` runs the steps and reports what each removed."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from etsygen_common.retention import Removal, prune_outbox_inbox, purge
from etsygen_gateway.adapters import archive, deadletters
from etsygen_gateway.settings import GatewaySettings

# Jobs moved per transaction: each carries its keywords and timeline (tens to hundreds of rows).
JOBS_PER_BATCH = 100


async def archive_old_jobs(pool: Any, cutoff: datetime, *, dry_run: bool) -> archive.Moved:
    """Move jobs finished before ``cutoff`` to the archive (or, dry, count what would move)."""
    async with pool.acquire() as conn:
        if dry_run:
            return await archive.count_archivable(conn, cutoff)
        total = archive.Moved()
        while True:
            moved = await archive.archive_batch(conn, cutoff, JOBS_PER_BATCH)
            total += moved
            if moved.jobs < JOBS_PER_BATCH:
                return total


async def apply_retention(
    pool: Any, settings: GatewaySettings, *, now: datetime, dry_run: bool
) -> list[Removal]:
    """Every retention step of the gateway, windows from the settings, cutoffs relative to ``now``."""
    g, batch = settings.gateway, settings.common.retention.batch_rows
    moved = await archive_old_jobs(pool, now - timedelta(days=g.job_archive_after_days), dry_run=dry_run)
    dead = await deadletters.prune(
        pool, now - timedelta(days=g.dead_letter_retention_days), batch_rows=batch, dry_run=dry_run
    )
    sessions = await purge(pool, "sessions", "expires_at < $1", now, batch_rows=batch, dry_run=dry_run)
    invitations = await purge(
        pool,
        "invitations",
        "expires_at < $1",
        now - timedelta(days=g.invitation_retention_days),
        batch_rows=batch,
        dry_run=dry_run,
    )
    return [
        Removal(
            "jobs_archived",
            moved.jobs,
            f"with {moved.keywords} keywords and {moved.events} timeline entries",
        ),
        Removal("dead_letters", dead),
        Removal("sessions", sessions),
        Removal("invitations", invitations),
        *await prune_outbox_inbox(pool, settings.common.retention, now=now, dry_run=dry_run),
    ]
