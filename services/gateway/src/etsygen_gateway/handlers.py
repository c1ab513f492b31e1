"""Kafka handlers of the gateway: projections of the pipeline's events into jobs and read models, and the
dead-letter store.

Projections run in the consumer group ``etsygen-gateway`` through :class:`EventConsumer`, so each event is
applied once (inbox) inside one transaction: keyword stage status, a timeline entry, the owner-scoped trend
or product row, the job's status, and a NOTIFY that wakes live streams and invalidates caches on commit.
Events of one job are serialised by locking the job's row first.

Dead letters use a raw subscriber (group ``etsygen-gateway-dlq``, manual commit after the insert): their
bodies may be exactly what could not be decoded, so they are stored as bytes without decoding.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any, Final

from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage

from etsygen_common import contracts
from etsygen_common.contracts import (
    DEADLETTER,
    KeywordWaiting,
    ListingPublished,
    ListingsScraped,
    ProductGenerated,
    ProductRejected,
    TrendScored,
)
from etsygen_common.envelope import deterministic_id, headers_of
from etsygen_common.kafka import FatalError, HandlerContext
from etsygen_common.logging import get_logger
from etsygen_common.settings import KafkaSettings
from etsygen_gateway.adapters import deadletters as dead_letter_repo
from etsygen_gateway.adapters import jobs as repo
from etsygen_gateway.adapters import readmodels
from etsygen_gateway.adapters.cache import ReadCache
from etsygen_gateway.adapters.jobs import as_uuid
from etsygen_gateway.adapters.live import LiveNotice, notify
from etsygen_gateway.domain.deadletters import from_record
from etsygen_gateway.domain.deadlines import stage_of
from etsygen_gateway.domain.jobs import (
    TERMINAL_JOB,
    TERMINAL_KEYWORD,
    KeywordProgress,
    apply_analysis,
    apply_outcome,
    apply_scrape,
    job_reason,
    job_status,
    keyword_status,
    rejection_outcome,
)
from etsygen_gateway.metrics import DEAD_LETTERS_STORED, PROJECTED, SERVICE, job_finished
from etsygen_gateway.service_layer.catalog import REGENERATE_HEADER

log = get_logger(__name__)

GROUP: Final = "etsygen-gateway"
DLQ_GROUP: Final = "etsygen-gateway-dlq"

Mutation = Callable[[KeywordProgress], None]


def _owner(owner_id: str) -> str:
    """The event's owner as a user id; anything else is a contract violation (dead-lettered at once)."""
    parsed = as_uuid(owner_id)
    if parsed is None:
        raise FatalError(f"owner_id {owner_id[:60]!r} is not a user id")
    return str(parsed)


