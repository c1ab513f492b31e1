"""Telling the gateway why a keyword waits: a consumer that holds a record back for a known reason (an open
breaker, Etsy's daily budget, a rate limit, a retry not yet due, the database) publishes ``KeywordWaiting``.

Publishing is best-effort and off the consumer's path: no transaction is open at a pause, the record is
read again anyway, and a notice that is lost only means the gateway's stall deadline applies. A long pause
re-pauses the consumer many times; a notice for the same (job, keyword, reason) is sent again only after
``every_s`` or when the resume time moved later by more than that, so the topic is not flooded.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

import msgspec

from etsygen_common.contracts import KeywordWaiting, WaitingReason
from etsygen_common.contracts.keywords import Stage
from etsygen_common.envelope import Envelope, wrap
from etsygen_common.logging import get_logger

log = get_logger(__name__)

MAX_REMEMBERED = 10_000
"""Keys kept for rate limiting; older ones are forgotten first beyond this (memory stays bounded)."""


class _Publisher(Protocol):
    async def publish(self, record: Envelope) -> None: ...


class _Subject(msgspec.Struct):
    """The fields of any pipeline event that name a job's keyword (other fields are ignored)."""

    job_id: str | None = None
    owner_id: str | None = None
    keyword: str | None = None


class WaitingNotices:
    """Publishes ``KeywordWaiting`` for records a consumer holds back (one per consumer that opts in)."""

    def __init__(
        self,
        publisher: _Publisher,
        *,
        service: str,
        stage: Stage,
        every_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._publisher = publisher
        self._service = service
        self._stage: Stage = stage
        self._every_s = every_s
        self._clock = clock
        self._sent: dict[tuple[str, str, str], tuple[float, datetime]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def notice(self, payload: bytes | None, reason: WaitingReason, detail: str, seconds: float) -> None:
        """The record ``payload`` waits ``seconds`` for ``reason``: tell the gateway, unless told lately.

        Records that name no job and keyword (a whole job's request, a malformed record) emit nothing.
        """
        try:
            subject = msgspec.json.decode(payload or b"", type=_Subject)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return
        if not (subject.job_id and subject.owner_id and subject.keyword):
            return
        resume_at = datetime.now(UTC) + timedelta(seconds=max(seconds, 0.0))
        key = (subject.job_id, subject.keyword, reason)
        now = self._clock()
        last = self._sent.get(key)
        if last is not None:
            sent_at, told_resume = last
            if now - sent_at < self._every_s and resume_at <= told_resume + timedelta(seconds=self._every_s):
                return
        self._remember(key, (now, resume_at))
        event = KeywordWaiting(
            job_id=subject.job_id,
            owner_id=subject.owner_id,
            keyword=subject.keyword[:120],
            stage=self._stage,
            reason=reason,
            detail=detail[:500],
            resume_at=resume_at,
        )
        task = asyncio.get_running_loop().create_task(self._send(wrap(event, source=self._service)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _remember(self, key: tuple[str, str, str], value: tuple[float, datetime]) -> None:
        self._sent.pop(key, None)
        self._sent[key] = value  # dicts keep insertion order: the first key is the least recently told
        while len(self._sent) > MAX_REMEMBERED:
            del self._sent[next(iter(self._sent))]

    async def _send(self, envelope: Envelope) -> None:
        try:
            await self._publisher.publish(envelope)
        except Exception as exc:  # best-effort: the stall deadline still covers the keyword
            log.warning("could not publish a waiting notice", extra={"error": repr(exc)})

    async def flush(self) -> None:
        """Wait for the notices being sent (tests, shutdown)."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def cancel(self) -> None:
        """Drop the notices still being sent (shutdown)."""
        for task in list(self._tasks):
            task.cancel()
