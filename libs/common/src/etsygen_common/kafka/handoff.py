"""Handing a failed record on: publish what the failure policy decided, count it, and say so on its span."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from aiokafka import TopicPartition

from etsygen_common.envelope import Envelope
from etsygen_common.kafka.batch import Batch, Route
from etsygen_common.kafka.broker import KafkaPublisher
from etsygen_common.kafka.policy import Failure, plan_handoff
from etsygen_common.logging import get_logger
from etsygen_common.messaging_spans import note_handoff
from etsygen_common.metrics import DEADLETTERS, EVENTS_CONSUMED, RETRIES

log = get_logger(__name__)

REFUSED_PAUSE_S = 1.0
"""How long a partition waits after the broker refused a hand-over, so a consumer does not spin on it."""


class FailureHandoff:
    """Publishes failed records of one consumer group to their retry topics or the dead-letter topic."""

    def __init__(
        self, publisher: KafkaPublisher, *, service: str, group: str, delays: Sequence[float]
    ) -> None:
        self._publisher = publisher
        self.service = service
        self.group = group
        self.delays = tuple(delays)

    async def hand_on(
        self,
        record: Any,
        headers: dict[str, str],
        route: Route[Any],
        attempt: int,
        exc: BaseException,
        *,
        span: Any = None,
    ) -> bool:
        """Hand a failed record to its next retry topic or to the dead-letter topic. True once the broker
        acknowledged it (the record's offset may be committed); False if the hand-over failed. The record's
        ``span`` (default: the current one) gets an event saying where it went and why."""
        failure = Failure(route.topic, self.group, attempt, exc, now_ms=int(time.time() * 1000))
        plan = plan_handoff(headers, record, failure, self.delays)
        if plan.retried:
            RETRIES.labels(self.service, route.topic, str(plan.attempt)).inc()
            log.warning(
                "handler failed; retry scheduled", extra={"error": repr(exc), "retry_topic": plan.target}
            )
        else:
            DEADLETTERS.labels(self.service, route.topic, plan.reason).inc()
            log.error(
                "handler failed; record dead-lettered", extra={"error": repr(exc), "reason": plan.reason}
            )
        out_headers = plan.headers
        out_headers.update(
            note_handoff(span, target=plan.target, reason=plan.reason, attempt=plan.attempt, exc=exc)
        )
        try:
            await self._publisher.publish(
                Envelope(topic=plan.target, key=record.key, headers=out_headers, payload=record.value or b"")
            )
        except Exception:
            # The failure could not be handed on: do not commit; the record is delivered again.
            log.exception("could not publish failed record; rewinding")
            return False
        EVENTS_CONSUMED.labels(self.service, route.topic, "retried" if plan.retried else "deadlettered").inc()
        return True

    async def hand_on_or_rewind(
        self,
        batch: Batch,
        tp: TopicPartition,
        record: Any,
        headers: dict[str, str],
        route: Route[Any],
        attempt: int,
        exc: BaseException,
        *,
        span: Any,
    ) -> bool:
        """:meth:`hand_on`, and when the broker refused it, rewind the partition to the record and wait."""
        handed_on = await self.hand_on(record, headers, route, attempt, exc, span=span)
        if not handed_on:
            batch.consumer.seek(tp, record.offset)
            await asyncio.sleep(REFUSED_PAUSE_S)  # the broker refused the hand-over: do not spin
        return handed_on
