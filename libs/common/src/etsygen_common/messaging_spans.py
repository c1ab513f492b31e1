"""Kafka spans as the OpenTelemetry messaging semantic conventions name them: ``send {topic}`` (PRODUCER) per
published record and ``process {topic}`` (CONSUMER) per consumed record, ``{topic}`` being the logical topic
(the physical name, with its environment prefix or retry suffix, is ``messaging.destination.name``).

A record's ``traceparent`` names the span that caused it. The producer span is that span's child, and the
record goes out with the producer span's own context, so each consumer's span is the child of the send that
delivered it: HTTP request → send → process → send → process ... is one tree. With tracing off none of
this runs beyond a non-recording consumer span (see :mod:`etsygen_common.telemetry`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from etsygen_common.telemetry import extract_context, inject_headers, tracer, tracing_enabled

_tracer = tracer("etsygen.kafka")
_PROCESS = "process"
_SEND = "send"


def _common(
    destination: str, operation: str, headers: Mapping[str, str], key: bytes | None
) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "messaging.system": "kafka",
        "messaging.destination.name": destination,
        "messaging.operation.type": operation,
        "messaging.operation.name": operation,
    }
    event_id = headers.get("ce_id")
    if event_id:
        attributes["messaging.message.id"] = event_id
    if key:
        attributes["messaging.kafka.message.key"] = key.decode(errors="replace")
    return attributes


def consumer_span(topic: str, record: Any, headers: Mapping[str, str], group: str) -> trace.Span:
    """Start ``process {topic}`` for a consumed aiokafka ``record``, a child of its ``traceparent``.

    Args:
        topic: the logical topic of the record's route.
        record: the ``ConsumerRecord`` (its physical topic, partition, offset and key).
        headers: the record's headers, decoded.
        group: the consumer group.
    """
    parent = extract_context(headers)
    name = f"{_PROCESS} {topic}"
    if not tracing_enabled():
        return _tracer.start_span(name, context=parent, kind=SpanKind.CONSUMER)
    attributes = _common(record.topic, _PROCESS, headers, record.key)
    attributes["messaging.destination.partition.id"] = str(record.partition)
    attributes["messaging.kafka.offset"] = record.offset
    attributes["messaging.consumer.group.name"] = group
    return _tracer.start_span(name, context=parent, kind=SpanKind.CONSUMER, attributes=attributes)


class SendSpans:
    """``send {topic}`` spans of one published batch, and the headers each record goes out with."""

    def __init__(self, records: Sequence[Any], physical: Callable[[str], str]) -> None:
        """Start a producer span per record of ``records`` (envelopes: ``topic``, ``key``, ``headers``), each
        a child of the context in the record's headers; ``physical`` maps a logical topic to its name.

        While tracing is off no span is started and the records go out with their own headers, so the
        publish path costs what it did without tracing.
        """
        self._spans: list[trace.Span] = []
        if not tracing_enabled():
            self.headers = [[(k, v.encode()) for k, v in r.headers.items()] for r in records]
            return
        self.headers = []
        for record in records:
            span = _tracer.start_span(
                f"{_SEND} {record.topic}",
                context=extract_context(record.headers),
                kind=SpanKind.PRODUCER,
                attributes=_common(physical(record.topic), _SEND, record.headers, record.key),
            )
            with trace.use_span(span, end_on_exit=False):
                own = inject_headers()
            self._spans.append(span)
            self.headers.append([(k, v.encode()) for k, v in {**record.headers, **own}.items()])

    def acknowledged(self, acks: Sequence[Any]) -> None:
        """End the spans with where the broker stored each record (aiokafka ``RecordMetadata``)."""
        for span, ack in zip(self._spans, acks if self._spans else (), strict=True):
            span.set_attribute("messaging.destination.partition.id", str(ack.partition))
            span.set_attribute("messaging.kafka.offset", ack.offset)
            span.end()

    def failed(self, exc: BaseException) -> None:
        """End the spans as failed: the batch was not acknowledged (the rows stay pending)."""
        for span in self._spans:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, type(exc).__qualname__))
            span.end()


def note_handoff(span: Any, *, target: str, reason: str, attempt: int, exc: BaseException) -> dict[str, str]:
    """Note on the failing record's ``process`` span that it goes to ``target`` (a retry topic or the
    dead-letter topic) and why; return the trace headers the handed-on record carries (that span's), so
    the retry's spans continue the job's trace under the failure that caused them.

    Args:
        span: the record's consumer span (None: the current span).
        target: the logical topic the record is sent to.
        reason: ``retry``, ``exhausted`` (retries used up) or ``fatal`` (retrying cannot help).
        attempt: the attempt that failed, 1-based.
        exc: the failure.
    """
    span = span if span is not None else trace.get_current_span()
    if span.is_recording():
        span.record_exception(exc)
        span.set_status(Status(StatusCode.ERROR, type(exc).__qualname__))
        span.add_event(
            "etsygen.record.retry" if reason == "retry" else "etsygen.record.dead_lettered",
            {
                "etsygen.failure.reason": reason,
                "etsygen.failure.attempt": attempt,
                "messaging.destination.name": target,
                "exception.type": f"{type(exc).__module__}.{type(exc).__qualname__}",
            },
        )
    with trace.use_span(span, end_on_exit=False):
        return inject_headers()
