"""The whole gateway service (one runtime, as ``etsygen run gateway`` starts it) on a real broker (Tansu):
accepted jobs reach Kafka through the outbox, pipeline events are projected exactly once, and failed
records end up stored as dead letters and can be replayed."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Iterator
from typing import Any

import msgspec
import pytest
from aiokafka import AIOKafkaConsumer
from conftest import asgi_client
from gateway_testkit import gateway_settings, generated, make_user, scored, scraped

from etsygen_common import contracts
from etsygen_common.contracts import deadletter as dlh
from etsygen_common.devstack import TansuBroker
from etsygen_common.envelope import Envelope, wrap
from etsygen_common.kafka import KafkaPublisher, create_broker
from etsygen_common.testing.plugin import wait_until
from etsygen_gateway.bootstrap import wire
from etsygen_gateway.gateway import Gateway

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def kafka_bootstrap() -> Iterator[str]:
    """A broker of this test's own: consumer groups of earlier tests' gateways cannot interfere."""
    broker = TansuBroker().start()
    yield broker.bootstrap
    broker.stop()


@pytest.fixture
async def service(
    fresh_pg_url: str, redis_url: str, redis_prefix: str, kafka_bootstrap: str, topic_prefix: str
) -> AsyncIterator[tuple[Any, Gateway]]:
    settings = gateway_settings(
        fresh_pg_url, redis_url, redis_prefix, kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix
    )
    runtime, gw = wire(settings)
    await runtime.start(serve_http=False)
    try:
        yield runtime, gw
    finally:
        await runtime.stop()


@pytest.fixture
async def publisher(kafka_bootstrap: str, topic_prefix: str) -> AsyncIterator[KafkaPublisher]:
    settings = gateway_settings(
        "postgresql://x", "redis://x", "", kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix
    )
    broker = create_broker(settings.common.kafka, client_id="gateway-test-producer")
    await broker.connect()
    yield KafkaPublisher(broker, settings.common.kafka)
    await broker.stop()


async def first_record(kafka_bootstrap: str, topic: str) -> Any:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    try:
        return await asyncio.wait_for(consumer.getone(), 30)
    finally:
        await consumer.stop()


async def test_the_service_on_kafka_accepts_projects_and_stores_dead_letters(
    service: tuple[Any, Gateway], publisher: KafkaPublisher, kafka_bootstrap: str, topic_prefix: str
) -> None:
    runtime, gw = service
    alice = await make_user(gw, "alice@example.com")
    async with asgi_client(runtime.asgi_app) as client:
        accepted = await client.post("/v1/jobs", json={"keywords": ["mug"]}, headers=alice.headers)
        assert accepted.status_code == 202
        job_id = accepted.json()["id"]

        record = await first_record(kafka_bootstrap, topic_prefix + contracts.RESEARCH_REQUESTED)
        event = msgspec.json.decode(record.value, type=contracts.ResearchRequested)
        headers = {k: v.decode() for k, v in record.headers}
        assert (event.job_id, event.owner_id, event.keywords) == (job_id, alice.id, ["mug"])
        assert headers["ce_type"] == contracts.RESEARCH_REQUESTED
        assert headers["ce_source"] == "gateway"
        assert "traceparent" in headers  # the request's trace continues in the pipeline

        outcome = wrap(generated(job_id, alice.id, "mug"), source="generator")
        for envelope in (
            wrap(scraped(job_id, alice.id, "mug"), source="scraper"),
            wrap(scored(job_id, alice.id, "mug"), source="analyzer"),
            outcome,
            outcome,  # redelivered: the inbox applies it once
        ):
            await publisher.publish(envelope)

        async def finished() -> bool:
            detail = (await client.get(f"/v1/jobs/{job_id}", headers=alice.headers)).json()
            return bool(detail["job"]["status"] == "succeeded")

        await wait_until(finished, timeout=60, interval=0.2, what="the job to finish")
        detail = (await client.get(f"/v1/jobs/{job_id}", headers=alice.headers)).json()
        assert detail["keywords"][0]["generated"] == 1
        products = (await client.get("/v1/products", headers=alice.headers)).json()["items"]
        assert len(products) == 1

    await dead_letters_are_stored_and_replayed(runtime, gw, publisher, kafka_bootstrap, topic_prefix)


async def dead_letters_are_stored_and_replayed(
    runtime: Any, gw: Gateway, publisher: KafkaPublisher, kafka_bootstrap: str, topic_prefix: str
) -> None:
    """Failed records end up stored as dead letters and can be replayed to their original topic."""
    root = await make_user(gw, "root@example.com", role="admin")
    # A record violating its contract: our own consumer dead-letters it at once, the DLQ subscriber stores it.
    poison = Envelope(
        topic=contracts.LISTINGS_SCRAPED,
        key=b"job/mug",
        headers={
            "ce_specversion": "1.0",
            "ce_id": "poison-1",
            "ce_type": contracts.LISTINGS_SCRAPED,
            "content-type": "application/json",
        },
        payload=b'{"job_id": 5}',
    )
    await publisher.publish(poison)
    # And one some other service dead-lettered, whose body is not even JSON though it claims to be.
    await publisher.publish(
        Envelope(
            topic=contracts.DEADLETTER,
            key=None,
            headers={
                "ce_id": "other-1",
                "content-type": "application/json",
                dlh.ORIGINAL_TOPIC: contracts.TRENDS_SCORED,
                dlh.ORIGINAL_PARTITION: "0",
                dlh.ORIGINAL_OFFSET: "3",
                dlh.CONSUMER_GROUP: "etsygen-generator",
                dlh.EXCEPTION_TYPE: "builtins.TimeoutError",
            },
            payload=b"\x00\xff{partial",
        )
    )

    async def both_stored() -> bool:
        async with gw.pool.acquire() as conn:
            return bool(await conn.fetchval("SELECT count(*) FROM dead_letters") == 2)

    await wait_until(both_stored, timeout=60, interval=0.2, what="two dead letters")
    async with asgi_client(runtime.asgi_app) as client:
        letters = (await client.get("/v1/admin/dead-letters", headers=root.headers)).json()["items"]
        ours = next(d for d in letters if d["consumer_group"] == "etsygen-gateway")
        assert ours["original_topic"] == contracts.LISTINGS_SCRAPED
        assert ours["event_id"] == "poison-1"
        theirs = next(d for d in letters if d["consumer_group"] == "etsygen-generator")
        body = (await client.get(f"/v1/admin/dead-letters/{theirs['id']}", headers=root.headers)).json()
        assert base64.b64decode(body["body_base64"]) == b"\x00\xff{partial"
        replay = await client.post(f"/v1/admin/dead-letters/{ours['id']}/replay", headers=root.headers)
        assert replay.status_code == 200

    consumer = AIOKafkaConsumer(
        topic_prefix + contracts.LISTINGS_SCRAPED,
        bootstrap_servers=kafka_bootstrap,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:

        async def replayed() -> bool:
            batch = await consumer.getmany(timeout_ms=200)
            return any(
                {k: v.decode() for k, v in r.headers}.get(dlh.REPLAYED_FROM) == str(ours["id"])
                for records in batch.values()
                for r in records
            )

        await wait_until(
            replayed, timeout=30, interval=0.05, what="the replayed record on its original topic"
        )
    finally:
        await consumer.stop()
