"""Postgres repository of the job archive: moving long-finished jobs there (reads are in ``adapters.jobs``).

A job moves in one transaction with its keywords and timeline, so at any moment it is in exactly one of
``jobs`` and ``jobs_archive`` and a read by id that looks at both, in one statement, always finds it.
Deleting the live row cascades to its keywords, their generator outcomes and its timeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from etsygen_gateway.domain.jobs import TERMINAL_JOB

JOB_COLUMNS = (
    "id, owner_id, status, status_reason, marketplace, listing_budget, generation, keyword_count,"
    " keywords_finished, idempotency_key, created_at, updated_at, finished_at"
)
KEYWORD_COLUMNS = (
    "job_id, keyword, position, status, scrape_status, analyze_status, generate_status, expected_concepts,"
    " generated, rejected, failed_outcomes, error, trend_id, updated_at, redrives, broker_redrives,"
    " waiting_reason, waiting_detail, resume_at, outcome, reason, existing_product_id"
)
EVENT_COLUMNS = "id, job_id, keyword, kind, detail, created_at"

# Jobs finished before the cutoff ($1), in a terminal state ($2).
_ARCHIVABLE = "finished_at IS NOT NULL AND finished_at < $1 AND status = ANY($2::text[])"


@dataclass(frozen=True, slots=True)
class Moved:
    """Jobs moved (or that would move) to the archive, with their keywords and timeline entries."""

    jobs: int = 0
    keywords: int = 0
    events: int = 0

    def __add__(self, other: Moved) -> Moved:
        return Moved(
            jobs=self.jobs + other.jobs,
            keywords=self.keywords + other.keywords,
            events=self.events + other.events,
        )


async def count_archivable(conn: Any, cutoff: datetime) -> Moved:
    """What :func:`archive_batch` calls would move for ``cutoff``, counted with the same predicate."""
    row = await conn.fetchrow(
        f"""WITH due AS (SELECT id FROM jobs WHERE {_ARCHIVABLE})
            SELECT (SELECT count(*) FROM due) AS jobs,
                   (SELECT count(*) FROM job_keywords WHERE job_id IN (SELECT id FROM due)) AS keywords,
                   (SELECT count(*) FROM job_events WHERE job_id IN (SELECT id FROM due)) AS events""",
        cutoff,
        sorted(TERMINAL_JOB),
    )
    return Moved(jobs=row["jobs"], keywords=row["keywords"], events=row["events"])


async def archive_batch(conn: Any, cutoff: datetime, limit: int) -> Moved:
    """Move up to ``limit`` archivable jobs, oldest first, in one transaction."""
    async with conn.transaction():
        ids = [
            r["id"]
            for r in await conn.fetch(
                f"SELECT id FROM jobs WHERE {_ARCHIVABLE} ORDER BY finished_at LIMIT $3 FOR UPDATE",
                cutoff,
                sorted(TERMINAL_JOB),
                limit,
            )
        ]
        if not ids:
            return Moved()
        await conn.execute(
            f"INSERT INTO jobs_archive ({JOB_COLUMNS}) SELECT {JOB_COLUMNS} FROM jobs WHERE id = ANY($1)", ids
        )
        keywords = await conn.execute(
            f"""INSERT INTO job_keywords_archive ({KEYWORD_COLUMNS})
                SELECT {KEYWORD_COLUMNS} FROM job_keywords WHERE job_id = ANY($1)""",
            ids,
        )
        events = await conn.execute(
            f"""INSERT INTO job_events_archive ({EVENT_COLUMNS})
                SELECT {EVENT_COLUMNS} FROM job_events WHERE job_id = ANY($1)""",
            ids,
        )
        await conn.execute("DELETE FROM jobs WHERE id = ANY($1)", ids)
    return Moved(jobs=len(ids), keywords=_rows(keywords), events=_rows(events))


def _rows(status: str) -> int:
    return int(status.rsplit(" ", 1)[-1])
