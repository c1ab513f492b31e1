"""What a chaos run found (``chaos.py``), and how long the pipeline took to recover from each broker kill."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

TERMINAL_KEYWORD = ("succeeded", "partially_failed", "failed")
# Timeline entries the gateway writes itself when it re-drives; every other entry is a stage's event.
REDRIVE_KINDS = ("job.recovering", "keyword.redriven")


@dataclass
class BrokerKill:
    """One SIGKILL of the broker and what followed it (seconds from the kill; None: did not happen).

    - ``detected_s``: until the gateway recorded its first ``job.recovering`` entry after the kill (the
      heartbeat watch saw the loss and the gateway re-drove the unfinished keywords);
    - ``first_finish_s``: until the first of those re-driven keywords reached a terminal state;
    - ``all_moved_on_s``: until every re-driven job had a stage's event on its timeline after its
      ``job.recovering`` entry (the slowest job's first step after the re-drive).
    Only entries before the next broker kill count for this one.
    """

    at: datetime
    jobs_redriven: int = 0
    keywords_redriven: int = 0
    detected_s: float | None = None
    first_finish_s: float | None = None
    all_moved_on_s: float | None = None

    def render(self) -> str:
        def s(v: float | None) -> str:
            return "never" if v is None else f"{v:.1f} s"

        return (
            f"detected {s(self.detected_s)}, first re-driven keyword finished {s(self.first_finish_s)}, "
            f"every re-driven job moved on {s(self.all_moved_on_s)} "
            f"({self.jobs_redriven} jobs, {self.keywords_redriven} keywords re-driven)"
        )


async def measure_broker_kills(conn: Any, kills: list[BrokerKill]) -> None:
    """Fill in each kill's recovery times from the gateway's timeline (see :class:`BrokerKill`)."""
    for i, kill in enumerate(kills):
        until = kills[i + 1].at if i + 1 < len(kills) else None
        recovering = await conn.fetch(
            """SELECT job_id, created_at, detail->'redriven' AS keywords FROM gateway.job_events
               WHERE kind = 'job.recovering' AND created_at >= $1
                 AND ($2::timestamptz IS NULL OR created_at < $2)""",
            kill.at,
            until,
        )
        if not recovering:
            continue
        kill.jobs_redriven = len({r["job_id"] for r in recovering})
        kill.keywords_redriven = sum(len(_keywords(r["keywords"])) for r in recovering)
        detected = min(r["created_at"] for r in recovering)
        kill.detected_s = (detected - kill.at).total_seconds()
        finished = await conn.fetchval(
            """SELECT min(k.updated_at) FROM gateway.job_keywords k
               JOIN unnest($1::uuid[], $2::text[]) AS r(job_id, keyword)
                 ON r.job_id = k.job_id AND r.keyword = k.keyword
               WHERE k.status = ANY($3::text[]) AND k.updated_at >= $4
                 AND ($5::timestamptz IS NULL OR k.updated_at < $5)""",
            [r["job_id"] for r in recovering for _ in _keywords(r["keywords"])],
            [k for r in recovering for k in _keywords(r["keywords"])],
            list(TERMINAL_KEYWORD),
            detected,
            until,
        )
        if finished is not None:
            kill.first_finish_s = (finished - kill.at).total_seconds()
        moved = await conn.fetch(
            """SELECT r.job_id, min(e.created_at) AS at
               FROM unnest($1::uuid[], $2::timestamptz[]) AS r(job_id, recovering_at)
               LEFT JOIN gateway.job_events e
                 ON e.job_id = r.job_id AND e.created_at >= r.recovering_at AND e.kind <> ALL($3::text[])
                AND ($4::timestamptz IS NULL OR e.created_at < $4)
               GROUP BY r.job_id""",
            [r["job_id"] for r in recovering],
            [r["created_at"] for r in recovering],
            list(REDRIVE_KINDS),
            until,
        )
        if all(m["at"] is not None for m in moved):
            kill.all_moved_on_s = (max(m["at"] for m in moved) - kill.at).total_seconds()


def _keywords(value: Any) -> list[str]:
    """The keywords of a ``job.recovering`` entry (asyncpg hands jsonb over as text)."""
    parsed = json.loads(value) if isinstance(value, str) else value
    return [str(k) for k in parsed or []]


@dataclass
class Report:
    jobs_accepted: int = 0
    jobs_total: int = 0
    jobs_terminal: int = 0
    job_statuses: dict[str, int] = field(default_factory=dict)
    kills: dict[str, int] = field(default_factory=dict)
    recovery_s: dict[str, list[float]] = field(default_factory=dict)
    store_restarts: list[str] = field(default_factory=list)
    ai_outage_s: float = 0.0
    broker_kills: list[BrokerKill] = field(default_factory=list)
    concepts_generated: int = 0
    products_generator: int = 0
    products_gateway: int = 0
    products_missing: int = 0
    products_duplicated: int = 0
    poison_injected: int = 0
    dead_letters_expected: int = 0
    dead_letters_stored: int = 0
    dead_letters_unexpected: list[str] = field(default_factory=list)
    dead_letters_missing: list[str] = field(default_factory=list)
    etsy_requests: int = 0
    ai_requests: int = 0
    elapsed_s: float = 0.0
    problems: list[str] = field(default_factory=list)
    baseline: Report | None = None
    """The same seed and jobs without broker kills (``--compare``)."""

    @property
    def longest_recovery_s(self) -> float:
        return max((t for ts in self.recovery_s.values() for t in ts), default=0.0)

    @property
    def ok(self) -> bool:
        return not self.problems and (self.baseline is None or self.baseline.ok)

    def render(self) -> str:
        lines = [
            "=== chaos report ===",
            f"jobs: {self.jobs_accepted} accepted, {self.jobs_total} in the gateway, "
            f"{self.jobs_terminal} terminal "
            f"{self.job_statuses}",
            f"kills (SIGKILL + restart): {self.kills}; store restarts: {self.store_restarts}; "
            f"AI outage: {self.ai_outage_s:.0f} s; broker kills (SIGKILL, restarted empty): "
            f"{len(self.broker_kills)}",
            f"longest recovery after a kill: {self.longest_recovery_s:.1f} s "
            f"(per service max: { {k: round(max(v), 1) for k, v in self.recovery_s.items() if v} })",
            *(f"broker kill {i + 1}: {k.render()}" for i, k in enumerate(self.broker_kills)),
            f"concepts: {self.concepts_generated} accepted; products: generator {self.products_generator}, "
            f"gateway {self.products_gateway}, missing {self.products_missing}, "
            f"duplicated {self.products_duplicated}",
            f"dead letters: {self.dead_letters_stored} stored, {self.dead_letters_expected} expected from "
            f"{self.poison_injected} poison records; unexpected {len(self.dead_letters_unexpected)}, "
            f"missing {len(self.dead_letters_missing)}",
            f"calls: Etsy {self.etsy_requests}, AI {self.ai_requests}",
        ]
        if self.baseline is not None:
            b = self.baseline
            lines.append(
                f"same seed and jobs without broker kills: Etsy {b.etsy_requests}, AI {b.ai_requests} "
                f"({'PASS' if b.ok else 'FAIL: ' + '; '.join(b.problems)}); extra calls with broker kills: "
                f"Etsy {self.etsy_requests - b.etsy_requests:+d}, AI {self.ai_requests - b.ai_requests:+d}"
            )
        lines += [
            f"elapsed: {self.elapsed_s:.0f} s",
            "result: " + ("PASS" if not self.problems else "FAIL: " + "; ".join(self.problems)),
        ]
        return "\n".join(lines)
