"""The consumer's working state: routes, one fetched batch in progress, and records prepared for a
transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic

from aiokafka import TopicPartition

from etsygen_common.kafka.context import E, Handler


@dataclass(slots=True)
class Route(Generic[E]):
    """A logical topic, its body type and its handler."""

    topic: str
    body: type[E]
    handler: Handler[E]


@dataclass(slots=True)
class Batch:
    """One fetched batch in progress: where to commit, whether a pause stopped it, when to stop."""

    consumer: Any
    deadline: float
    handled: set[str]
    commits: dict[TopicPartition, int] = field(default_factory=dict)
    paused: bool = False


@dataclass(slots=True)
class Ready:
    """A record decoded and prepared, waiting for its transaction."""

    record: Any
    tp: TopicPartition
    headers: dict[str, str]
    route: Route[Any]
    attempt: int
    event_id: str
    event: Any
    prepared: Any
    span: Any
    log_fields: dict[str, str]
    locks: list[str]
    """Keys the handler serialises on (its ``locks`` step), taken before it runs."""
    work_s: float
    """Seconds spent on this record so far (decoding, prepare, handler), for the handler-duration metric."""


Group = list[Ready | int]
"""Records of one partition to apply in one transaction: prepared ones, and offsets of records finished
without one (duplicates, failures already handed on)."""


def offset_after(group: Group, finished: int, done: int | None) -> int | None:
    """The offset to commit once the first ``finished`` entries of ``group`` are finished."""
    if finished == 0:
        return done
    last = group[finished - 1]
    return (last.record.offset if isinstance(last, Ready) else last) + 1
