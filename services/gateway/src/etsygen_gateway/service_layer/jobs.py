"""Research-job use cases: submit (job + keywords + ResearchRequested in one transaction), read, cancel."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from etsygen_common.contracts import GenerationOptions, ResearchRequested
from etsygen_common.envelope import deterministic_id, wrap
from etsygen_common.outbox import enqueue
from etsygen_gateway.adapters import jobs as repo
from etsygen_gateway.adapters.live import LiveNotice, notify
from etsygen_gateway.domain.accounts import Principal
from etsygen_gateway.domain.jobs import normalize_keywords
from etsygen_gateway.domain.pagination import CursorError, decode_cursor
from etsygen_gateway.domain.views import JobEventView, JobView
from etsygen_gateway.errors import ConflictError, InvalidRequestError, NotFoundError
from etsygen_gateway.gateway import Gateway
from etsygen_gateway.metrics import SERVICE, job_finished


async def submit_job(
    gw: Gateway,
    principal: Principal,
    *,
    keywords: list[str],
    marketplace: str,
    listing_budget: int,
    generation: GenerationOptions,
    idempotency_key: str | None,
) -> tuple[JobView, bool]:
    """Accept a research job: the job, its keywords, its first timeline entry and the ResearchRequested
    event are written in one transaction, so an accepted job is never lost and never half-stored.

    Returns:
        ``(job, created)``; ``created`` is False when the Idempotency-Key named an earlier job.

    Raises:
        InvalidRequestError: no usable keyword, or too many.
    """
    normalized, problems = normalize_keywords(keywords)
    if problems:
        raise InvalidRequestError("; ".join(problems), extra={"errors": problems})
    owner = principal.user_id
    job_id = str(uuid.uuid4())
    async with gw.pool.acquire() as conn, conn.transaction():
        if idempotency_key is not None:
            existing = await repo.job_id_for_idempotency_key(conn, owner, idempotency_key)
            if existing is not None:
                return await _job_or_404(conn, principal, existing), False
        created = await repo.insert_job(
            conn,
            job_id=job_id,
            owner_id=owner,
            marketplace=marketplace,
            listing_budget=listing_budget,
            generation=generation,
            keywords=normalized,
            idempotency_key=idempotency_key,
        )
        if not created:  # a concurrent request with the same key won the insert
            assert idempotency_key is not None
            existing = await repo.job_id_for_idempotency_key(conn, owner, idempotency_key)
            assert existing is not None
            return await _job_or_404(conn, principal, existing), False
        await repo.insert_event(conn, job_id, "job.accepted", detail={"keywords": normalized})
        event = ResearchRequested(
            job_id=job_id,
            owner_id=owner,
            keywords=normalized,
            marketplace=marketplace,
            listing_budget=listing_budget,
            generation=generation,
        )
        await enqueue(conn, [wrap(event, source=SERVICE, event_id=deterministic_id("research", job_id))])
        await notify(
            conn, LiveNotice(owner_id=owner, job_id=job_id, kind="job.accepted", namespaces=["jobs"])
        )
    await gw.cache.invalidate("jobs", owner)
    return await _job_or_404(gw.pool, principal, job_id), True


async def _job_or_404(conn: Any, principal: Principal, job_id: str) -> JobView:
    job = await repo.get_job(conn, principal.user_id, job_id)
    if job is None:
        raise NotFoundError("no such job")
    return job


async def job_json(gw: Gateway, principal: Principal, job_id: str) -> bytes:
    """One of the caller's jobs with per-keyword progress, as cached JSON."""
    owner = principal.user_id

    async def load() -> object:
        detail = await repo.get_job_detail(gw.pool, owner, job_id)
        if detail is None:
            raise NotFoundError("no such job")
        return detail

    return await gw.cache.get_or_set("jobs", owner, f"one:{job_id}", gw.ttl("jobs"), load)


async def jobs_json(
    gw: Gateway,
    principal: Principal,
    *,
    status: str | None,
    created_after: datetime | None,
    created_before: datetime | None,
    cursor: str | None,
    limit: int,
) -> bytes:
    """A page of the caller's jobs, as cached JSON.

    Raises:
        InvalidRequestError: a malformed cursor.
    """
    owner = principal.user_id
    try:
        after = decode_cursor(cursor, "created") if cursor else None
    except CursorError as exc:
        raise InvalidRequestError(str(exc)) from None

    async def load() -> object:
        return await repo.list_jobs(
            gw.pool,
            owner,
            status=status,
            created_after=created_after,
            created_before=created_before,
            after=after,
            limit=limit,
        )

    key = f"list:{status}:{created_after and created_after.isoformat()}:" + (
        f"{created_before and created_before.isoformat()}:{cursor}:{limit}"
    )
    return await gw.cache.get_or_set("jobs", owner, key, gw.ttl("jobs"), load)


async def cancel_job(gw: Gateway, principal: Principal, job_id: str) -> JobView:
    """Cancel one of the caller's unfinished jobs (events still arriving are recorded, the status stays).

    Raises:
        NotFoundError: the caller has no such job.
        ConflictError: the job has finished already.
    """
    owner = principal.user_id
    async with gw.pool.acquire() as conn, conn.transaction():
        job, cancelled = await repo.cancel_job(conn, owner, job_id)
        if job is None:
            raise NotFoundError("no such job")
        if not cancelled:
            raise ConflictError(f"the job is {job.status} and cannot be cancelled")
        await repo.insert_event(conn, job.id, "job.cancelled", detail={"by": owner})
        await notify(
            conn, LiveNotice(owner_id=owner, job_id=job.id, kind="job.cancelled", namespaces=["jobs"])
        )
    await gw.cache.invalidate("jobs", owner)
    job_finished("cancelled", (job.finished_at - job.created_at).total_seconds() if job.finished_at else 0.0)
    return job


async def timeline(gw: Gateway, principal: Principal, job_id: str, after_id: int = 0) -> list[JobEventView]:
    """The job's timeline after ``after_id``.

    Raises:
        NotFoundError: the caller has no such job.
    """
    events = await repo.timeline(gw.pool, principal.user_id, job_id, after_id=after_id)
    if events is None:
        raise NotFoundError("no such job")
    return events


async def job_state(gw: Gateway, principal: Principal, job_id: str) -> JobView:
    """The job itself, uncached (live streams need the committed state).

    Raises:
        NotFoundError: the caller has no such job.
    """
    return await _job_or_404(gw.pool, principal, job_id)
