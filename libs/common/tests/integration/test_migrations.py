"""Migration runner: concurrent starts apply each file once; an edited applied file is refused."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from etsygen_common.migrations import MigrationChecksumError, MigrationError, migrate

pytestmark = pytest.mark.integration


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, sql in files.items():
        (folder / name).write_text(sql)
    return folder


FILES = {
    "001_create.sql": "CREATE TABLE widgets (id serial PRIMARY KEY, name text NOT NULL);"
    " SELECT pg_sleep(0.3);",
    "002_seed.sql": "INSERT INTO widgets (name) VALUES ('first');",
    "003_index.sql": (
        "-- etsygen:no-transaction\nCREATE INDEX CONCURRENTLY widgets_name_idx ON widgets (name);"
    ),
}


async def test_concurrent_runs_apply_each_file_once(pg_url: str, schema: str, tmp_path: Path) -> None:
    folder = _write(tmp_path / "m", FILES)
    results = await asyncio.gather(*(migrate(pg_url, schema, {"service": folder}) for _ in range(2)))
    applied = sorted(results, key=len)
    assert applied[0] == []
    assert applied[1] == ["001_create", "002_seed", "003_index"]
    conn = await asyncpg.connect(pg_url)
    try:
        assert await conn.fetchval(f"SELECT count(*) FROM {schema}.widgets") == 1
        assert await conn.fetchval(f"SELECT count(*) FROM {schema}.schema_migrations") == 3
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM pg_indexes WHERE schemaname = $1 AND indexname = 'widgets_name_idx'",
                schema,
            )
            == 1
        )
    finally:
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        await conn.close()


async def test_edited_applied_file_is_refused_with_a_clear_error(
    pg_url: str, schema: str, tmp_path: Path
) -> None:
    folder = _write(tmp_path / "m", FILES)
    await migrate(pg_url, schema, {"service": folder})
    (folder / "002_seed.sql").write_text("INSERT INTO widgets (name) VALUES ('changed');")
    (folder / "004_more.sql").write_text("INSERT INTO widgets (name) VALUES ('never');")
    with pytest.raises(MigrationChecksumError, match=r"002_seed\.sql was changed after it was applied"):
        await migrate(pg_url, schema, {"service": folder})
    conn = await asyncpg.connect(pg_url)
    try:
        # Nothing after the refusal ran.
        assert await conn.fetchval(f"SELECT count(*) FROM {schema}.widgets WHERE name = 'never'") == 0
    finally:
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        await conn.close()


async def test_failing_file_rolls_back_and_names_the_file(pg_url: str, schema: str, tmp_path: Path) -> None:
    folder = _write(
        tmp_path / "m", {"001_ok.sql": "CREATE TABLE a (id int);", "002_bad.sql": "CREATE TABLE a (id int);"}
    )
    with pytest.raises(MigrationError, match=r"002_bad\.sql failed"):
        await migrate(pg_url, schema, {"service": folder})
    conn = await asyncpg.connect(pg_url)
    try:
        assert await conn.fetchval(f"SELECT count(*) FROM {schema}.schema_migrations") == 1
    finally:
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        await conn.close()


def test_misnamed_file_is_rejected(tmp_path: Path) -> None:
    folder = _write(tmp_path / "m", {"create.sql": "SELECT 1;"})
    with pytest.raises(MigrationError, match=r"NNN_name\.sql"):
        asyncio.run(migrate("postgresql://unused", "s_x", {"service": folder}))
