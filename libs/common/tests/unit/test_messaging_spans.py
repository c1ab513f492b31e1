"""Kafka spans (names, kinds, parents, messaging attributes), the sampler and the resource of every span."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.sampling import Decision
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags

from etsygen_common.envelope import Envelope
from etsygen_common.messaging_spans import SendSpans, consumer_span, note_handoff
from etsygen_common.settings import TelemetrySettings
from etsygen_common.telemetry import job_sampler, tracing_enabled, tracing_resource

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_SPAN = "b7ad6b7169203331"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_SPAN}-01"
TOPIC = "etsygen.research.requested.v1"


def _record(**overrides: Any) -> SimpleNamespace:
    values: dict[str, Any] = {"topic": f"dev.{TOPIC}", "partition": 2, "offset": 41, "key": b"job-1/mug"}
    values.update(overrides)
    return SimpleNamespace(**values)


def _ids(traceparent: str) -> tuple[str, str]:
    _, trace_id, span_id, _ = traceparent.split("-")
    return trace_id, span_id


def test_a_consumed_record_is_a_process_span_under_its_traceparent_with_the_messaging_attributes(
    recorded_spans: Any,
) -> None:
    headers = {"ce_id": "event-7", "traceparent": TRACEPARENT}
    consumer_span(TOPIC, _record(), headers, "etsygen-scraper").end()

    (span,) = recorded_spans.get_finished_spans()
    assert span.name == f"process {TOPIC}"
    assert span.kind is SpanKind.CONSUMER
    assert f"{span.context.trace_id:032x}" == TRACE_ID
    assert span.parent is not None
    assert f"{span.parent.span_id:016x}" == PARENT_SPAN
    assert dict(span.attributes or {}) == {
        "messaging.system": "kafka",
        "messaging.destination.name": f"dev.{TOPIC}",
        "messaging.operation.type": "process",
        "messaging.operation.name": "process",
        "messaging.message.id": "event-7",
        "messaging.kafka.message.key": "job-1/mug",
        "messaging.destination.partition.id": "2",
        "messaging.kafka.offset": 41,
        "messaging.consumer.group.name": "etsygen-scraper",
    }


def test_a_relayed_row_is_a_send_span_under_the_rows_context_and_goes_out_with_the_send_spans_context(
    recorded_spans: Any,
) -> None:
    rows = [
        Envelope(
            topic=TOPIC, key=b"job-1", headers={"ce_id": "e-1", "traceparent": TRACEPARENT}, payload=b"{}"
        ),
        Envelope(topic=TOPIC, key=None, headers={"ce_id": "e-2"}, payload=b"{}"),
    ]
    sends = SendSpans(rows, lambda topic: f"dev.{topic}")
    sends.acknowledged([SimpleNamespace(partition=1, offset=9), SimpleNamespace(partition=0, offset=3)])

    first, second = recorded_spans.get_finished_spans()
    assert (first.name, first.kind) == (f"send {TOPIC}", SpanKind.PRODUCER)
    assert first.parent is not None
    assert (f"{first.context.trace_id:032x}", f"{first.parent.span_id:016x}") == (TRACE_ID, PARENT_SPAN)
    assert dict(first.attributes or {}) == {
        "messaging.system": "kafka",
        "messaging.destination.name": f"dev.{TOPIC}",
        "messaging.operation.type": "send",
        "messaging.operation.name": "send",
        "messaging.message.id": "e-1",
        "messaging.kafka.message.key": "job-1",
        "messaging.destination.partition.id": "1",
        "messaging.kafka.offset": 9,
    }
    # The record carries the send span's context, so its consumer becomes the send span's child.
    sent = dict(sends.headers[0])
    assert _ids(sent["traceparent"].decode()) == (TRACE_ID, f"{first.context.span_id:016x}")
    assert sent["ce_id"] == b"e-1"
    # A row written outside any span starts a trace of its own.
    assert second.parent is None
    assert dict(second.attributes or {})["messaging.kafka.offset"] == 3


def test_a_batch_the_broker_refused_ends_its_send_spans_as_errors(recorded_spans: Any) -> None:
    sends = SendSpans([Envelope(topic=TOPIC, key=None, headers={}, payload=b"")], lambda topic: topic)
    sends.failed(ConnectionError("broker down"))
    (span,) = recorded_spans.get_finished_spans()
    assert not span.status.is_ok
    assert [event.name for event in span.events] == ["exception"]


def test_a_record_handed_to_a_retry_or_the_dead_letters_is_an_event_with_the_reason(
    recorded_spans: Any,
) -> None:
    span = consumer_span(TOPIC, _record(), {"ce_id": "e-1", "traceparent": TRACEPARENT}, "g")
    carried = note_handoff(span, target=f"{TOPIC}.g.retry.1", reason="retry", attempt=1, exc=TimeoutError())
    note_handoff(span, target="etsygen.deadletter.v1", reason="fatal", attempt=2, exc=ValueError("bad"))
    span.end()

    (finished,) = recorded_spans.get_finished_spans()
    events = {event.name: dict(event.attributes or {}) for event in finished.events}
    assert events["etsygen.record.retry"] == {
        "etsygen.failure.reason": "retry",
        "etsygen.failure.attempt": 1,
        "messaging.destination.name": f"{TOPIC}.g.retry.1",
        "exception.type": "builtins.TimeoutError",
    }
    assert events["etsygen.record.dead_lettered"]["etsygen.failure.reason"] == "fatal"
    assert not finished.status.is_ok
    # The handed-on record continues the trace under the failed attempt's span.
    assert _ids(carried["traceparent"]) == (TRACE_ID, f"{finished.context.span_id:016x}")


def test_with_tracing_off_records_go_out_with_their_own_headers_and_spans_record_nothing() -> None:
    assert not tracing_enabled()
    row = Envelope(topic=TOPIC, key=None, headers={"ce_id": "e-1", "traceparent": TRACEPARENT}, payload=b"")
    sends = SendSpans([row], lambda topic: topic)
    assert sends.headers == [[("ce_id", b"e-1"), ("traceparent", TRACEPARENT.encode())]]
    span = consumer_span(TOPIC, _record(), {"traceparent": TRACEPARENT}, "g")
    assert not span.is_recording()
    assert f"{span.get_span_context().trace_id:032x}" == TRACE_ID  # logs still carry the job's trace id


def _parent(sampled: bool) -> Any:
    flags = TraceFlags(TraceFlags.SAMPLED if sampled else TraceFlags.DEFAULT)
    context = SpanContext(int(TRACE_ID, 16), int(PARENT_SPAN, 16), is_remote=True, trace_flags=flags)
    return trace.set_span_in_context(NonRecordingSpan(context))


def test_the_sampler_follows_the_parent_so_a_jobs_trace_is_kept_or_dropped_whole() -> None:
    never = job_sampler(0.0)
    trace_id = int(TRACE_ID, 16)
    assert never.should_sample(None, trace_id, "POST /v1/jobs", SpanKind.SERVER).decision is Decision.DROP
    kept = never.should_sample(_parent(True), trace_id, f"process {TOPIC}", SpanKind.CONSUMER)
    assert kept.decision is Decision.RECORD_AND_SAMPLE
    always = job_sampler(1.0)
    dropped = always.should_sample(_parent(False), trace_id, f"process {TOPIC}", SpanKind.CONSUMER)
    assert dropped.decision is Decision.DROP
    assert always.should_sample(None, trace_id, "POST /v1/jobs", SpanKind.SERVER).decision.is_sampled()
    # A query or HTTP call outside any request or job is no trace of its own.
    assert always.should_sample(None, trace_id, "SELECT", SpanKind.CLIENT).decision is Decision.DROP


def test_every_span_names_its_service_version_and_deployment_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=staging,k8s.namespace.name=etsy")
    from_env = tracing_resource("scraper", TelemetrySettings()).attributes
    assert from_env["service.name"] == "etsygen-scraper"
    assert from_env["service.version"] == "0.1.0"
    assert from_env["deployment.environment"] == from_env["deployment.environment.name"] == "staging"
    assert from_env["k8s.namespace.name"] == "etsy"
    setting = tracing_resource("scraper", TelemetrySettings(deployment_environment="prod")).attributes
    assert setting["deployment.environment"] == "prod"
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES")
    assert (
        tracing_resource("gateway", TelemetrySettings()).attributes["deployment.environment"] == "development"
    )
