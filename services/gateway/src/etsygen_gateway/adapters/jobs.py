"""Postgres repository of research jobs, their keywords, generator outcomes and timelines.

Every read takes the owner and filters by it in SQL: another user's job is simply not found. Reads by id
also look in the archive (``adapters.archive``), where retention moves long-finished jobs.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec

from etsygen_common.contracts import GenerationOptions
from etsygen_gateway.adapters.paging import fetch_page, given, page_query
from etsygen_gateway.domain.jobs import OUTCOME_ORDER, KeywordOutcome, KeywordProgress
from etsygen_gateway.domain.pagination import Cursor, encode_cursor
from etsygen_gateway.domain.views import (
    JobDetail,
    JobEventView,
    JobPage,
    JobView,
    KeywordView,
    StageView,
    WaitingView,
)

_JOB_COLUMNS = """id, status, status_reason, marketplace, listing_budget, generation, keyword_count,
    keywords_finished, created_at, updated_at, finished_at"""


def as_uuid(value: str) -> uuid.UUID | None:
    """Parse an id; None when it is not a UUID (such an id names nothing of ours)."""
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        return None


def _job(row: Any) -> JobView:
    return JobView(
        id=str(row["id"]),
        status=row["status"],
        status_reason=row["status_reason"],
        marketplace=row["marketplace"],
        listing_budget=row["listing_budget"],
        generation=msgspec.convert(row["generation"], GenerationOptions),
        keyword_count=row["keyword_count"],
        keywords_finished=row["keywords_finished"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        finished_at=row["finished_at"],
    )


def _keyword(row: Any) -> KeywordView:
    return KeywordView(
        keyword=row["keyword"],
        status=row["status"],
        stages=StageView(
            scrape=row["scrape_status"], analyze=row["analyze_status"], generate=row["generate_status"]
        ),
        expected_concepts=row["expected_concepts"],
        generated=row["generated"],
        rejected=row["rejected"],
        error=row["error"],
        trend_id=row["trend_id"],
        outcome=row["outcome"],
        reason=row["reason"],
        existing_product_id=row["existing_product_id"],
        waiting=WaitingView(
            reason=row["waiting_reason"], detail=row["waiting_detail"] or "", resume_at=row["resume_at"]
        )
        if row["waiting_reason"] is not None and row["resume_at"] is not None
        else None,
    )


async def job_id_for_idempotency_key(conn: Any, owner_id: str, key: str) -> str | None:
    """The job an earlier request with this Idempotency-Key created."""
    found = await conn.fetchval(
        "SELECT id FROM jobs WHERE owner_id = $1 AND idempotency_key = $2", uuid.UUID(owner_id), key
    )
    return str(found) if found else None


async def insert_job(
    conn: Any,
    *,
    job_id: str,
    owner_id: str,
    marketplace: str,
    listing_budget: int,
    generation: GenerationOptions,
    keywords: Sequence[str],
    idempotency_key: str | None,
) -> bool:
    """Insert a job and its keywords; False when the Idempotency-Key was used already (nothing written)."""
    inserted = await conn.fetchval(
        """INSERT INTO jobs (id, owner_id, marketplace, listing_budget, generation, keyword_count,
                             idempotency_key)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT DO NOTHING RETURNING true""",
        uuid.UUID(job_id),
        uuid.UUID(owner_id),
        marketplace,
        listing_budget,
        msgspec.to_builtins(generation),
        len(keywords),
        idempotency_key,
    )
    if not inserted:
        return False
    await conn.executemany(
        "INSERT INTO job_keywords (job_id, keyword, position) VALUES ($1, $2, $3)",
        [(uuid.UUID(job_id), k, i) for i, k in enumerate(keywords)],
    )
    return True


async def insert_event(
    conn: Any, job_id: str, kind: str, *, keyword: str | None = None, detail: dict[str, Any] | None = None
) -> int:
    """Append to a job's timeline; returns the entry's id."""
    event_id: int = await conn.fetchval(
        "INSERT INTO job_events (job_id, keyword, kind, detail) VALUES ($1, $2, $3, $4) RETURNING id",
        uuid.UUID(job_id),
        keyword,
        kind,
        detail or {},
    )
    return event_id


async def get_job(conn: Any, owner_id: str, job_id: str) -> JobView | None:
    """One of the owner's jobs."""
    key = as_uuid(job_id)
    if key is None:
        return None
    # A job long finished lives in jobs_archive (adapters.archive); one statement reads both, so a job being
    # moved right now is found on one side or the other.
    row = await conn.fetchrow(
        f"""SELECT {_JOB_COLUMNS} FROM jobs WHERE id = $1 AND owner_id = $2
            UNION ALL
            SELECT {_JOB_COLUMNS} FROM jobs_archive WHERE id = $1 AND owner_id = $2
            LIMIT 1""",
        key,
        uuid.UUID(owner_id),
    )
    return _job(row) if row else None