class Projections:
    """Applies pipeline events to the gateway's jobs and read models."""

    def __init__(self, cache: ReadCache) -> None:
        """``cache``: the read cache whose entries a projection makes stale."""
        self._cache = cache

    async def listings_scraped(self, ctx: HandlerContext, event: ListingsScraped) -> None:
        """A keyword's marketplace data arrived (or its fetch failed)."""
        ok = event.status == "ok"
        await self._advance(
            ctx,
            _owner(event.owner_id),
            event.job_id,
            event.keyword,
            lambda p: apply_scrape(p, ok),
            kind="scrape.succeeded" if ok else "scrape.failed",
            detail={"listings": len(event.listings), "total_count": event.total_count}
            if ok
            else {"error": event.error or "scrape failed"},
            error=None if ok else (event.error or "scrape failed"),
        )
        await self._done(ctx, event.owner_id, ["jobs"], job_id=event.job_id)

    async def trend_scored(self, ctx: HandlerContext, event: TrendScored) -> None:
        """A keyword was scored: the trend read model gets a row, the keyword moves to generation."""
        if REGENERATE_HEADER in ctx.headers:
            return  # our own re-emission for one more concept: the trend is stored already
        ok = event.status == "ok"
        trend_id = event.snapshot_id or deterministic_id("trend", ctx.event_id)
        namespaces = ["jobs"]
        _owner(event.owner_id)
        if ok:
            await readmodels.upsert_trend(ctx.conn, trend_id, ctx.event_id, event)
            namespaces.append("trends")
        await self._advance(
            ctx,
            _owner(event.owner_id),
            event.job_id,
            event.keyword,
            lambda p: apply_analysis(p, ok),
            kind="analysis.succeeded" if ok else "analysis.failed",
            detail={"trend_id": trend_id, "score": event.score, "risk": event.risk}
            if ok
            else {"error": event.error or "scoring failed"},
            error=None if ok else (event.error or "scoring failed"),
            trend_id=trend_id if ok else None,
        )
        await self._done(ctx, event.owner_id, namespaces, job_id=event.job_id)

    async def product_generated(self, ctx: HandlerContext, event: ProductGenerated) -> None:
        """A concept was generated: the product read model gets a row, the keyword counts an outcome."""
        _owner(event.owner_id)
        await readmodels.upsert_product(ctx.conn, event)
        counted = await self._outcome(
            ctx,
            _owner(event.owner_id),
            event.job_id,
            event.keyword,
            event.concept_index,
            None,
            event.product_id,
        )
        if counted:
            await repo.note_outcome(
                ctx.conn, event.job_id, event.keyword, "new_product", reason=None, existing_product_id=None
            )
        await self._advance(
            ctx,
            _owner(event.owner_id),
            event.job_id,
            event.keyword,
            (lambda p: apply_outcome(p, generated=True, reason=None, expected=event.expected_concepts))
            if counted
            else None,
            kind="product.generated",
            detail={
                "product_id": event.product_id,
                "title": event.concept.title,
                "concept_index": event.concept_index,
                "expected_concepts": event.expected_concepts,
            },
        )
        await self._done(ctx, event.owner_id, ["jobs", "products"], job_id=event.job_id)

    async def product_rejected(self, ctx: HandlerContext, event: ProductRejected) -> None:
        """A concept was not produced: the keyword counts an outcome (a failure only when it was an error, not
        a gate's or a guard's decision; a duplicate of the owner's product links the keyword to it)."""
        counted = await self._outcome(
            ctx, _owner(event.owner_id), event.job_id, event.keyword, event.concept_index, event.reason, None
        )
        outcome, why = rejection_outcome(event.reason, event.detail, event.existing_product_id)
        if counted:
            await repo.note_outcome(
                ctx.conn,
                event.job_id,
                event.keyword,
                outcome,
                reason=why,
                existing_product_id=event.existing_product_id,
            )
        await self._advance(
            ctx,
            _owner(event.owner_id),
            event.job_id,
            event.keyword,
            (
                lambda p: apply_outcome(
                    p, generated=False, reason=event.reason, expected=event.expected_concepts
                )
            )
            if counted
            else None,
            kind="product.rejected",
            detail={
                "reason": event.reason,
                "detail": event.detail,
                "outcome": outcome,
                "why": why,
                "existing_product_id": event.existing_product_id,
                "concept_index": event.concept_index,
                "expected_concepts": event.expected_concepts,
            },
        )
        await self._done(ctx, event.owner_id, ["jobs"], job_id=event.job_id)

    async def listing_published(self, ctx: HandlerContext, event: ListingPublished) -> None:
        """A draft listing exists on the marketplace for one of the owner's products."""
        _owner(event.owner_id)
        found = await readmodels.mark_published(ctx.conn, event)
        if not found:
            log.warning("published listing for an unknown product", extra={"product_id": event.product_id})
        if event.job_id and await repo.job_owner(ctx.conn, event.job_id) is not None:
            await repo.insert_event(
                ctx.conn,
                event.job_id,
                "listing.published",
                detail={
                    "product_id": event.product_id,
                    "listing_id": event.remote_listing_id,
                    "url": event.url,
                },
            )
        await self._done(ctx, event.owner_id, ["products", "jobs"], job_id=event.job_id)

    async def keyword_waiting(self, ctx: HandlerContext, event: KeywordWaiting) -> None:
        """A stage holds the keyword back for a known reason: show why and until when (the stall sweep waits
        for it too). A late notice from a stage the keyword has left, or for a finished job, does nothing."""
        owner_id = _owner(event.owner_id)
        conn = ctx.conn
        job = await repo.job_owner(conn, event.job_id)  # locks the job, as every projection does
        if job is None or job[0] != owner_id or job[1] in TERMINAL_JOB:
            return
        found = await repo.lock_keyword(conn, event.job_id, event.keyword)
        if found is None:
            return
        progress, status = found
        stage = stage_of(progress.scrape, progress.analyze, progress.generate)
        if status in TERMINAL_KEYWORD or stage != event.stage:
            return
        noted = await repo.set_waiting(
            conn,
            event.job_id,
            event.keyword,
            reason=event.reason,
            detail=event.detail,
            resume_at=event.resume_at,
        )
        if not noted:
            return
        await repo.insert_event(
            conn,
            event.job_id,
            "keyword.waiting",
            keyword=event.keyword,
            detail={
                "stage": event.stage,
                "reason": event.reason,
                "detail": event.detail,
                "resume_at": event.resume_at.isoformat(),
            },
        )
        await self._done(ctx, owner_id, ["jobs"], job_id=event.job_id)

    async def _outcome(
        self,
        ctx: HandlerContext,
        owner_id: str,
        job_id: str,
        keyword: str,
        concept_index: int,
        reason: str | None,
        product_id: str | None,
    ) -> bool:
        """Record a generator outcome once per (job, keyword, concept); False when known or not ours."""
        job = await repo.job_owner(ctx.conn, job_id)
        if job is None or job[0] != owner_id:
            return False
        if await repo.lock_keyword(ctx.conn, job_id, keyword) is None:
            return False
        return await repo.add_outcome(
            ctx.conn,
            job_id,
            keyword,
            concept_index,
            outcome="generated" if product_id is not None else "rejected",
            reason=reason,
            product_id=product_id,
        )

    async def _advance(
        self,
        ctx: HandlerContext,
        owner_id: str,
        job_id: str,
        keyword: str,
        mutate: Mutation | None,
        *,
        kind: str,
        detail: dict[str, Any],
        error: str | None = None,
        trend_id: str | None = None,
    ) -> None:
        """Update one keyword (unless it finished already), the job's timeline and the job's status."""
        conn = ctx.conn
        job = await repo.job_owner(conn, job_id)  # locks the job: one job's events apply one at a time
        if job is None:
            return  # not a job of this gateway (another deployment's, or deleted)
        job_owner, current = job
        if job_owner != owner_id:
            log.warning("event names another owner than its job; job left unchanged", extra={"job": job_id})
            return
        found = await repo.lock_keyword(conn, job_id, keyword)
        saved = False
        if found is not None and mutate is not None:
            progress, status = found
            if status not in TERMINAL_KEYWORD:
                mutate(progress)
                await repo.save_keyword(
                    conn, job_id, keyword, progress, keyword_status(progress), error=error, trend_id=trend_id
                )
                saved = True
        if found is not None and trend_id is not None and not saved:
            # The generator's outcomes may have finished the keyword before its analysis event is projected
            # (they travel on other topics): the keyword keeps its link to the trend all the same.
            await repo.set_trend_id(conn, job_id, keyword, trend_id)
        await repo.insert_event(conn, job_id, kind, keyword=keyword, detail=detail)
        statuses = await repo.keyword_statuses(conn, job_id)
        new_status = job_status(statuses, current)
        finished = sum(1 for s in statuses if s in TERMINAL_KEYWORD)
        terminal = new_status in TERMINAL_JOB
        seconds = await repo.set_job_status(conn, job_id, new_status, finished, terminal=terminal)
        if terminal and current not in TERMINAL_JOB:
            reasons = job_reason(await repo.keyword_reasons(conn, job_id))
            if reasons is not None:
                await repo.note_job_reason(conn, job_id, reasons)
            await repo.insert_event(
                conn, job_id, "job.finished", detail={"status": new_status, "reason": reasons}
            )
            ctx.on_commit(functools.partial(job_finished, new_status, seconds or 0.0))

    async def _done(
        self, ctx: HandlerContext, owner_id: str, namespaces: list[str], *, job_id: str | None = None
    ) -> None:
        """Announce the change (delivered on commit) and drop stale cache entries now as well."""
        ctx.on_commit(PROJECTED.labels(SERVICE, ctx.topic).inc)
        await notify(
            ctx.conn, LiveNotice(owner_id=owner_id, job_id=job_id, kind=ctx.topic, namespaces=namespaces)
        )
        for namespace in namespaces:
            await self._cache.invalidate(namespace, owner_id)


