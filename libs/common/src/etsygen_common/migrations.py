"""A migration runner: one schema per service, ordered SQL files, checksums, an advisory lock.

Files are ``NNN_name.sql`` in a service's ``migrations/`` package folder, applied in number order, each in its
own transaction, recorded in ``<schema>.schema_migrations`` with a SHA-256 of its text. A session-level
advisory lock keyed on the schema makes concurrent starts safe: the second runner waits, then finds the files
applied. A file whose text changed after it was applied stops the run with :class:`MigrationChecksumError`.

A file whose first line is ``-- etsygen:no-transaction`` runs outside a transaction (for
``CREATE INDEX CONCURRENTLY`` on a live database).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from etsygen_common.db import check_schema_name
from etsygen_common.logging import get_logger

log = get_logger(__name__)

_FILE_RE = re.compile(r"^(\d{3,})_([a-z0-9_]+)\.sql$")
NO_TRANSACTION = "-- etsygen:no-transaction"


class MigrationError(RuntimeError):
    """A migration could not be applied."""


class MigrationChecksumError(MigrationError):
    """An applied migration file was changed afterwards."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One SQL file."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        """SHA-256 of the file's text."""
        return hashlib.sha256(self.sql.encode()).hexdigest()


def discover(directory: Path) -> list[Migration]:
    """Read ``NNN_name.sql`` files from ``directory`` in version order.

    Raises:
        MigrationError: two files share a version, or a ``.sql`` file is misnamed.
    """
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_RE.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files must be named NNN_name.sql")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"{path.name}: version {version} is used by {found[version].name} too")
        found[version] = Migration(version, path.stem, path.read_text())
    return [found[v] for v in sorted(found)]


def _lock_key(schema: str) -> int:
    return zlib.crc32(f"etsygen-migrate:{schema}".encode())


async def migrate(dsn_or_conn: str | asyncpg.Connection, schema: str, sources: dict[str, Path]) -> list[str]:
    """Apply pending migrations to ``schema``.

    Args:
        dsn_or_conn: a DSN (a connection is opened and closed) or an open connection.
        schema: the service's schema, created if missing.
        sources: named folders of ``NNN_name.sql`` files, applied in the order given; each name keeps its
            own version sequence (``common`` for the shared outbox/inbox tables, ``service`` for the rest).

    Returns:
        The names of the files applied by this call (empty when everything was applied already).

    Raises:
        MigrationChecksumError: an applied file was edited.
        MigrationError: a file is misnamed or failed to apply (its transaction is rolled back).
    """
    check_schema_name(schema)
    plan = [(source, m) for source, directory in sources.items() for m in discover(directory)]
    own = isinstance(dsn_or_conn, str)
    conn: asyncpg.Connection = await asyncpg.connect(dsn_or_conn) if own else dsn_or_conn
    applied_now: list[str] = []
    try:
        # Poll for the lock instead of blocking in pg_advisory_lock: a session waiting inside a statement
        # holds a virtual transaction, which CREATE INDEX CONCURRENTLY in the lock holder would wait for.
        while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", _lock_key(schema)):  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        try:
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            await conn.execute(
                f"""CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (
                        source text NOT NULL,
                        version integer NOT NULL,
                        name text NOT NULL,
                        checksum text NOT NULL,
                        applied_at timestamptz NOT NULL DEFAULT now(),
                        PRIMARY KEY (source, version))"""
            )
            rows = await conn.fetch(f"SELECT source, version, name, checksum FROM {schema}.schema_migrations")
            applied: dict[tuple[str, int], Any] = {(r["source"], r["version"]): r for r in rows}
            for source, m in plan:
                row = applied.get((source, m.version))
                if row is not None and row["checksum"] != m.checksum:
                    raise MigrationChecksumError(
                        f"{schema}: migration {m.name}.sql was changed after it was applied "
                        f"(recorded checksum {row['checksum'][:12]}, file now {m.checksum[:12]}). "
                        "Applied migrations are immutable: restore the file and add a new NNN_*.sql instead."
                    )
            await conn.execute(f"SET search_path TO {schema}, public")
            for source, m in plan:
                if (source, m.version) in applied:
                    continue
                await _apply(conn, schema, source, m)
                applied_now.append(m.name)
                log.info("migration applied", extra={"schema": schema, "migration": m.name})
        finally:
            await conn.execute("RESET search_path")
            await conn.execute("SELECT pg_advisory_unlock($1)", _lock_key(schema))
    finally:
        if own:
            await conn.close()
    return applied_now


async def _apply(conn: asyncpg.Connection, schema: str, source: str, m: Migration) -> None:
    record = (
        f"INSERT INTO {schema}.schema_migrations (source, version, name, checksum) VALUES ($1, $2, $3, $4)"
    )
    try:
        if m.sql.lstrip().startswith(NO_TRANSACTION):
            for statement in _split(m.sql):
                await conn.execute(statement)
            await conn.execute(record, source, m.version, m.name, m.checksum)
        else:
            async with conn.transaction():
                await conn.execute(m.sql)
                await conn.execute(record, source, m.version, m.name, m.checksum)
    except asyncpg.PostgresError as exc:
        raise MigrationError(f"{schema}: {m.name}.sql failed: {exc}") from exc


def _split(sql: str) -> list[str]:
    """Split a no-transaction file on ``;`` at line ends (such files hold simple DDL only)."""
    parts = re.split(r";\s*$", sql, flags=re.MULTILINE)
    return [
        p.strip()
        for p in parts
        if p.strip()
        and not all(line.strip().startswith("--") or not line.strip() for line in p.strip().splitlines())
    ]


async def pending(conn: asyncpg.Connection, schema: str, sources: dict[str, Path]) -> list[str]:
    """Names of the files :func:`migrate` would apply to ``schema`` (every one when it has none yet)."""
    check_schema_name(schema)
    table = await conn.fetchval("SELECT to_regclass($1)", f"{schema}.schema_migrations")
    rows = await conn.fetch(f"SELECT source, version FROM {schema}.schema_migrations") if table else []
    applied = {(r["source"], r["version"]) for r in rows}
    plan = [(source, m) for source, d in sources.items() for m in discover(d)]
    return [m.name for source, m in plan if (source, m.version) not in applied]


def service_sources(service_dir: Path) -> dict[str, Path]:
    """The shared migrations (outbox, inbox), then the service's own."""
    return {"common": common_migrations_dir(), "service": service_dir}


def common_migrations_dir() -> Path:
    """Folder of the migrations every service shares (outbox and inbox tables)."""
    return Path(__file__).parent / "sql"


async def migrate_service(dsn: str, schema: str, service_dir: Path) -> list[str]:
    """Apply the shared migrations (outbox, inbox) then the service's own to the service's schema."""
    return await migrate(dsn, schema, service_sources(service_dir))
