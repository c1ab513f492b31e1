"""What a handler receives besides its event: the transaction's connection, an outbox, commit callbacks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from etsygen_common import contracts
from etsygen_common.envelope import Envelope, wrap

E = TypeVar("E", bound=contracts.Event)


@dataclass(slots=True)
class HandlerContext:
    """What a handler gets besides the event: its transaction's connection and an outbox to emit into."""

    conn: Any
    headers: dict[str, str]
    topic: str
    source: str
    emitted: list[Envelope] = field(default_factory=list)
    prepared: Any = None
    """What the handler's ``prepare`` step returned (external I/O done before the transaction opened)."""
    committed: list[Callable[[], None]] = field(default_factory=list)
    """Callbacks run once the handler's transaction has committed (see :meth:`on_commit`)."""
    shared: dict[Any, Any] = field(default_factory=dict)
    """State shared by the records applied in the same transaction (several records of a partition can
    share one): e.g. a note that a transaction-scoped lock is already held."""

    def emit(self, event: contracts.Event, *, event_id: str | None = None, key: bytes | None = None) -> None:
        """Queue an event for the outbox; it is written in the handler's transaction."""
        self.emitted.append(wrap(event, source=self.source, event_id=event_id, key=key))

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` after the transaction commits (never if it rolls back): e.g. to let an
        in-process cache learn what the transaction stored."""
        self.committed.append(callback)

    @property
    def event_id(self) -> str:
        """``ce_id`` of the record being handled."""
        return self.headers["ce_id"]


Handler = Callable[[HandlerContext, E], Awaitable[None]]


async def take_locks(conn: Any, keys: list[str]) -> None:
    """Take the transaction-scoped advisory locks of ``keys``, in one order for every transaction (sorted),
    so transactions that need several never wait on each other in a cycle."""
    if keys:
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(key, 0)) "
            "FROM (SELECT DISTINCT unnest($1::text[]) AS key ORDER BY 1) AS keys",
            keys,
        )