async def get_job_detail(conn: Any, owner_id: str, job_id: str) -> JobDetail | None:
    """One of the owner's jobs with its keywords."""
    job = await get_job(conn, owner_id, job_id)
    if job is None:
        return None
    columns = """keyword, status, scrape_status, analyze_status, generate_status, expected_concepts,
                 generated, rejected, error, trend_id, position, waiting_reason, waiting_detail, resume_at,
                 outcome, reason, existing_product_id"""
    rows = await conn.fetch(
        f"""SELECT {columns} FROM job_keywords WHERE job_id = $1
            UNION ALL
            SELECT {columns} FROM job_keywords_archive WHERE job_id = $1
            ORDER BY position""",
        uuid.UUID(job.id),
    )
    return JobDetail(job=job, keywords=[_keyword(r) for r in rows])


async def list_jobs(
    conn: Any,
    owner_id: str,
    *,
    status: str | None,
    created_after: datetime | None,
    created_before: datetime | None,
    after: Cursor | None,
    limit: int,
) -> JobPage:
    """The owner's jobs newest first, keyset-paginated on (created_at, id)."""
    rows, more = await fetch_page(
        conn,
        page_query(
            f"SELECT {_JOB_COLUMNS} FROM jobs",
            filters=[
                ("owner_id = {}", uuid.UUID(owner_id)),
                given("status = {}", status),
                given("created_at >= {}", created_after),
                given("created_at < {}", created_before),
            ],
            keyset=("created_at", "id"),
            descending=True,
            after=None if after is None else (after.value, uuid.UUID(after.id)),
            limit=limit,
        ),
    )
    items = [_job(r) for r in rows]
    next_cursor = None
    if more:
        last = items[-1]
        next_cursor = encode_cursor(Cursor(sort="created", value=last.created_at, id=last.id))
    return JobPage(items=items, next_cursor=next_cursor)


async def cancel_job(conn: Any, owner_id: str, job_id: str) -> tuple[JobView | None, bool]:
    """Cancel one of the owner's unfinished jobs. Returns ``(job, cancelled_now)``; job None = not found."""
    key = as_uuid(job_id)
    if key is None:
        return None, False
    row = await conn.fetchrow(
        f"""UPDATE jobs SET status = 'cancelled', status_reason = 'cancelled by the user',
                   updated_at = now(), finished_at = now()
            WHERE id = $1 AND owner_id = $2
              AND status NOT IN ('succeeded', 'partially_failed', 'failed', 'cancelled')
            RETURNING {_JOB_COLUMNS}""",
        key,
        uuid.UUID(owner_id),
    )
    if row is not None:
        return _job(row), True
    return await get_job(conn, owner_id, job_id), False


