"""The failure policy of the consumers, as pure functions: which failures are retried, the retry topics and
when their records fall due, and the headers a failed record carries to its next topic.

Nothing here talks to a broker or a database; :mod:`etsygen_common.kafka.handoff` publishes what
:func:`plan_handoff` decides, and the consumer pauses a retry partition for :func:`due_in_s`.
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol

import asyncpg
import msgspec

from etsygen_common import contracts
from etsygen_common.contracts import deadletter as dlh
from etsygen_common.envelope import InvalidEnvelopeError
from etsygen_common.kafka.errors import FatalError, PauseConsumption

RETRY_DELAYS_S: tuple[float, ...] = (5.0, 10.0, 20.0)
"""Delay of each retry topic: ``<topic>.<group>.retry.1`` waits 5 s, ``.2`` 10 s, ``.3`` 20 s."""
RETRY_DUE = "x-retry-due-ms"
RETRY_ATTEMPT = "x-retry-attempt"
STACK_LIMIT = 4000
DATABASE_PAUSE_S = 2.0
"""While the database cannot be reached, the consumer rewinds and pauses for this long, then tries again: an
outage says nothing about the records, so none of them is retried or dead-lettered for it."""

FATAL_TYPES: tuple[type[BaseException], ...] = (
    FatalError,
    asyncpg.DataError,  # a value the schema rejects is rejected again on every retry
    msgspec.ValidationError,
    msgspec.DecodeError,
    InvalidEnvelopeError,
    UnicodeDecodeError,
)

HandoffReason = Literal["retry", "exhausted", "fatal"]


class FailedRecord(Protocol):
    """Where a failed record was read (an aiokafka ``ConsumerRecord`` is one)."""

    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def timestamp(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Failure:
    """One failure of a record: in which consumer group, on which logical topic, which attempt, what, when."""

    topic: str
    group: str
    attempt: int
    """How many times the record failed before (0: its first failure, read from ``topic`` itself)."""
    exc: BaseException
    now_ms: int
    """When it failed, in epoch milliseconds."""


@dataclass(frozen=True, slots=True)
class Handoff:
    """Where a failed record goes next, why, and the headers it carries there."""

    target: str
    """Logical topic: the next retry topic, or the dead-letter topic."""
    reason: HandoffReason
    attempt: int
    """Which failure of the record this was (1-based)."""
    headers: dict[str, str]

    @property
    def retried(self) -> bool:
        """True when the record goes to a retry topic (False: dead-lettered)."""
        return self.reason == "retry"


def retry_topic(topic: str, group: str, attempt: int) -> str:
    """Name of the retry topic for ``attempt`` (1-based) of ``group`` consuming ``topic``."""
    return f"{topic}.{group}.retry.{attempt}"


def is_retryable(exc: BaseException) -> bool:
    """Classify a handler failure: contract and data errors are fatal, everything else is retried."""
    return not isinstance(exc, FATAL_TYPES)


def database_pause(exc: BaseException) -> PauseConsumption:
    """The pause for an unreachable database (the consumer's own finding, not the record's fault)."""
    return PauseConsumption(DATABASE_PAUSE_S, f"database unavailable: {exc!r}", database=True)


def due_in_s(headers: Mapping[str, str], now_s: float) -> float:
    """Seconds until a record read from a retry topic is due (zero or less: due now)."""
    due_ms = int(headers.get(RETRY_DUE, "0") or 0)
    return due_ms / 1000 - now_s


def failure_headers(headers: Mapping[str, str], record: FailedRecord, failure: Failure) -> dict[str, str]:
    """The dead-letter headers of ``failure`` of a record read with ``headers``.

    The original topic, partition, offset, timestamp and first-failure time are those of the first failure:
    a record read from a retry topic already carries them.
    """
    topic, exc, attempt, now_ms = failure.topic, failure.exc, failure.attempt, failure.now_ms
    return {
        dlh.ORIGINAL_TOPIC: headers.get(dlh.ORIGINAL_TOPIC, topic),
        dlh.ORIGINAL_PARTITION: headers.get(dlh.ORIGINAL_PARTITION, str(record.partition)),
        dlh.ORIGINAL_OFFSET: headers.get(dlh.ORIGINAL_OFFSET, str(record.offset)),
        dlh.ORIGINAL_TIMESTAMP: headers.get(dlh.ORIGINAL_TIMESTAMP, str(record.timestamp)),
        dlh.CONSUMER_GROUP: failure.group,
        dlh.EXCEPTION_TYPE: f"{type(exc).__module__}.{type(exc).__qualname__}",
        dlh.EXCEPTION_MESSAGE: str(exc)[:1000],
        dlh.EXCEPTION_STACK: "".join(traceback.format_exception(exc))[-STACK_LIMIT:],
        dlh.ATTEMPTS: str(attempt + 1),
        dlh.FIRST_FAILURE: headers.get(dlh.FIRST_FAILURE) or iso_ms(now_ms),
        dlh.LAST_FAILURE: iso_ms(now_ms),
    }


def plan_handoff(
    headers: Mapping[str, str], record: FailedRecord, failure: Failure, delays: Sequence[float]
) -> Handoff:
    """Decide where ``failure`` of a record read with ``headers`` sends it.

    A retryable failure goes to retry topic ``attempt + 1`` while there is one (one per entry of
    ``delays``), due ``delays[attempt]`` seconds after the failure; a fatal failure, or one with no retry
    topic left, goes to the dead-letter topic. The record keeps its headers, with the failure's added.
    """
    out = {**headers, **failure_headers(headers, record, failure)}
    attempt = failure.attempt
    retryable = is_retryable(failure.exc)
    if retryable and attempt < len(delays):
        out[RETRY_DUE] = str(failure.now_ms + int(delays[attempt] * 1000))
        out[RETRY_ATTEMPT] = str(attempt + 1)
        return Handoff(retry_topic(failure.topic, failure.group, attempt + 1), "retry", attempt + 1, out)
    return Handoff(contracts.DEADLETTER, "exhausted" if retryable else "fatal", attempt + 1, out)


def iso_ms(ms: int) -> str:
    """UTC ISO-8601 time of epoch milliseconds ``ms``, to the millisecond, with a ``Z``."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
