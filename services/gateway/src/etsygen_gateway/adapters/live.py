"""Live job updates: projections ``NOTIFY`` on commit, every gateway process ``LISTEN``s and fans out.

Postgres notifications are transactional: a projection's ``pg_notify`` is delivered only if, and only when,
its transaction commits, so a stream never announces data a reader cannot see yet. Each process holds one
dedicated listening connection (reconnected with backoff when it drops) and hands notifications to
in-process subscribers through bounded queues. A subscriber that falls behind loses notifications, not
data: every notification only says "look again", and streams re-read the job's timeline from Postgres.
The same notification invalidates this process's view of the owner's caches after the commit.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, Final

import asyncpg
import msgspec

from etsygen_common.db import check_schema_name
from etsygen_common.logging import get_logger

log = get_logger(__name__)

QUEUE_SIZE: Final = 64


class LiveNotice(msgspec.Struct, frozen=True, kw_only=True):
    """What a projection announces: whose data changed, which job, which read models."""

    owner_id: str
    job_id: str | None = None
    kind: str = ""
    namespaces: list[str] = msgspec.field(default_factory=list)


def channel_of(schema: str) -> str:
    """The NOTIFY channel of a gateway schema (schemas isolate deployments and tests)."""
    return f"{check_schema_name(schema)}_live"


async def notify(conn: Any, notice: LiveNotice) -> None:
    """Announce a change inside the caller's transaction (delivered at commit)."""
    await conn.execute(
        "SELECT pg_notify(current_schema() || '_live', $1)", msgspec.json.encode(notice).decode()
    )


OnNotice = Callable[[LiveNotice], Awaitable[None]]


class LiveHub:
    """One LISTEN connection per process, fanned out to job subscribers."""

    def __init__(self, dsn: str, schema: str, on_notice: OnNotice | None = None) -> None:
        self._dsn = dsn
        self._channel = channel_of(schema)
        self._on_notice = on_notice
        self._subscribers: dict[str, set[asyncio.Queue[LiveNotice]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._stopping = False
        self._side_tasks: set[asyncio.Future[None]] = set()

    @property
    def connected(self) -> bool:
        """True while the listening connection is up."""
        return self._connected.is_set()

    async def start(self, timeout: float = 5.0) -> None:
        """Start listening (returns once connected, or after ``timeout`` while retrying in the background)."""
        self._task = asyncio.create_task(self._run(), name="gateway-live-listen")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), timeout)

    async def stop(self) -> None:
        """Stop listening and wake every subscriber."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def subscribe(self, job_id: str) -> asyncio.Queue[LiveNotice]:
        """A queue receiving every notice about ``job_id``."""
        queue: asyncio.Queue[LiveNotice] = asyncio.Queue(QUEUE_SIZE)
        self._subscribers.setdefault(job_id, set()).add(queue)
        return queue

    def unsubscribe(self, job_id: str, queue: asyncio.Queue[LiveNotice]) -> None:
        """Stop delivering to ``queue``."""
        queues = self._subscribers.get(job_id)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self._subscribers[job_id]

    async def _run(self) -> None:
        backoff = 0.2
        while not self._stopping:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self._dsn)
                await conn.add_listener(self._channel, self._on_pg_notify)
                self._connected.set()
                backoff = 0.2
                while not conn.is_closed():
                    await asyncio.sleep(1.0)
                    await conn.execute("SELECT 1")  # notices a dead connection
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("live updates listener lost its connection", extra={"error": repr(exc)})
            finally:
                self._connected.clear()
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close(timeout=2)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    def _on_pg_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            notice = msgspec.json.decode(payload, type=LiveNotice)
        except msgspec.DecodeError:
            return
        self.dispatch(notice)

    def dispatch(self, notice: LiveNotice) -> None:
        """Deliver a notice to this process's subscribers and side effects."""
        if notice.job_id:
            for queue in list(self._subscribers.get(notice.job_id, ())):
                with contextlib.suppress(asyncio.QueueFull):
                    queue.put_nowait(notice)
        if self._on_notice is not None:
            task = asyncio.ensure_future(self._on_notice(notice))
            self._side_tasks.add(task)
            task.add_done_callback(self._side_tasks.discard)
            task.add_done_callback(_log_failure)


def _log_failure(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("live notice handler failed", extra={"error": repr(task.exception())})
