"""PostgreSQL on asyncpg: pool factory and helpers.

Every service owns one schema and reads only that schema. The pool sets ``search_path`` to it, so SQL in
repositories names tables without a schema, and JSON/JSONB columns decode with msgspec.
"""

from __future__ import annotations

import errno
import functools
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import msgspec

from etsygen_common.dbmetrics import watch_pool
from etsygen_common.metrics import DB_QUERY_SECONDS
from etsygen_common.settings import PostgresSettings

_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

_UNAVAILABLE_TYPES: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,  # the connection dropped, or the server refused it
    asyncpg.CannotConnectNowError,  # starting up, shutting down, in recovery
    asyncpg.AdminShutdownError,  # terminated by a shutdown or an administrator
    asyncpg.TooManyConnectionsError,
)
_CONNECTION_ERRNOS = frozenset(
    {errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.EHOSTUNREACH, errno.ENETUNREACH}
)


def is_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` says the database could not be reached or dropped the connection.

    Such a failure says nothing about the request or the record being handled: the caller should wait and
    try again (a 503, a paused consumer), not reject or dead-letter anything. PostgreSQL shutting down or
    restarting answers ``CannotConnectNowError``/``AdminShutdownError``; a dropped connection is a
    ``PostgresConnectionError``; a server that is gone shows up as an ``OSError`` of the socket connect,
    refused or reset over TCP, or a ``FileNotFoundError`` without a file name when its Unix socket was
    removed (a ``FileNotFoundError`` that names a file is a bug, not an outage).
    """
    if isinstance(exc, _UNAVAILABLE_TYPES):
        return True
    if isinstance(exc, FileNotFoundError):
        return exc.filename is None
    return isinstance(exc, OSError) and exc.errno in _CONNECTION_ERRNOS


def check_schema_name(schema: str) -> str:
    """Return ``schema`` if it is a safe identifier (we interpolate it into SQL), else raise ValueError."""
    if not _SCHEMA_RE.match(schema):
        raise ValueError(f"invalid schema name {schema!r}: use lower-case letters, digits and underscores")
    return schema


async def _init_connection(conn: asyncpg.Connection, *, observe: Callable[[float], None]) -> None:
    # asyncpg times every statement itself when a query logger is attached; the logger only files the
    # duration (no query text: it would be an unbounded label).
    conn.add_query_logger(lambda record: observe(record.elapsed))
    for typ in ("json", "jsonb"):
        await conn.set_type_codec(
            typ,
            encoder=lambda v: msgspec.json.encode(v).decode(),
            decoder=msgspec.json.decode,
            schema="pg_catalog",
        )


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Pool reset hook: nothing beyond what asyncpg always does on release.

    Before calling it asyncpg rolls back a transaction left open and drops client-side listeners. Its
    default reset also sends ``RESET ALL; UNLISTEN *; CLOSE ALL; pg_advisory_unlock_all()``, one more round
    trip on every release; pooled connections here keep no such state (settings are fixed at connect time,
    and the outbox relay, the one user of ``LISTEN`` and session advisory locks on a pooled connection,
    releases both itself or terminates the connection), so that round trip is skipped.
    """
    del conn


async def create_pool(settings: PostgresSettings, schema: str, *, application_name: str = "etsygen") -> Any:
    """Create an asyncpg pool whose connections use ``schema`` first on their search path.

    The pool's statements are timed into ``etsygen_db_query_seconds`` and its size, connections in use and
    waiting acquirers are read at each scrape (:mod:`etsygen_common.dbmetrics`), labelled with ``schema``,
    which is the owning service's name.

    Args:
        settings: connection settings (``DATABASE_URL`` and pool bounds).
        schema: the service's own schema; created if missing.
        application_name: shown in ``pg_stat_activity``.

    Returns:
        An ``asyncpg.Pool``.
    """
    check_schema_name(schema)
    conn = await asyncpg.connect(settings.url)
    try:
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    except asyncpg.UniqueViolationError:  # two services creating it at once
        pass
    finally:
        await conn.close()
    pool = await asyncpg.create_pool(
        settings.url,
        min_size=settings.pool_min,
        max_size=settings.pool_max,
        init=functools.partial(_init_connection, observe=DB_QUERY_SECONDS.labels(schema).observe),
        reset=_keep_session,
        server_settings={
            "search_path": f"{schema},public",
            "application_name": application_name,
            "statement_timeout": str(settings.statement_timeout_ms),
        },
    )
    watch_pool(schema, pool)
    return pool


@asynccontextmanager
async def transaction(pool: Any) -> AsyncIterator[asyncpg.Connection]:
    """Acquire a connection and open a transaction on it; commit on success, roll back on error."""
    async with pool.acquire() as conn, conn.transaction():
        yield conn
