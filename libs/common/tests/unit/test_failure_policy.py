"""Failure policy of the consumers: which errors are retried, the default retry delays and topic names."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import asyncpg
import msgspec
import pytest

from etsygen_common import contracts
from etsygen_common.contracts import deadletter as dlh
from etsygen_common.envelope import Envelope, InvalidEnvelopeError
from etsygen_common.kafka import (
    FATAL_TYPES,
    RETRY_DELAYS_S,
    RETRY_DUE,
    EventConsumer,
    FatalError,
    KafkaPublisher,
    create_broker,
    is_retryable,
    retry_topic,
)
from etsygen_common.messaging_spans import consumer_span
from etsygen_common.settings import KafkaSettings


async def _noop(ctx: object, event: object) -> None:
    return None


def _consumer(**kwargs: object) -> EventConsumer:
    settings = KafkaSettings(bootstrap_servers="127.0.0.1:9", topic_prefix="dev.")
    broker = create_broker(settings, client_id="unit")  # not connected: only the wiring is inspected
    return EventConsumer(
        broker,
        None,
        settings,
        service="analyzer",
        group="etsygen-analyzer",
        publisher=KafkaPublisher(broker, settings),
        **kwargs,  # type: ignore[arg-type]
    )


def test_default_retry_delays_are_5_10_and_20_seconds() -> None:
    assert RETRY_DELAYS_S == (5.0, 10.0, 20.0)
    assert _consumer()._delays == (5.0, 10.0, 20.0)


class _Published:
    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def publish(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)


def _publishing_consumer() -> tuple[EventConsumer, _Published, Any, SimpleNamespace]:
    """A consumer whose hand-overs are kept, its route for listings, and a record of that topic."""
    published = _Published()
    consumer = _consumer()
    consumer._publisher = published  # type: ignore[assignment]
    consumer.subscribe(contracts.LISTINGS_SCRAPED, contracts.ListingsScraped, _noop)
    record = SimpleNamespace(topic="dev.x", partition=2, offset=41, timestamp=1, key=b"k", value=b"{}")
    return consumer, published, consumer._routes[0], record


async def test_default_delays_set_each_retry_due_time_and_the_fourth_failure_is_dead_lettered() -> None:
    consumer, published, route, record = _publishing_consumer()
    headers = {"ce_id": "e-1"}
    for attempt in range(4):
        before = int(time.time() * 1000)
        handed_on = await consumer._fail(record, headers, route, attempt, ConnectionError("down"))
        after = time.time() * 1000
        out = published.envelopes[-1]
        assert handed_on, "committable once the hand-over was acknowledged"
        assert out.headers[dlh.ATTEMPTS] == str(attempt + 1)
        if attempt < 3:
            assert out.topic == f"etsygen.listings.scraped.v1.etsygen-analyzer.retry.{attempt + 1}"
            delay_ms = (5_000, 10_000, 20_000)[attempt]
            assert before + delay_ms <= int(out.headers[RETRY_DUE]) <= after + delay_ms
        else:
            assert out.topic == contracts.DEADLETTER
        headers = out.headers  # the next attempt reads the record from that topic


def test_each_group_has_three_retry_topics_per_source_topic_and_shares_the_deadletter_topic() -> None:
    consumer = _consumer()
    consumer.subscribe(contracts.LISTINGS_SCRAPED, contracts.ListingsScraped, _noop)
    assert consumer.topics == [
        "etsygen.deadletter.v1",
        "etsygen.listings.scraped.v1",
        "etsygen.listings.scraped.v1.etsygen-analyzer.retry.1",
        "etsygen.listings.scraped.v1.etsygen-analyzer.retry.2",
        "etsygen.listings.scraped.v1.etsygen-analyzer.retry.3",
    ]
    assert retry_topic("a.v1", "g", 2) == "a.v1.g.retry.2"
    # Physical names carry the deployment's prefix; each maps back to its route and attempt number.
    assert {name: attempt for name, (_, attempt) in consumer._by_topic.items()} == {
        "dev.etsygen.listings.scraped.v1": 0,
        "dev.etsygen.listings.scraped.v1.etsygen-analyzer.retry.1": 1,
        "dev.etsygen.listings.scraped.v1.etsygen-analyzer.retry.2": 2,
        "dev.etsygen.listings.scraped.v1.etsygen-analyzer.retry.3": 3,
    }


def test_custom_delays_set_the_number_of_retry_topics() -> None:
    consumer = _consumer(retry_delays=(1.0, 2.0))
    consumer.subscribe(contracts.TRENDS_SCORED, contracts.TrendScored, _noop)
    assert consumer.topics[-1] == "etsygen.trends.scored.v1.etsygen-analyzer.retry.2"
    assert len(consumer.topics) == 4


def test_subscribing_after_attach_is_refused() -> None:
    consumer = _consumer()
    consumer.subscribe(contracts.TRENDS_SCORED, contracts.TrendScored, _noop)
    consumer.attach()
    with pytest.raises(RuntimeError, match="before attach"):
        consumer.subscribe(contracts.LISTINGS_SCRAPED, contracts.ListingsScraped, _noop)


def _decode_error() -> Exception:
    try:
        msgspec.json.decode(b"not json")
    except msgspec.DecodeError as exc:
        return exc
    raise AssertionError("unreachable")


def _validation_error() -> Exception:
    try:
        msgspec.json.decode(b'{"job_id": "j"}', type=contracts.ResearchRequested)
    except msgspec.ValidationError as exc:
        return exc
    raise AssertionError("unreachable")


@pytest.mark.parametrize(
    "exc",
    [
        _decode_error(),
        _validation_error(),
        InvalidEnvelopeError("no ce_id"),
        FatalError("bad data"),
        asyncpg.DataError("value out of range"),
        UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_contract_and_data_errors_are_fatal(exc: Exception) -> None:
    assert isinstance(exc, FATAL_TYPES)
    assert not is_retryable(exc)


@pytest.mark.parametrize(
    "exc",
    [ConnectionError("refused"), TimeoutError(), RuntimeError("boom"), asyncpg.DeadlockDetectedError()],
    ids=lambda e: type(e).__name__,
)
def test_everything_else_is_retried(exc: Exception) -> None:
    assert is_retryable(exc)


async def test_a_handed_on_record_is_an_event_on_its_span_and_carries_that_spans_context(
    recorded_spans: Any,
) -> None:
    consumer, published, route, record = _publishing_consumer()
    headers = {"ce_id": "e-1", "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    span = consumer_span(route.topic, record, headers, consumer.group)
    await consumer._fail(record, headers, route, 3, ConnectionError("down"), span=span)
    span.end()

    (finished,) = recorded_spans.get_finished_spans()
    (event,) = [e for e in finished.events if e.name == "etsygen.record.dead_lettered"]
    assert dict(event.attributes or {})["etsygen.failure.reason"] == "exhausted"
    assert published.envelopes[-1].headers["traceparent"] == (
        f"00-0af7651916cd43dd8448eb211c80319c-{finished.context.span_id:016x}-01"
    )