def subscribe_projections(consumer: Any, projections: Projections) -> None:
    """Register the projections on the gateway's :class:`EventConsumer`."""
    consumer.subscribe(contracts.LISTINGS_SCRAPED, ListingsScraped, projections.listings_scraped)
    consumer.subscribe(contracts.TRENDS_SCORED, TrendScored, projections.trend_scored)
    consumer.subscribe(contracts.PRODUCTS_GENERATED, ProductGenerated, projections.product_generated)
    consumer.subscribe(contracts.PRODUCTS_REJECTED, ProductRejected, projections.product_rejected)
    consumer.subscribe(contracts.LISTINGS_PUBLISHED, ListingPublished, projections.listing_published)
    consumer.subscribe(contracts.KEYWORD_WAITING, KeywordWaiting, projections.keyword_waiting)


class DeadLetterStore:
    """Stores records of ``etsygen.deadletter.v1`` byte for byte, once per original record and group."""

    def __init__(self, pool: Any) -> None:
        """``pool``: the gateway's Postgres pool (late-bound)."""
        self._pool = pool

    async def __call__(self, msg: KafkaMessage) -> None:
        """Insert the record, then commit its offset; on a database error rewind and retry it later."""
        record = msg.raw_message
        assert not isinstance(record, tuple)  # batch subscribers are not used
        letter = from_record(
            headers_of(record.headers),
            dlq_topic=DEADLETTER,
            partition=record.partition,
            offset=record.offset,
            key=record.key,
            body=record.value or b"",
        )
        try:
            async with self._pool.acquire() as conn:
                stored = await dead_letter_repo.store(conn, letter)
        except Exception as exc:
            log.warning("could not store a dead letter; it will be redelivered", extra={"error": repr(exc)})
            await msg.nack()
            await asyncio.sleep(1.0)
            return
        if stored:
            DEAD_LETTERS_STORED.labels(SERVICE, letter.original_topic).inc()
        try:
            await msg.ack()
        except Exception as exc:  # a rebalance: the record comes again and the unique key skips it
            log.warning("dead-letter offset commit failed", extra={"error": repr(exc)})


def subscribe_dead_letters(broker: KafkaBroker, kafka: KafkaSettings, store: DeadLetterStore) -> None:
    """Register the raw dead-letter subscriber (manual commit after the insert)."""

    async def on_dead_letter(msg: KafkaMessage) -> None:
        await store(msg)

    broker.subscriber(
        kafka.topic(DEADLETTER),
        group_id=DLQ_GROUP,
        ack_policy=AckPolicy.MANUAL,
        auto_offset_reset="earliest",
        max_poll_interval_ms=kafka.max_poll_interval_ms,
        fetch_max_wait_ms=kafka.fetch_max_wait_ms,
        decoder=_undecoded,
    )(on_dead_letter)


async def _undecoded(msg: Any) -> None:
    """FastStream decodes every body before calling a handler (JSON when the headers say so); a dead
    letter's body is exactly what may not decode, so this decoder leaves it alone."""
    return
