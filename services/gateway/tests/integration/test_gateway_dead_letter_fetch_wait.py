"""The gateway's dead-letter store long-polls the broker for at most ``KAFKA_FETCH_MAX_WAIT_MS``, like the
event consumers (see ``libs/common/tests/integration/test_consumer_fetch_wait.py`` for why)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from etsygen_common.kafka import create_broker
from etsygen_common.testing.consumers import running_consumers
from etsygen_gateway.handlers import subscribe_dead_letters

pytestmark = pytest.mark.integration

WAIT_MS = 123


async def test_the_dead_letter_store_fetches_with_the_configured_wait(make_settings: Any) -> None:
    settings = make_settings()
    kafka = msgspec.structs.replace(settings.kafka, fetch_max_wait_ms=WAIT_MS)
    broker = create_broker(kafka, client_id="test-fetch-wait-dlq")

    async def store(msg: Any) -> None:
        return None

    subscribe_dead_letters(broker, kafka, store)  # type: ignore[arg-type]
    await broker.start()
    try:
        consumers = running_consumers(broker)
        assert consumers
        assert {consumer._fetch_max_wait_ms for consumer in consumers} == {WAIT_MS}
    finally:
        await broker.stop()
