"""CloudEvents 1.0 Kafka protocol binding, binary mode.

The body is the contract Struct as JSON; the attributes travel as ``ce_*`` headers next to W3C trace context.
The key is the aggregate id (job id + keyword) so that one keyword's events stay in order.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import msgspec

from etsygen_common.contracts import Event, topic_of
from etsygen_common.telemetry import inject_headers

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"

_encoder = msgspec.json.Encoder()


class Envelope(msgspec.Struct, frozen=True, kw_only=True):
    """An event ready to publish: topic (logical name), key, CloudEvents headers and JSON body."""

    topic: str
    key: bytes | None
    headers: dict[str, str]
    payload: bytes

    @property
    def event_id(self) -> str:
        """The CloudEvents ``ce_id``."""
        return self.headers["ce_id"]


def aggregate_key(job_id: str | None, keyword: str | None = None) -> bytes | None:
    """Return the partition key of a job's keyword (``job_id/keyword``), or the job's alone."""
    if job_id is None:
        return None
    return f"{job_id}/{keyword}".encode() if keyword else job_id.encode()


def wrap(
    event: Event,
    *,
    source: str,
    subject: str | None = None,
    key: bytes | None = None,
    event_id: str | None = None,
    extra_headers: Mapping[str, str] | None = None,
) -> Envelope:
    """Wrap an event in its CloudEvents envelope, taking trace context from the current span.

    Args:
        event: the contract Struct; its type decides the topic.
        source: the producing service (``ce_source``).
        subject: ``ce_subject``, normally the job id; defaults to the event's ``job_id``.
        key: the partition key; defaults to ``job_id/keyword`` when the event has them.
        event_id: ``ce_id``; a deterministic id makes re-emission idempotent downstream.
        extra_headers: more headers (replay markers and the like).
    """
    topic = topic_of(event)
    job_id = getattr(event, "job_id", None)
    keyword = getattr(event, "keyword", None)
    headers = {
        "ce_specversion": SPECVERSION,
        "ce_id": event_id or str(uuid.uuid4()),
        "ce_source": source,
        "ce_type": topic,
        "ce_time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "content-type": CONTENT_TYPE,
    }
    subject = subject or job_id
    if subject:
        headers["ce_subject"] = subject
    headers.update(inject_headers())
    if extra_headers:
        headers.update(extra_headers)
    return Envelope(
        topic=topic,
        key=key if key is not None else aggregate_key(job_id, keyword),
        headers=headers,
        payload=_encoder.encode(event),
    )


def deterministic_id(*parts: str) -> str:
    """A UUIDv5 from ``parts``: the same cause always yields the same event id."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "etsygen:" + "/".join(parts)))


class InvalidEnvelopeError(ValueError):
    """A record lacks the CloudEvents headers or its body does not decode into the topic's Struct."""


def headers_of(raw: Mapping[str, str | bytes] | Sequence[tuple[str, bytes]] | None) -> dict[str, str]:
    """Normalise Kafka headers (aiokafka's sequence of byte pairs or a mapping) into a str dict."""
    if raw is None:
        return {}
    if isinstance(raw, Mapping):
        return {k: v.decode() if isinstance(v, bytes) else str(v) for k, v in raw.items()}
    return {k: v.decode(errors="replace") if isinstance(v, bytes) else str(v) for k, v in raw}


def require_id(headers: Mapping[str, str]) -> str:
    """Return ``ce_id``.

    Raises:
        InvalidEnvelopeError: the header is missing.
    """
    ce_id = headers.get("ce_id")
    if not ce_id:
        raise InvalidEnvelopeError("record has no ce_id header (not a CloudEvent in binary mode)")
    return ce_id