async def timeline(
    conn: Any, owner_id: str, job_id: str, *, after_id: int = 0, limit: int = 500
) -> list[JobEventView] | None:
    """Timeline entries after ``after_id``; None when the owner has no such job."""
    key = as_uuid(job_id)
    if key is None:
        return None
    owned = await conn.fetchval(
        """SELECT true FROM jobs WHERE id = $1 AND owner_id = $2
           UNION ALL
           SELECT true FROM jobs_archive WHERE id = $1 AND owner_id = $2""",
        key,
        uuid.UUID(owner_id),
    )
    if not owned:
        return None
    rows = await conn.fetch(
        """(SELECT id, kind, keyword, detail, created_at FROM job_events
            WHERE job_id = $1 AND id > $2 ORDER BY id LIMIT $3)
           UNION ALL
           (SELECT id, kind, keyword, detail, created_at FROM job_events_archive
            WHERE job_id = $1 AND id > $2 ORDER BY id LIMIT $3)
           ORDER BY id LIMIT $3""",
        key,
        after_id,
        limit,
    )
    return [
        JobEventView(
            id=r["id"], kind=r["kind"], keyword=r["keyword"], detail=r["detail"], created_at=r["created_at"]
        )
        for r in rows
    ]


# --- projections ----------------------------------------------------------------------------------------


async def job_owner(conn: Any, job_id: str) -> tuple[str, str] | None:
    """``(owner_id, status)`` of a job, locking its row (projections serialise per job)."""
    key = as_uuid(job_id)
    if key is None:
        return None
    row = await conn.fetchrow("SELECT owner_id, status FROM jobs WHERE id = $1 FOR UPDATE", key)
    return (str(row["owner_id"]), row["status"]) if row else None


async def lock_keyword(conn: Any, job_id: str, keyword: str) -> tuple[KeywordProgress, str] | None:
    """A keyword's progress and status, locked for update; None when the job has no such keyword."""
    row = await conn.fetchrow(
        """SELECT status, scrape_status, analyze_status, generate_status, expected_concepts, generated,
                  rejected, failed_outcomes
           FROM job_keywords WHERE job_id = $1 AND keyword = $2 FOR UPDATE""",
        uuid.UUID(job_id),
        keyword,
    )
    if row is None:
        return None
    progress = KeywordProgress(
        scrape=row["scrape_status"],
        analyze=row["analyze_status"],
        generate=row["generate_status"],
        expected_concepts=row["expected_concepts"],
        generated=row["generated"],
        rejected=row["rejected"],
        failed_outcomes=row["failed_outcomes"],
    )
    return progress, row["status"]


async def save_keyword(
    conn: Any,
    job_id: str,
    keyword: str,
    progress: KeywordProgress,
    status: str,
    *,
    error: str | None = None,
    trend_id: str | None = None,
) -> None:
    """Store a keyword's progress (error and trend id are kept when not given)."""
    await conn.execute(
        """UPDATE job_keywords SET status = $3, scrape_status = $4, analyze_status = $5,
               generate_status = $6, expected_concepts = $7, generated = $8, rejected = $9,
               failed_outcomes = $10, error = coalesce($11, error), trend_id = coalesce($12, trend_id),
               updated_at = now(), waiting_reason = NULL, waiting_detail = NULL, resume_at = NULL
           WHERE job_id = $1 AND keyword = $2""",
        uuid.UUID(job_id),
        keyword,
        status,
        progress.scrape,
        progress.analyze,
        progress.generate,
        progress.expected_concepts,
        progress.generated,
        progress.rejected,
        progress.failed_outcomes,
        error,
        trend_id,
    )


async def set_trend_id(conn: Any, job_id: str, keyword: str, trend_id: str) -> None:
    """Link a finished keyword to its trend (unless it has one): the analysis event may be projected after
    the generator's outcomes finished the keyword, and the link must not be lost then."""
    await conn.execute(
        "UPDATE job_keywords SET trend_id = $3 WHERE job_id = $1 AND keyword = $2 AND trend_id IS NULL",
        uuid.UUID(job_id),
        keyword,
        trend_id,
    )


