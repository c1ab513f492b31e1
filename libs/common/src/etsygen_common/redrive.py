"""Re-drives that do not redo paid work.

The gateway re-drives a keyword (re-publishes its research request with ``attempt`` one higher) when the
keyword stalls or the broker lost records. Every stage then sees the keyword again with a new event id, so the
inbox does not stop it. A stage whose handler is wrapped in :class:`ReplayOnRedrive` remembers what it
emitted for each ``(job_id, keyword)`` in its own schema (``stage_results``, in the handler's transaction); on
a re-drive (``attempt > 0``) it answers by re-emitting that output (new, deterministic event ids, the current
``attempt``) without calling the wrapped handler or its ``prepare`` step: no Etsy request, no AI call. Only a
stage with no stored output does real work. First deliveries (``attempt == 0``) cost one insert, nothing more.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final, Generic, TypeVar

import msgspec

from etsygen_common import contracts
from etsygen_common.envelope import Envelope, deterministic_id
from etsygen_common.logging import get_logger
from etsygen_common.metrics import REDRIVE_REPLAYS

log = get_logger(__name__)
E = TypeVar("E", bound=contracts.Event)

_BODIES: Final[dict[str, type[contracts.Event]]] = {
    name: topic.body for name, topic in contracts.TOPICS.items() if topic.body is not None
}


class _Stored(msgspec.Struct, frozen=True):
    type: str
    body: msgspec.Raw


_encode = msgspec.json.Encoder().encode
_decode_stored = msgspec.json.Decoder(list[_Stored]).decode


def encode_results(emitted: Iterable[Envelope]) -> bytes:
    """The stored form of a handler's output: each event's topic and JSON body, in emission order."""
    return _encode([_Stored(type=e.topic, body=msgspec.Raw(e.payload)) for e in emitted])


def decode_results(data: bytes) -> list[contracts.Event]:
    """Events of a stored output (a topic no longer registered is a contract error)."""
    return [msgspec.json.decode(s.body, type=_BODIES[s.type]) for s in _decode_stored(data)]


def with_attempt(event: contracts.Event, attempt: int) -> contracts.Event:
    """``event`` marked with the re-drive's ``attempt`` (events without that field unchanged)."""
    if "attempt" in type(event).__struct_fields__:
        return msgspec.structs.replace(event, attempt=attempt)
    return event


async def remember(
    conn: Any, group: str, job_id: str, keyword: str, attempt: int, emitted: list[Envelope]
) -> None:
    """Store what a stage emitted for ``(job_id, keyword)`` (in the handler's transaction)."""
    await conn.execute(
        """INSERT INTO stage_results (consumer_group, job_id, keyword, attempt, events)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (consumer_group, job_id, keyword)
           DO UPDATE SET attempt = EXCLUDED.attempt, events = EXCLUDED.events, stored_at = now()""",
        group,
        job_id,
        keyword,
        attempt,
        encode_results(emitted),
    )


async def recall(pool: Any, group: str, job_id: str, keyword: str) -> list[contracts.Event] | None:
    """What the stage emitted for ``(job_id, keyword)``, or None when it never finished it."""
    async with pool.acquire() as conn:
        data = await conn.fetchval(
            "SELECT events FROM stage_results WHERE consumer_group = $1 AND job_id = $2 AND keyword = $3",
            group,
            job_id,
            keyword,
        )
    return None if data is None else decode_results(data)


class _Replay(msgspec.Struct, frozen=True):
    events: list[contracts.Event]


class ReplayOnRedrive(Generic[E]):
    """A stage handler that answers a re-drive from its stored output (see the module docstring).

    The wrapped handler's ``prepare`` and ``locks`` steps keep working: ``prepare`` runs only when the stage
    does real work, and its result is what the wrapped handler sees as ``ctx.prepared``.
    """

    def __init__(self, inner: Any, pool: Any, *, group: str, service: str) -> None:
        self._inner = inner
        self._inner_prepare = getattr(inner, "prepare", None)
        self._pool = pool
        self._group = group
        self._service = service
        inner_locks = getattr(inner, "locks", None)
        if inner_locks is not None:
            self.locks = inner_locks

    async def prepare(self, event: E) -> Any:
        """On a re-drive, the stored output if there is one; otherwise the wrapped ``prepare`` step."""
        attempt = getattr(event, "attempt", 0)
        if attempt > 0:
            stored = await recall(self._pool, self._group, event.job_id, event.keyword)  # type: ignore[attr-defined]
            if stored is not None:
                return _Replay(events=stored)
        if self._inner_prepare is not None:
            return await self._inner_prepare(event)
        return None

    async def __call__(self, ctx: Any, event: E) -> None:
        job_id: str = event.job_id  # type: ignore[attr-defined]
        keyword: str = event.keyword  # type: ignore[attr-defined]
        attempt: int = getattr(event, "attempt", 0)
        if isinstance(ctx.prepared, _Replay):
            for position, stored in enumerate(ctx.prepared.events):
                ctx.emit(
                    with_attempt(stored, attempt),
                    event_id=deterministic_id("redrive-replay", ctx.event_id, str(position)),
                )
            REDRIVE_REPLAYS.labels(self._service, ctx.topic).inc()
            log.info(
                "re-drive answered from the stored output; the stage's work was not repeated",
                extra={"keyword": keyword, "attempt": attempt, "events": len(ctx.prepared.events)},
            )
            return
        await self._inner(ctx, event)
        await remember(ctx.conn, self._group, job_id, keyword, attempt, ctx.emitted)
