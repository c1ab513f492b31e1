"""Stalled jobs: a keyword with no progress past its stage deadline (``domain.deadlines``) is re-driven a
bounded number of times, then failed with a reason the user can read.

Re-driving re-publishes the job's ``ResearchRequested`` for that keyword alone with ``attempt`` one higher;
stages that already hold their output for the keyword re-emit it instead of redoing it, and the keyword's
outcomes are counted per concept index, so a late original and its re-drive never count twice. A broker
that lost records (``etsygen_common.broker_watch``) re-drives every unfinished keyword at once.
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
from etsygen_gateway.domain.deadlines import (
    KeywordClock,
    Pace,
    is_stalled,
    shortest_allowance_s,
    stage_of,
)
from etsygen_gateway.domain.jobs import TERMINAL_JOB, TERMINAL_KEYWORD, job_status
from etsygen_gateway.metrics import SERVICE, job_finished
from etsygen_gateway.settings import GatewaySection

log = get_logger(__name__)


class SweepResult(msgspec.Struct, frozen=True, kw_only=True):
    """What one sweep did."""

    redriven: list[tuple[str, str]]
    failed: list[tuple[str, str]]


_UNFINISHED = """SELECT k.job_id, k.keyword, k.redrives, k.broker_redrives, j.owner_id,
                          j.status AS job_status, j.marketplace, j.listing_budget, j.generation,
                          k.position, k.scrape_status, k.analyze_status, k.generate_status,
                          k.expected_concepts, k.updated_at, k.resume_at, now() AS now
                   FROM job_keywords k JOIN jobs j ON j.id = k.job_id
                   WHERE k.status NOT IN ('succeeded', 'partially_failed', 'failed')
                     AND j.status NOT IN ('succeeded', 'partially_failed', 'failed', 'cancelled')"""


async def _redrive(conn: Any, row: Any, *, stall: bool, detail: dict[str, Any]) -> None:
    """Re-publish the keyword's research request with the next attempt, and say why on the timeline.

    Stages that already hold their output for the keyword answer from it (``etsygen_common.redrive``); only
    the stage whose output is missing does its work again.
    """
    job_id, keyword, owner_id = str(row["job_id"]), row["keyword"], str(row["owner_id"])
    redrives = row["redrives"] + (1 if stall else 0)
    broker_redrives = row["broker_redrives"] + (0 if stall else 1)
    attempt = redrives + broker_redrives
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
        [wrap(event, source=SERVICE, event_id=deterministic_id("redrive", job_id, keyword, str(attempt)))],
    )
    await conn.execute(
        """UPDATE job_keywords SET redrives = $3, broker_redrives = $4, updated_at = now(),
                  waiting_reason = NULL, waiting_detail = NULL, resume_at = NULL
           WHERE job_id = $1 AND keyword = $2""",
        uuid.UUID(job_id),
        keyword,
        redrives,
        broker_redrives,
    )
    await repo.insert_event(
        conn, job_id, "keyword.redriven", keyword=keyword, detail={"attempt": attempt, **detail}
    )


def pace_of(settings: GatewaySection) -> Pace:
    """The stage deadlines the settings describe (``GATEWAY_DEADLINE_*``, ``GATEWAY_STALL_AFTER_S``)."""
    return Pace(
        etsy_call_s=settings.deadline_etsy_call_s,
        review_calls=settings.deadline_review_calls,
        analysis_s=settings.deadline_analysis_s,
        ai_call_s=settings.deadline_ai_call_s,
        ai_attempts=settings.deadline_ai_attempts,
        margin_s=settings.deadline_margin_s,
        ceiling_s=settings.stall_after_s,
    )


def _clock(row: Any) -> KeywordClock:
    generation = row["generation"] or {}
    concepts = row["expected_concepts"]
    return KeywordClock(
        stage=stage_of(row["scrape_status"], row["analyze_status"], row["generate_status"]),
        updated_at=row["updated_at"],
        listing_budget=row["listing_budget"],
        concepts=concepts if concepts is not None else int(generation.get("concepts_per_niche", 1)),
        position=row["position"],
        redrives=row["redrives"],
        resume_at=row["resume_at"],
    )


SCAN_FACTOR = 5
"""The sweep reads up to this many candidates per keyword it may act on: candidates still inside their stage
deadline (a long scrape, a keyword late in a big job) must not hide stalled keywords behind them."""


async def sweep_stalled(pool: Any, *, pace: Pace, max_redrives: int, batch: int = 100) -> SweepResult:
    """Re-drive or fail keywords of unfinished jobs whose stage deadline (``domain.deadlines``) has passed."""
    redriven: list[tuple[str, str]] = []
    failed: list[tuple[str, str]] = []
    ended: list[tuple[str, float]] = []
    async with pool.acquire() as conn, conn.transaction():
        # The SQL only narrows the candidates cheaply (old enough for any stage, not waiting for a known
        # reason past now); the deadline itself is decided by the domain, on the database's clock.
        rows = await conn.fetch(
            _UNFINISHED
            + """ AND k.updated_at < now() - make_interval(secs => $1)
                  AND (k.resume_at IS NULL OR k.resume_at < now() - make_interval(secs => $2))
               ORDER BY k.updated_at LIMIT $3
               FOR UPDATE OF k SKIP LOCKED""",
            shortest_allowance_s(pace),
            pace.margin_s,
            batch * SCAN_FACTOR,
        )
        stalled = [row for row in rows if is_stalled(_clock(row), pace, row["now"])][:batch]
        for row in stalled:
            job_id, keyword, owner_id = str(row["job_id"]), row["keyword"], str(row["owner_id"])
            minutes = round((row["now"] - row["updated_at"]).total_seconds() / 60, 1)
            if row["redrives"] < max_redrives:
                await _redrive(conn, row, stall=True, detail={"stalled_minutes": minutes})
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


async def redrive_after_broker_loss(pool: Any, explanation: str) -> list[tuple[str, str]]:
    """Re-drive every unfinished keyword at once: the broker lost records, so work in flight may be gone.

    Each job's timeline says what was detected and which keywords were re-driven; the re-drives do not count
    against a keyword's stall re-drives.
    """
    redriven: list[tuple[str, str]] = []
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(_UNFINISHED + " ORDER BY k.job_id, k.position FOR UPDATE OF k SKIP LOCKED")
        by_job: dict[str, list[str]] = {}
        for row in rows:
            await _redrive(conn, row, stall=False, detail={"cause": "broker_lost_records"})
            by_job.setdefault(str(row["job_id"]), []).append(row["keyword"])
            redriven.append((str(row["job_id"]), row["keyword"]))
        for job_id, keywords in by_job.items():
            await repo.insert_event(
                conn,
                job_id,
                "job.recovering",
                detail={"detected": explanation, "redriven": keywords},
            )
            owner = next(str(r["owner_id"]) for r in rows if str(r["job_id"]) == job_id)
            await notify(conn, LiveNotice(owner_id=owner, job_id=job_id, kind="stalled", namespaces=["jobs"]))
    log.warning(
        "broker lost records: re-drove every unfinished keyword",
        extra={"detected": explanation, "keywords": len(redriven), "jobs": len({j for j, _ in redriven})},
    )
    return redriven
