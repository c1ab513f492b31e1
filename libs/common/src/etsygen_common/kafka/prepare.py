"""Preparing a fetched record for its transaction: decode it and run its handler's ``prepare`` step."""

from __future__ import annotations

import time
from typing import Any

import msgspec
from aiokafka import TopicPartition
from opentelemetry import trace

from etsygen_common.envelope import require_id
from etsygen_common.kafka.batch import Batch, Ready, Route
from etsygen_common.kafka.handoff import FailureHandoff
from etsygen_common.kafka.pausing import Pauses
from etsygen_common.kafka.settle import finish
from etsygen_common.logging import bind, log_context
from etsygen_common.messaging_spans import consumer_span


class Preparer:
    """Decodes and prepares one consumer group's records, one at a time, outside any transaction."""

    def __init__(self, *, service: str, group: str, pauses: Pauses, handoff: FailureHandoff) -> None:
        self.service = service
        self.group = group
        self._pauses = pauses
        self._handoff = handoff

    async def ready(
        self,
        batch: Batch,
        tp: TopicPartition,
        record: Any,
        headers: dict[str, str],
        route: Route[Any],
        attempt: int,
    ) -> Ready | bool:
        """Decode a record and run its handler's ``prepare`` step (external I/O, before any transaction).

        Returns the prepared record; True when the record is finished without a transaction (a duplicate,
        or a failure handed to a retry or the dead-letter topic); False when the partition was rewound to it.
        """
        started = time.perf_counter()
        span = consumer_span(route.topic, record, headers, self.group)
        token = log_context.set({})
        try:
            # Failures are recorded where their outcome is known (a pause is none; see messaging_spans).
            with trace.use_span(
                span, end_on_exit=False, record_exception=False, set_status_on_exception=False
            ):
                event_id = require_id(headers)
                event = msgspec.json.decode(record.value, type=route.body)
                bind(job_id=getattr(event, "job_id", None), event_id=event_id)
                prepare = getattr(route.handler, "prepare", None)
                prepared = None
                if prepare is not None:
                    # Slow external work (HTTP calls) runs before the transaction, so no connection is held
                    # open meanwhile; a record already handled is skipped without repeating that work.
                    if event_id in batch.handled:
                        finish(self.service, route, "duplicate", span, started)
                        return True
                    prepared = await prepare(event)
                return Ready(
                    record=record,
                    tp=tp,
                    headers=headers,
                    route=route,
                    attempt=attempt,
                    event_id=event_id,
                    event=event,
                    prepared=prepared,
                    span=span,
                    log_fields=dict(log_context.get() or {}),
                    locks=list(locks(event)) if (locks := getattr(route.handler, "locks", None)) else [],
                    work_s=time.perf_counter() - started,
                )
        except Exception as exc:
            if self._pauses.hold_back(batch, tp, record, exc):
                finish(self.service, route, None, span, started)
                return False
            handed_on = await self._handoff.hand_on_or_rewind(
                batch, tp, record, headers, route, attempt, exc, span=span
            )
            finish(self.service, route, None, span, started)
            return handed_on
        finally:
            log_context.reset(token)
