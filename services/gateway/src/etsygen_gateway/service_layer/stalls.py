"""Stalled jobs: a keyword with no progress for a while is re-driven a bounded number of times, then failed
with a reason the user can read.

Re-driving re-publishes the job's ``ResearchRequested`` for that keyword alone (``attempt`` counts up, so
every service treats it as new work); the keyword's outcomes are counted per concept index, so a late
original and its re-drive never count twice.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from etsygen_common.contracts import GenerationOptions, ResearchRequested
from etsygen_common.envelope import deterministic_id, wrap
from etsygen_common.logging import get_logger
from etsygen_common.outbox import enqueue
from etsygen_gateway.adapters import jobs as repo
from etsygen_gateway.adapters.live import LiveNotice, notify
from etsygen_gateway.domain.jobs import TERMINAL_JOB, TERMINAL_KEYWORD, job_status
from etsygen_gateway.metrics import SERVICE, job_finished

log = get_logger(__name__)


class SweepResult(msgspec.Struct, frozen=True, kw_only=True):
    """What one sweep did."""

    redriven: list[tuple[str, str]]
    failed: list[tuple[str, str]]


async def sweep_stalled(
    pool: Any, *, stall_after_s: float, max_redrives: int, batch: int = 100
) -> SweepResult:
    """Re-drive or fail keywords of unfinished jobs that made no progress for ``stall_after_s`` seconds."""
    redriven: list[tuple[str, str]] = []
    failed: list[tuple[str, str]] = []
    ended: list[tuple[str, float]] = []
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            """SELECT k.job_id, k.keyword, k.redrives, j.owner_id, j.status AS job_status, j.marketplace,
                      j.listing_budget, j.generation
               FROM job_keywords k JOIN jobs j ON j.id = k.job_id
               WHERE k.status NOT IN ('succeeded', 'partially_failed', 'failed')
                 AND j.status NOT IN ('succeeded', 'partially_failed', 'failed', 'cancelled')
                 AND k.updated_at < now() - make_interval(secs => $1)
               ORDER BY k.updated_at LIMIT $2
               FOR UPDATE OF k SKIP LOCKED""",
            float(stall_after_s),
            batch,
        )
        for row in rows:
            job_id, keyword, owner_id = str(row["job_id"]), row["keyword"], str(row["owner_id"])
            minutes = round(stall_after_s / 60, 1)
            if row["redrives"] < max_redrives:
                attempt = row["redrives"] + 1
                event = ResearchRequested(
                    job_id=job_id,
                    owner_id=owner_id,
                    keywords=[keyword],
                    marketplace=row["marketplace"],
                    listing_budget=row["listing_budget"],
                    generation=msgspec.convert(row["generation"], GenerationOptions),
                    attempt=attempt,
                )
                await enqueue(
                    conn,
                    [
                        wrap(
                            event,
                            source=SERVICE,
                            event_id=deterministic_id("redrive", job_id, keyword, str(attempt)),
                        )
                    ],
                )
                await conn.execute(
                    """UPDATE job_keywords SET redrives = $3, updated_at = now()
                       WHERE job_id = $1 AND keyword = $2""",
                    uuid.UUID(job_id),
                    keyword,
                    attempt,
                )
                await repo.insert_event(
                    conn,
                    job_id,
                    "keyword.redriven",
                    keyword=keyword,
                    detail={"attempt": attempt, "stalled_minutes": minutes},
                )
                redriven.append((job_id, keyword))
            else:
                reason = (
                    f"no progress for {minutes} min after {row['redrives']} re-drive(s); a service may be "
                    "down or failing: check /v1/health and the dead letters, then submit the keyword again"
                )
                await conn.execute(
                    """UPDATE job_keywords SET status = 'failed', error = $3, updated_at = now()
                       WHERE job_id = $1 AND keyword = $2""",
                    uuid.UUID(job_id),
                    keyword,
                    reason,
                )
                await repo.insert_event(
                    conn, job_id, "keyword.stalled", keyword=keyword, detail={"reason": reason}
                )
                statuses = await repo.keyword_statuses(conn, job_id)
                new_status = job_status(statuses, row["job_status"])
                terminal = new_status in TERMINAL_JOB
                finished = sum(1 for s in statuses if s in TERMINAL_KEYWORD)
                seconds = await repo.set_job_status(conn, job_id, new_status, finished, terminal=terminal)
                if terminal:
                    await repo.insert_event(conn, job_id, "job.finished", detail={"status": new_status})
                    ended.append((new_status, seconds or 0.0))
                failed.append((job_id, keyword))
            await notify(
                conn, LiveNotice(owner_id=owner_id, job_id=job_id, kind="stalled", namespaces=["jobs"])
            )
    for status, seconds in ended:  # counted once the transaction committed
        job_finished(status, seconds)
    if redriven or failed:
        log.warning("stalled keywords", extra={"redriven": len(redriven), "failed": len(failed)})
    return SweepResult(redriven=redriven, failed=failed)
