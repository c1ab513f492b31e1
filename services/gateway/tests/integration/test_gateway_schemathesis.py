"""Property-based API testing with schemathesis against /schema/openapi.json: generated requests (valid and
invalid) never cause a 5xx, and every response matches the documented status codes, media types and
schemas. The gateway runs as a real server process; schemathesis drives it from a worker thread."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from conftest import running_gateway
from gateway_testkit import generated, make_user, project, scored
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from etsygen_common.devstack import free_port, stop_process
from etsygen_common.testing.plugin import unique_name, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LAUNCHER = Path(__file__).resolve().parents[1] / "gateway_launcher.py"
POSITIVE_EXAMPLES = int(os.environ.get("GATEWAY_FUZZ_EXAMPLES", "8"))  # raise it for a deeper local run
NEGATIVE_EXAMPLES = max(1, POSITIVE_EXAMPLES // 2)
CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


def explore(
    operation: Any, mode: GenerationMode, examples: int, base_url: str, headers: dict[str, str]
) -> None:
    """Send ``examples`` generated requests to one operation and check each response."""
    checks = CONFORMANCE if mode == GenerationMode.POSITIVE else [not_a_server_error, status_code_conformance]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        case.call_and_validate(base_url=base_url, headers=headers, checks=checks, timeout=10)

    check()


def fuzz(base_url: str, headers: dict[str, str]) -> list[str]:
    """Run every operation in both generation modes; return the failures (operation: error)."""
    schema = schemathesis.openapi.from_url(f"{base_url}/schema/openapi.json")
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode, examples in (
            (GenerationMode.POSITIVE, POSITIVE_EXAMPLES),
            (GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES),
        ):
            try:
                explore(operation, mode, examples, base_url, headers)
            except Exception as exc:
                failures.append(f"{operation.label} [{mode.value}]: {exc}"[:2000])
    return failures


async def test_the_api_conforms_to_its_schema_and_never_fails_with_5xx(
    settings_factory: Any, pg_url: str, tmp_path: Path
) -> None:
    schema = unique_name("gw")
    async with running_gateway(settings_factory(), pg_url, schema=schema, listen=False) as gw:
        root = await make_user(gw, "root@example.com", role="admin")
        job = str(await gw.pool.fetchval("SELECT gen_random_uuid()"))
        # Some data, so that list endpoints return items to validate.
        async with gw.pool.acquire() as conn:
            await conn.execute(
                """INSERT INTO jobs (id, owner_id, marketplace, listing_budget, generation, keyword_count)
                   VALUES ($1, $2, 'etsy', 10, '{}'::jsonb, 1)""",
                job,
                root.id,
            )
            await conn.execute(
                "INSERT INTO job_keywords (job_id, keyword, position) VALUES ($1, 'mug', 0)", job
            )
        await project(gw, scored(job, root.id, "mug"))
        await project(gw, generated(job, root.id, "mug"))
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": pg_url,
        "REDIS_URL": settings_factory().common.redis.url,
        "REDIS_KEY_PREFIX": unique_name("st") + ":",
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",
        "LOG_LEVEL": "ERROR",
        "LOG_FORMAT": "console",
        "GATEWAY_SIGNUP_MODE": "open",
        "GATEWAY_COOKIE_SECURE": "false",
        "GATEWAY_RATE_API_LIMIT": "1000000",
        "GATEWAY_RATE_AI_LIMIT": "1000000",
        "GATEWAY_RATE_AUTH_LIMIT": "1000000",
        "GATEWAY_RATE_AUTH_REQUESTS_LIMIT": "1000000",
        "GATEWAY_RATE_REPLAY_LIMIT": "1000000",
        "GATEWAY_ARGON2_TIME_COST": "1",
        "GATEWAY_ARGON2_MEMORY_KIB": "8",
    }
    log = tmp_path / "gateway.log"
    with log.open("wb") as sink:
        worker = subprocess.Popen(
            [sys.executable, str(LAUNCHER), "--port", str(port), "--schema", schema],
            env=env,
            start_new_session=True,
            stdout=sink,
            stderr=sink,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:

            async def listening() -> bool:
                assert worker.poll() is None, "the gateway process exited"
                try:
                    return (await client.get(f"{base_url}/health/live")).status_code == 200
                except httpx.TransportError:
                    return False

            await wait_until(listening, timeout=60, interval=0.2, what="the gateway to listen")
        auth = {"X-API-Key": root.api_key, "Authorization": f"Bearer {root.api_key}"}
        failures = await asyncio.to_thread(fuzz, base_url, auth)
    finally:
        stop_process(worker)
    report = "\n\n".join(failures)
    assert not failures, f"{len(failures)} failed:\n\n{report}\n\nserver log:\n{log.read_text()[-5000:]}"
