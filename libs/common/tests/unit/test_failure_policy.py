"""Failure policy of the consumers: which errors are retried, the default retry delays and topic names, the
due times and dead-letter headers (as pure functions, then through a consumer's hand-over)."""

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
from etsygen_common.kafka import EventConsumer, FatalError, KafkaPublisher, PauseConsumption, create_broker
from etsygen_common.kafka.policy import (
    FATAL_TYPES,
    RETRY_ATTEMPT,
    RETRY_DELAYS_S,
    RETRY_DUE,
    STACK_LIMIT,
    Failure,
    database_pause,
    due_in_s,
    failure_headers,
    is_retryable,
    plan_handoff,
    retry_topic,
)
from etsygen_common.messaging_spans import consumer_span
from etsygen_common.settings import KafkaSettings


async def _noop(ctx: object, event: object) -> None:
    return None


def _consumer(**kwargs: object) -> EventConsumer:
    settings = KafkaSettings(bootstrap_servers="127.0.0.1:9", topic_prefix="dev.")
    broker = create_broker(settings, client_id="unit")  # not connected: only the wiring is inspected
    kwargs.setdefault("publisher", KafkaPublisher(broker, settings))
    return EventConsumer(
        broker,
        None,
        settings,
        service="analyzer",
        group="etsygen-analyzer",
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
    consumer = _consumer(publisher=published)
    consumer.subscribe(contracts.LISTINGS_SCRAPED, contracts.ListingsScraped, _noop)
    record = SimpleNamespace(topic="dev.x", partition=2, offset=41, timestamp=1, key=b"k", value=b"{}")
    return consumer, published, consumer._routes[0], record


async def test_default_delays_set_each_retry_due_time_and_the_fourth_failure_is_dead_lettered() -> None:
    consumer, published, route, record = _publishing_consumer()
    headers = {"ce_id": "e-1"}
    for attempt in range(4):
        before = int(time.time() * 1000)
        handed_on = await consumer._handoff.hand_on(record, headers, route, attempt, ConnectionError("down"))
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
    await consumer._handoff.hand_on(record, headers, route, 3, ConnectionError("down"), span=span)
    span.end()

    (finished,) = recorded_spans.get_finished_spans()
    (event,) = [e for e in finished.events if e.name == "etsygen.record.dead_lettered"]
    assert dict(event.attributes or {})["etsygen.failure.reason"] == "exhausted"
    assert published.envelopes[-1].headers["traceparent"] == (
        f"00-0af7651916cd43dd8448eb211c80319c-{finished.context.span_id:016x}-01"
    )


# The policy on its own: pure functions of headers, the record's position, the error and the clock.

_NOW_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
_RECORD = SimpleNamespace(partition=2, offset=41, timestamp=1_767_225_000_000)


def _failure(attempt: int, exc: BaseException, now_ms: int = _NOW_MS) -> Failure:
    return Failure(contracts.LISTINGS_SCRAPED, "etsygen-analyzer", attempt, exc, now_ms=now_ms)


def _plan(
    attempt: int,
    exc: BaseException,
    headers: dict[str, str] | None = None,
    delays: tuple[float, ...] = RETRY_DELAYS_S,
    now_ms: int = _NOW_MS,
) -> Any:
    return plan_handoff(
        headers if headers is not None else {"ce_id": "e-1"}, _RECORD, _failure(attempt, exc, now_ms), delays
    )


@pytest.mark.parametrize(("attempt", "delay_ms"), [(0, 5_000), (1, 10_000), (2, 20_000)])
def test_a_retryable_failure_goes_to_the_next_retry_topic_due_after_its_delay(
    attempt: int, delay_ms: int
) -> None:
    plan = _plan(attempt, ConnectionError("down"))
    assert plan.retried
    assert plan.reason == "retry"
    assert plan.target == f"etsygen.listings.scraped.v1.etsygen-analyzer.retry.{attempt + 1}"
    assert plan.attempt == attempt + 1
    assert plan.headers[RETRY_DUE] == str(_NOW_MS + delay_ms)
    assert plan.headers[RETRY_ATTEMPT] == str(attempt + 1)
    assert plan.headers[dlh.ATTEMPTS] == str(attempt + 1)


def test_the_failure_after_the_last_retry_topic_is_dead_lettered_as_exhausted() -> None:
    plan = _plan(3, ConnectionError("down"))
    assert (plan.target, plan.reason, plan.attempt, plan.retried) == (
        contracts.DEADLETTER,
        "exhausted",
        4,
        False,
    )
    assert plan.headers[dlh.ATTEMPTS] == "4"


def test_a_fatal_failure_is_dead_lettered_on_its_first_attempt_without_a_due_time() -> None:
    plan = _plan(0, FatalError("bad data"))
    assert (plan.target, plan.reason, plan.attempt) == (contracts.DEADLETTER, "fatal", 1)
    assert RETRY_DUE not in plan.headers
    assert RETRY_ATTEMPT not in plan.headers


def test_custom_delays_bound_the_retries_and_set_the_due_times() -> None:
    first = _plan(0, RuntimeError("boom"), delays=(1.5,))
    assert first.target.endswith(".retry.1")
    assert first.headers[RETRY_DUE] == str(_NOW_MS + 1_500)
    assert _plan(1, RuntimeError("boom"), delays=(1.5,)).reason == "exhausted"
    assert _plan(0, RuntimeError("boom"), delays=()).reason == "exhausted"


def test_the_first_failure_records_where_the_record_was_read_and_what_failed() -> None:
    headers = failure_headers({"ce_id": "e-1"}, _RECORD, _failure(0, FatalError("bad data")))
    assert headers[dlh.ORIGINAL_TOPIC] == contracts.LISTINGS_SCRAPED
    assert headers[dlh.ORIGINAL_PARTITION] == "2"
    assert headers[dlh.ORIGINAL_OFFSET] == "41"
    assert headers[dlh.ORIGINAL_TIMESTAMP] == "1767225000000"
    assert headers[dlh.CONSUMER_GROUP] == "etsygen-analyzer"
    # The public path of the class, whichever module of the package defines it.
    assert headers[dlh.EXCEPTION_TYPE] == "etsygen_common.kafka.FatalError"
    assert headers[dlh.EXCEPTION_MESSAGE] == "bad data"
    assert headers[dlh.FIRST_FAILURE] == headers[dlh.LAST_FAILURE] == "2026-01-01T00:00:00.000Z"
    assert "ce_id" not in headers, "only the failure's headers; plan_handoff merges them into the record's"


def test_a_later_failure_keeps_the_original_position_and_first_failure_time() -> None:
    first = _plan(0, ConnectionError("down"))
    # Read again from the retry topic (another partition and offset), it fails a second time 7 s later.
    later_record = SimpleNamespace(partition=0, offset=3, timestamp=1_767_225_605_000)
    second = failure_headers(first.headers, later_record, _failure(1, TimeoutError("slow"), _NOW_MS + 7_000))
    assert second[dlh.ORIGINAL_PARTITION] == "2"
    assert second[dlh.ORIGINAL_OFFSET] == "41"
    assert second[dlh.ORIGINAL_TIMESTAMP] == "1767225000000"
    assert second[dlh.FIRST_FAILURE] == "2026-01-01T00:00:00.000Z"
    assert second[dlh.LAST_FAILURE] == "2026-01-01T00:00:07.000Z"
    assert second[dlh.EXCEPTION_TYPE] == "builtins.TimeoutError"
    assert second[dlh.ATTEMPTS] == "2"


def test_the_record_keeps_its_own_headers_next_to_the_failures() -> None:
    plan = _plan(0, ConnectionError("down"), headers={"ce_id": "e-1", "ce_type": "listings.scraped"})
    assert plan.headers["ce_id"] == "e-1"
    assert plan.headers["ce_type"] == "listings.scraped"
    assert set(dlh.ALL_HEADERS) - {dlh.REPLAYED_FROM, dlh.REPLAY_COUNT} <= set(plan.headers)


def _raise_long_message() -> None:
    raise RuntimeError("x" * 5_000)


def _long_failure() -> Exception:
    """A raised error (with its traceback) whose message is longer than the headers keep."""
    try:
        _raise_long_message()
    except RuntimeError as exc:
        return exc
    raise AssertionError("unreachable")


def test_long_messages_and_stacks_are_cut_to_their_limits() -> None:
    plan = _plan(0, _long_failure())
    assert plan.headers[dlh.EXCEPTION_MESSAGE] == "x" * 1000
    stack = plan.headers[dlh.EXCEPTION_STACK]
    assert len(stack) == STACK_LIMIT
    assert stack.endswith("x" * 3_000 + "\n"), "the end of the stack is kept: the error itself"


def test_a_retry_record_is_due_once_its_due_time_has_passed() -> None:
    headers = {RETRY_DUE: str(_NOW_MS + 5_000)}
    assert due_in_s(headers, _NOW_MS / 1000) == pytest.approx(5.0)
    assert due_in_s(headers, _NOW_MS / 1000 + 5.0) == pytest.approx(0.0)
    assert due_in_s(headers, _NOW_MS / 1000 + 6.0) < 0
    # No due time (or an empty one) is due at once.
    assert due_in_s({}, _NOW_MS / 1000) < 0
    assert due_in_s({RETRY_DUE: ""}, _NOW_MS / 1000) < 0


def test_a_planned_retry_is_due_exactly_its_delay_after_the_failure() -> None:
    plan = _plan(1, ConnectionError("down"))
    assert due_in_s(plan.headers, _NOW_MS / 1000) == pytest.approx(RETRY_DELAYS_S[1])


def test_an_unreachable_database_pauses_for_the_database_and_fails_no_record() -> None:
    pause = database_pause(ConnectionRefusedError("5432"))
    assert pause.database
    assert pause.cause == "database_unavailable"
    assert pause.seconds == 2.0
    assert "database unavailable" in pause.reason
    assert PauseConsumption(30.0, "breaker open").cause == "dependency_unavailable"
