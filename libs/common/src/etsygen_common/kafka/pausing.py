"""Holding partitions back: a retry not yet due, a dependency or the database down, a batch that failed.

Every pause rewinds to the record held back and resumes the partitions on a timer, so the record is read
again once its wait is over; nothing is retried or dead-lettered for a pause.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiokafka import TopicPartition

from etsygen_common.contracts import deadletter as dlh
from etsygen_common.db import is_unavailable
from etsygen_common.kafka.batch import Batch
from etsygen_common.kafka.errors import PauseConsumption
from etsygen_common.kafka.policy import DATABASE_PAUSE_S, RETRY_ATTEMPT, database_pause, due_in_s
from etsygen_common.logging import get_logger
from etsygen_common.metrics import CONSUMER_PAUSES
from etsygen_common.waiting import WaitingNotices

log = get_logger(__name__)


class Pauses:
    """Pauses and timed resumes of one consumer's partitions, and the waiting notices they send."""

    def __init__(self, *, service: str, waiting: WaitingNotices | None) -> None:
        self.service = service
        self.waiting = waiting
        """Tells the gateway why a keyword waits (pipeline stages only; None elsewhere)."""
        self._resume_handles: list[asyncio.TimerHandle] = []

    def not_yet_due(self, consumer: Any, tp: TopicPartition, record: Any, headers: dict[str, str]) -> bool:
        """On a retry topic: if the record is not due, rewind to it and pause its partition until it is."""
        wait = due_in_s(headers, time.time())
        if wait <= 0:
            return False
        consumer.seek(tp, record.offset)
        consumer.pause(tp)
        self._schedule_resume(consumer, [tp], wait)
        if self.waiting is not None:
            attempt = headers.get(RETRY_ATTEMPT, "?")
            error = headers.get(dlh.EXCEPTION_MESSAGE, "")[:300]
            self.waiting.notice(record.value, "retry_pending", f"retry {attempt} after: {error}", wait)
        return True

    def hold_back(self, batch: Batch, tp: TopicPartition, record: Any, exc: BaseException) -> bool:
        """Pause for an open breaker (:class:`PauseConsumption`) or an unreachable database: the record is
        not at fault. True when ``exc`` was one of those (the partition is rewound to the record)."""
        if isinstance(exc, PauseConsumption):
            self.pause(batch, tp, record, exc)
        elif is_unavailable(exc):
            self.pause(batch, tp, record, database_pause(exc))
        else:
            return False
        return True

    def pause(self, batch: Batch, tp: TopicPartition, record: Any, pause: PauseConsumption) -> None:
        """A dependency is down: rewind to the record and pause every partition; the rest of the batch is
        rewound too, as each partition reaches its next record."""
        batch.consumer.seek(tp, record.offset)
        log.warning("consumer paused", extra={"reason": pause.reason, "seconds": pause.seconds})
        if self.waiting is not None:
            self.waiting.notice(record.value, pause.cause, pause.reason, pause.seconds)
        self._pause_all(batch, pause.seconds, "database" if pause.database else "dependency")

    def rewind_unfinished(
        self, batch: Batch, by_partition: dict[TopicPartition, list[Any]], exc: Exception
    ) -> None:
        """Seek every partition of the batch back to its first record not finished, then pause them all."""
        outage = is_unavailable(exc)
        if outage:
            log.warning("database unavailable; batch rewound", extra={"error": repr(exc)})
        else:
            log.error("batch failed; rewound to the first unfinished records", exc_info=exc)
        consumer = batch.consumer
        assigned = consumer.assignment()
        for tp, records in by_partition.items():
            if tp in assigned:
                consumer.seek(tp, batch.commits.get(tp, records[0].offset))
        # An unexpected error pauses for a second too: do not spin on it.
        self._pause_all(batch, DATABASE_PAUSE_S if outage else 1.0, "database" if outage else "error")

    def cancel(self) -> None:
        """Cancel pending partition resumes and notices (shutdown)."""
        for handle in self._resume_handles:
            handle.cancel()
        if self.waiting is not None:
            self.waiting.cancel()

    async def flush(self) -> None:
        """Wait until the waiting notices being sent are sent (tests)."""
        if self.waiting is not None:
            await self.waiting.flush()

    def _pause_all(self, batch: Batch, seconds: float, cause: str) -> None:
        """Stop the batch and pause every assigned partition for ``seconds`` (counted by ``cause``)."""
        batch.paused = True
        consumer = batch.consumer
        assigned = list(consumer.assignment())
        consumer.pause(*assigned)
        CONSUMER_PAUSES.labels(self.service, cause).inc()
        self._schedule_resume(consumer, assigned, seconds)

    def _schedule_resume(self, consumer: Any, partitions: list[TopicPartition], delay: float) -> None:
        loop = asyncio.get_running_loop()

        def resume() -> None:
            assigned = consumer.assignment()
            consumer.resume(*[p for p in partitions if p in assigned])

        now = loop.time()
        self._resume_handles = [h for h in self._resume_handles if h.when() > now and not h.cancelled()]
        self._resume_handles.append(loop.call_later(delay, resume))
