"""``etsygen retention run``: refuses an unmigrated schema naming the fix, prints one line per step, and a
dry run counts what the real run then removes (and only the real run adds to the metric)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from prometheus_client import REGISTRY
from typer.testing import CliRunner

from etsygen_cli.main import app

pytestmark = pytest.mark.integration


@pytest.fixture
def keep_logging() -> Iterator[None]:
    """The command configures logging for its process; give the test process its own back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def env(database_url: str, redis_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",
        "ETSY_API_KEY": "keystring:secret",
        "GATEWAY_SECRET_KEY": "a-test-secret-that-is-long-enough-0123456789",
        "ETSYGEN_ENV_FILE": str(tmp_path / "absent.env"),
        "LOG_LEVEL": "WARNING",
    }


def removed_so_far(service: str, step: str) -> float:
    labels = {"service": service, "step": step}
    return REGISTRY.get_sample_value("etsygen_retention_removed_rows_total", labels) or 0.0


async def test_retention_run_reports_each_step_and_the_dry_run_matches(
    fresh_pg_url: str, redis_url: str, tmp_path: Path, keep_logging: None
) -> None:
    runner, variables = CliRunner(), env(fresh_pg_url, redis_url, tmp_path)

    async def etsygen(*args: str) -> tuple[int, str]:
        result = await asyncio.to_thread(runner.invoke, app, list(args), env=variables)
        return result.exit_code, result.output

    code, output = await etsygen("retention", "run", "--dry-run")
    assert code == 1
    assert "run `etsygen migrate gateway` first" in output
    code, output = await etsygen("migrate")
    assert code == 0, output

    now = datetime.now(UTC)
    conn = await asyncpg.connect(fresh_pg_url)
    try:
        for sent in (now - timedelta(days=8), now - timedelta(days=6), None):
            await conn.execute(
                "INSERT INTO generator.outbox (topic, headers, payload, sent_at) VALUES ('t', '{}', 'x', $1)",
                sent,
            )
    finally:
        await conn.close()

    before = removed_so_far("generator", "outbox")
    code, dry = await etsygen("retention", "run", "--dry-run")
    assert code == 0, dry
    assert removed_so_far("generator", "outbox") == before
    metrics = tmp_path / "retention.prom"
    code, real = await etsygen("retention", "run", "--metrics-file", str(metrics))
    assert code == 0, real

    assert "generator  outbox             would remove 1" in dry.splitlines()
    assert "generator  outbox             removed 1" in real.splitlines()
    assert dry.replace("would remove", "removed") == real
    assert len(real.splitlines()) == 20  # every step of every service, one line each
    assert removed_so_far("generator", "outbox") == before + 1
    assert 'etsygen_retention_removed_rows_total{service="generator",step="outbox"}' in metrics.read_text()
    conn = await asyncpg.connect(fresh_pg_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM generator.outbox") == 2
    finally:
        await conn.close()