async def note_outcome(
    conn: Any,
    job_id: str,
    keyword: str,
    outcome: KeywordOutcome,
    *,
    reason: str | None,
    existing_product_id: str | None,
) -> None:
    """Record one concept's outcome on its keyword: the best outcome so far stays (:data:`OUTCOME_ORDER`),
    a reason or an existing product replaces an earlier one, none given keeps it."""
    await conn.execute(
        """UPDATE job_keywords SET
               outcome = CASE WHEN coalesce(array_position($6::text[], outcome), 0)
                                   > array_position($6::text[], $3::text)
                              THEN outcome ELSE $3 END,
               reason = coalesce($4, reason),
               existing_product_id = coalesce($5, existing_product_id)
           WHERE job_id = $1 AND keyword = $2""",
        uuid.UUID(job_id),
        keyword,
        outcome,
        reason,
        existing_product_id,
        list(OUTCOME_ORDER),
    )


async def keyword_reasons(conn: Any, job_id: str) -> list[tuple[str, str]]:
    """``(keyword, reason)`` of a job's keywords that have a reason or an error, in the job's order."""
    rows = await conn.fetch(
        """SELECT keyword, coalesce(error, reason) AS why FROM job_keywords
           WHERE job_id = $1 AND coalesce(error, reason) IS NOT NULL ORDER BY position""",
        uuid.UUID(job_id),
    )
    return [(r["keyword"], r["why"]) for r in rows]


async def note_job_reason(conn: Any, job_id: str, reason: str) -> None:
    """Give a finished job a reason unless it has one (a cancellation's or a stall's comes first)."""
    await conn.execute(
        "UPDATE jobs SET status_reason = coalesce(status_reason, $2) WHERE id = $1", uuid.UUID(job_id), reason
    )


async def set_waiting(
    conn: Any, job_id: str, keyword: str, *, reason: str, detail: str, resume_at: datetime
) -> bool:
    """Note why an unfinished keyword waits and until when (not progress: ``updated_at`` stays). False when
    the keyword is finished or its resume time has passed already (a late notice changes nothing)."""
    updated = await conn.execute(
        """UPDATE job_keywords SET waiting_reason = $3, waiting_detail = $4, resume_at = $5
           WHERE job_id = $1 AND keyword = $2 AND $5 > now()
             AND status NOT IN ('succeeded', 'partially_failed', 'failed')""",
        uuid.UUID(job_id),
        keyword,
        reason,
        detail,
        resume_at,
    )
    return bool(updated != "UPDATE 0")


async def add_outcome(
    conn: Any,
    job_id: str,
    keyword: str,
    concept_index: int,
    *,
    outcome: str,
    reason: str | None,
    product_id: str | None,
) -> bool:
    """Record one generator outcome; False when this concept index was reported already."""
    inserted = await conn.fetchval(
        """INSERT INTO keyword_outcomes (job_id, keyword, concept_index, outcome, reason, product_id)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING true""",
        uuid.UUID(job_id),
        keyword,
        concept_index,
        outcome,
        reason,
        product_id,
    )
    return bool(inserted)


async def keyword_statuses(conn: Any, job_id: str) -> list[str]:
    """Every keyword's status of a job."""
    rows = await conn.fetch("SELECT status FROM job_keywords WHERE job_id = $1", uuid.UUID(job_id))
    return [r["status"] for r in rows]


async def set_job_status(
    conn: Any, job_id: str, status: str, finished: int, *, terminal: bool
) -> float | None:
    """Store a job's status and finished-keyword count. Returns the seconds from the job's submission to its
    end when it has ended, else None."""
    return await conn.fetchval(  # type: ignore[no-any-return]
        """UPDATE jobs SET status = $2, keywords_finished = $3, updated_at = now(),
               finished_at = CASE WHEN $4 THEN coalesce(finished_at, now()) ELSE finished_at END
           WHERE id = $1
           RETURNING extract(epoch FROM finished_at - created_at)::float8""",
        uuid.UUID(job_id),
        status,
        finished,
        terminal,
    )
