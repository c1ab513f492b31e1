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
from etsygen_gateway.domain.jobs import concepts_bound, normalize_keywords
from etsygen_gateway.domain.pagination import UUID_ID, CursorError, decode_cursor
from etsygen_gateway.domain.ratelimit import Tier, describe_wait, headers_for
from etsygen_gateway.domain.views import JobEventView, JobView
from etsygen_gateway.errors import ConflictError, InvalidRequestError, NotFoundError, RateLimitedError
from etsygen_gateway.metrics import SERVICE, job_finished
from etsygen_gateway.service_layer.budgets import Budgets
from etsygen_gateway.service_layer.reads import CachedReads


class Jobs:
    """The caller's research jobs: submit, read (cached), cancel, and the timeline."""

    def __init__(self, pool: Any, reads: CachedReads, ai: Tier) -> None:
        """``pool``: the gateway's Postgres pool (late-bound); ``reads``: the jobs' cached reads; ``ai``: the
        AI tier a job's concepts are checked against."""
        self._pool = pool
        self._reads = reads
        self._ai = ai

    async def submit_job(
        self,
        principal: Principal,
        *,
        keywords: list[str],
        marketplace: str,
        listing_budget: int,
        generation: GenerationOptions,
        idempotency_key: str | None,
        ai: Budgets,
    ) -> tuple[JobView, bool]:
        """Accept a research job: the job, its keywords, its first timeline entry and the ResearchRequested
        event are written in one transaction, so an accepted job is never lost and never half-stored.

        A job that asks for concepts spends the caller's AI budget (``ai``) by the most it may generate
        (:func:`concepts_bound`), so research jobs are no way around the AI tier. The spend is one atomic
        limiter decision made inside the transaction, after the Idempotency-Key lookup: a replay generates
        nothing and spends nothing, concurrent jobs cannot together take more than is left, and a job that
        is not stored after all (a concurrent request with the same key won the insert, or the transaction
        failed) gives it back. A request cancelled mid-way keeps it spent (it may have committed). The API
        tier was spent by the access check before any of this, as for every request.

        Returns:
            ``(job, created)``; ``created`` is False when the Idempotency-Key named an earlier job.

        Raises:
            InvalidRequestError: no usable keyword, too many, or more concepts than the AI tier ever allows.
            RateLimitedError: not enough of the AI budget is left for the concepts the job may generate.
        """
        normalized, problems = normalize_keywords(keywords)
        if problems:
            raise InvalidRequestError("; ".join(problems), extra={"errors": problems})
        concepts = concepts_bound(len(normalized), generation)
        _check_fits(self._ai, concepts, len(normalized), generation)
        owner = principal.user_id
        job_id = str(uuid.uuid4())
        spent = 0
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                if idempotency_key is not None:
                    existing = await repo.job_id_for_idempotency_key(conn, owner, idempotency_key)
                    if existing is not None:
                        return await _job_or_404(conn, principal, existing), False
                if concepts:
                    await _spend_ai(ai, concepts, len(normalized), generation)
                    spent = concepts
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
                    if spent:
                        spent = 0
                        await ai.refund(concepts)
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
                await enqueue(
                    conn, [wrap(event, source=SERVICE, event_id=deterministic_id("research", job_id))]
                )
                await notify(
                    conn, LiveNotice(owner_id=owner, job_id=job_id, kind="job.accepted", namespaces=["jobs"])
                )
        except Exception:
            if spent:  # nothing was stored: the job will generate nothing
                await ai.refund(spent)
            raise
        await self._reads.invalidate(owner)
        return await _job_or_404(self._pool, principal, job_id), True

    async def job_json(self, principal: Principal, job_id: str) -> bytes:
        """One of the caller's jobs with per-keyword progress, as cached JSON."""
        owner = principal.user_id
        key = f"one:{job_id}"
        return self._reads.near(owner, key) or await self._reads.read(
            owner, key, repo.get_job_detail, self._pool, owner, job_id, missing="no such job"
        )

    async def jobs_json(
        self,
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
            after = decode_cursor(cursor, "created", UUID_ID) if cursor else None
        except CursorError as exc:
            raise InvalidRequestError(str(exc)) from None
        key = f"list:{status}:{created_after and created_after.isoformat()}:" + (
            f"{created_before and created_before.isoformat()}:{cursor}:{limit}"
        )
        return self._reads.near(owner, key) or await self._reads.read(
            owner,
            key,
            repo.list_jobs,
            self._pool,
            owner,
            status=status,
            created_after=created_after,
            created_before=created_before,
            after=after,
            limit=limit,
        )

    async def cancel_job(self, principal: Principal, job_id: str) -> JobView:
        """Cancel one of the caller's unfinished jobs (events still arriving are recorded, the status stays).

        Raises:
            NotFoundError: the caller has no such job.
            ConflictError: the job has finished already.
        """
        owner = principal.user_id
        async with self._pool.acquire() as conn, conn.transaction():
            job, cancelled = await repo.cancel_job(conn, owner, job_id)
            if job is None:
                raise NotFoundError("no such job")
            if not cancelled:
                raise ConflictError(f"the job is {job.status} and cannot be cancelled")
            await repo.insert_event(conn, job.id, "job.cancelled", detail={"by": owner})
            await notify(
                conn, LiveNotice(owner_id=owner, job_id=job.id, kind="job.cancelled", namespaces=["jobs"])
            )
        await self._reads.invalidate(owner)
        job_finished(
            "cancelled", (job.finished_at - job.created_at).total_seconds() if job.finished_at else 0.0
        )
        return job

    async def timeline(self, principal: Principal, job_id: str, after_id: int = 0) -> list[JobEventView]:
        """The job's timeline after ``after_id``.

        Raises:
            NotFoundError: the caller has no such job.
        """
        events = await repo.timeline(self._pool, principal.user_id, job_id, after_id=after_id)
        if events is None:
            raise NotFoundError("no such job")
        return events

    async def job_state(self, principal: Principal, job_id: str) -> JobView:
        """The job itself, uncached (live streams need the committed state).

        Raises:
            NotFoundError: the caller has no such job.
        """
        return await _job_or_404(self._pool, principal, job_id)


def _check_fits(tier: Tier, concepts: int, keyword_count: int, generation: GenerationOptions) -> None:
    """Refuse (422, not 429: no wait would help) a job that may generate more than a full AI budget."""
    if concepts <= tier.limit:
        return
    per = generation.concepts_per_niche
    fits = (
        f"submit at most {tier.limit // per} keywords with {per} concepts each, fewer concepts per keyword"
        if tier.limit >= per
        else f"ask for at most {tier.limit} concepts per keyword"
    )
    raise InvalidRequestError(
        f"this job may generate {concepts} concepts ({keyword_count} keywords x {per} per keyword), more "
        f"than the AI budget ever allows ({tier.limit} per {describe_wait(tier.window_s)}); {fits}, or set "
        "generation.enabled to false"
    )


async def _spend_ai(ai: Budgets, concepts: int, keyword_count: int, generation: GenerationOptions) -> None:
    """Spend ``concepts`` tokens of the AI tier, or refuse saying how much is left and when it refills."""
    decision = await ai.spend(concepts)
    if decision.allowed:
        return
    tier = ai.tiers[0]
    left = next(r for r in decision.results if r.tier.name == tier.name)
    raise RateLimitedError(
        f"this job may generate {concepts} concepts ({keyword_count} keywords x "
        f"{generation.concepts_per_niche} per keyword), but only {left.remaining} of your AI budget of "
        f"{tier.limit} per {describe_wait(tier.window_s)} are left; enough for this job in "
        f"{describe_wait(left.retry_after_s)}, the whole budget in {describe_wait(left.reset_s)}. Submit "
        "fewer keywords or concepts per keyword, or set generation.enabled to false",
        headers=dict(headers_for(decision)),
    )


async def _job_or_404(conn: Any, principal: Principal, job_id: str) -> JobView:
    job = await repo.get_job(conn, principal.user_id, job_id)
    if job is None:
        raise NotFoundError("no such job")
    return job
