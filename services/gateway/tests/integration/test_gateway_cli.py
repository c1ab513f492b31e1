"""``etsygen users create-admin`` and ``etsygen dead-letters``, as the CLI mounts them."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from typer.testing import CliRunner

from etsygen_gateway.adapters.passwords import Passwords
from etsygen_gateway.cli import dead_letters_app, users_app
from etsygen_gateway.errors import InvalidRequestError
from etsygen_gateway.service_layer.first_admin import create_admin

pytestmark = pytest.mark.integration


def env(database_url: str, redis_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",
        "ETSYGEN_ADMIN_PASSWORD": "correct horse battery staple",
        "GATEWAY_ARGON2_TIME_COST": "1",
        "GATEWAY_ARGON2_MEMORY_KIB": "8",
    }


async def test_create_admin_creates_then_promotes(fresh_pg_url: str, redis_url: str) -> None:
    runner = CliRunner()
    result = await asyncio.to_thread(
        runner.invoke, users_app, ["create-admin", "Root@Example.com"], env=env(fresh_pg_url, redis_url)
    )
    assert result.exit_code == 0, result.output
    assert "admin root@example.com" in result.output
    conn = await asyncpg.connect(fresh_pg_url)
    try:
        await conn.execute("UPDATE gateway.users SET role = 'viewer'")
        again = await asyncio.to_thread(
            runner.invoke, users_app, ["create-admin", "root@example.com"], env=env(fresh_pg_url, redis_url)
        )
        assert again.exit_code == 0, again.output
        rows = await conn.fetch("SELECT email, role, password_hash FROM gateway.users")
    finally:
        await conn.close()
    assert [(r["email"], r["role"]) for r in rows] == [("root@example.com", "admin")]
    assert rows[0]["password_hash"].startswith("$argon2id$")

    conn = await asyncpg.connect(fresh_pg_url)
    try:
        letter_id = await conn.fetchval(
            """INSERT INTO gateway.dead_letters (original_topic, original_partition, original_offset,
                   consumer_group, dlq_partition, dlq_offset, headers, body, exception_type)
               VALUES ('etsygen.trends.scored.v1', 0, 7, 'etsygen-generator', 0, 1, '{"ce_id": "e1"}', 'x',
                       'builtins.TimeoutError') RETURNING id"""
        )
    finally:
        await conn.close()
    commands: list[tuple[list[str], str]] = [
        (["list"], "etsygen.trends.scored.v1[0]@7"),
        (["show", str(letter_id)], '"exception_type": "builtins.TimeoutError"'),
        (["replay", str(letter_id), "--dry-run"], "would send 1 bytes to etsygen.trends.scored.v1"),
        (["replay", str(letter_id)], "queued 1 bytes"),
        (["discard", str(letter_id)], f"{letter_id} discarded"),
        (["prune", "--days", "30"], "0 dead letters deleted"),
    ]
    for args, expected in commands:
        result = await asyncio.to_thread(
            runner.invoke, dead_letters_app, args, env=env(fresh_pg_url, redis_url)
        )
        assert result.exit_code == 0, (args, result.output)
        assert expected in result.output, (args, result.output)


async def test_create_admin_refuses_weak_passwords(gateway: Any) -> None:
    with pytest.raises(InvalidRequestError):
        await create_admin(gateway.pool, "root@example.com", "short", Passwords(time_cost=1, memory_kib=8))


async def test_listing_no_dead_letters_says_so(fresh_pg_url: str, redis_url: str, tmp_path: Any) -> None:
    runner = CliRunner()
    # No dev stack to find: the settings come from the environment alone.
    settings = {**env(fresh_pg_url, redis_url), "ETSYGEN_DATA_DIR": str(tmp_path)}
    cases = [
        (["list"], "no dead letters\n"),
        (["list", "--status", "pending"], "no dead letters with status pending\n"),
        (
            ["list", "--status", "replayed", "--topic", "etsygen.trends.scored.v1"],
            "no dead letters with status replayed and topic etsygen.trends.scored.v1\n",
        ),
    ]
    for args, expected in cases:
        result = await asyncio.to_thread(runner.invoke, dead_letters_app, args, env=settings)
        assert result.exit_code == 0, (args, result.output)
        assert result.output == expected


def test_create_admin_without_settings_names_the_fix_before_asking_for_a_password(tmp_path: Any) -> None:
    unset: dict[str, str | None] = {
        "DATABASE_URL": None,
        "REDIS_URL": None,
        "ETSYGEN_ADMIN_PASSWORD": None,
        "ETSYGEN_ENV_FILE": str(tmp_path / "no.env"),
        "ETSYGEN_DATA_DIR": str(tmp_path),
    }
    result = CliRunner().invoke(users_app, ["create-admin", "e@example.com"], env=unset, input="pw\npw\n")
    assert result.exit_code == 2
    assert "password" not in result.output
    assert "DATABASE_URL is not set" in result.output
    assert "start the platform with `make run`" in result.output
