"""Consumers long-poll the broker for at most ``KAFKA_FETCH_MAX_WAIT_MS``.

Kafka answers a waiting fetch as soon as records arrive, but Tansu answers only when the wait runs out: with
aiokafka's 500 ms default, records published to an idle consumer sat up to half a second before delivery (the
analyzer benchmark showed a 0.4 s stall per run, and its first batch 0.2-0.45 s after publishing began).
The setting must reach every Kafka consumer the platform runs: the event consumers (here) and the gateway's
dead-letter store (``test_gateway_dead_letter_fetch_wait.py``). Delivery times themselves are not asserted:
tests check behaviour, not timings.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from etsygen_common import contracts
from etsygen_common.testing.consumers import ConsumerGroup, consumer_schema, running_consumers

pytestmark = [pytest.mark.integration]

WAIT_MS = 123


async def test_event_consumers_fetch_with_the_configured_wait(make_settings: Any, schema: str) -> None:
    settings = make_settings()
    settings = msgspec.structs.replace(
        settings, kafka=msgspec.structs.replace(settings.kafka, fetch_max_wait_ms=WAIT_MS)
    )

    async def handler(ctx: Any, event: contracts.ResearchRequested) -> None:
        return None

    async with consumer_schema(settings, schema) as pool:
        group = ConsumerGroup(settings=settings, pool=pool)
        try:
            await group.start(
                contracts.RESEARCH_REQUESTED,
                contracts.ResearchRequested,
                handler,
                service="test-fetch-wait",
                retry_delays=(1.0,),
            )
            consumers = running_consumers(group.broker)
            assert consumers
            assert {consumer._fetch_max_wait_ms for consumer in consumers} == {WAIT_MS}
        finally:
            await group.stop()
