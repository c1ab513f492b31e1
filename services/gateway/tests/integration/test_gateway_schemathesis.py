"""Property-based API testing with schemathesis against /schema/openapi.json, with every check it has: the
requests it generates from the document (valid and invalid, in all its phases: examples, coverage, fuzzing
and stateful sequences) never cause a 5xx, valid ones are accepted and invalid ones refused, and every
response matches the documented status codes, media types, headers and schemas. The gateway runs as a real
server process; schemathesis runs as its command line does, against it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import running_gateway
from gateway_testkit import generated, make_user, project, scored

from etsygen_common.devstack import free_port, stop_process
from etsygen_common.testing.plugin import unique_name, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LAUNCHER = Path(__file__).resolve().parents[1] / "gateway_launcher.py"
EXAMPLES = int(os.environ.get("GATEWAY_FUZZ_EXAMPLES", "8"))  # per operation and phase; raise it to go deeper
OPERATIONS = 32
"""Operations in the document (a lower count means routes went missing from it)."""
HOOKS = "schemathesis_hooks"
"""Drops generated requests that break a rule OpenAPI cannot state (see that module): narrower than
excluding the check that would flag them."""
EXCLUDED_CHECKS: list[str] = []
"""Checks not run, each with the reason it is the check's limitation rather than the API's: none."""
CONFIG = """
# The job stream (SSE) stays open while the job runs, and no pipeline runs here to finish it: read its first
# events (what the checks judge), not until the request timeout.
[[operations]]
include-path = "/v1/jobs/{job_id}/events"
max-stream-events = 2
"""


def fuzz(base_url: str, headers: dict[str, str], workdir: Path) -> tuple[int, str, dict[str, Any]]:
    """Run ``schemathesis run`` over the whole API; return its exit code, its output and its JSON report."""
    config = workdir / "schemathesis.toml"
    config.write_text(CONFIG)
    report = workdir / "report.json"
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        f"{base_url}/schema/openapi.json",
        "--checks",
        "all",
        *(["--exclude-checks", ",".join(EXCLUDED_CHECKS)] if EXCLUDED_CHECKS else []),
        "--mode",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        str(EXAMPLES),
        "--workers",
        "1",
        "--no-color",
        "--report",
        "json",
        "--report-json-path",
        str(report),
        *(arg for name, value in headers.items() for arg in ("-H", f"{name}: {value}")),
    ]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": HOOKS,
        "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        command, env=env, cwd=workdir, capture_output=True, text=True, timeout=600 + 5 * EXAMPLES, check=False
    )
    summary = json.loads(report.read_text()) if report.exists() else {}
    return done.returncode, done.stdout + done.stderr, summary


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
        code, output, summary = await asyncio.to_thread(fuzz, base_url, auth, tmp_path)
    finally:
        stop_process(worker)
    print(output[-3000:])  # the summary: phases, generated cases, warnings (shown with -s or on failure)
    assert code == 0, (
        f"schemathesis found problems:\n{output[-20000:]}\n\nserver log:\n{log.read_text()[-5000:]}"
    )
    # The run covered the whole API, all four phases, with no failure and no error.
    operations = summary["operations"]
    assert operations["tested"] == operations["total"] == OPERATIONS, operations
    assert {name: phase["status"] for name, phase in summary["phases"].items()} == {
        "examples": "skip",  # the document has no examples to replay; the other phases generate
        "coverage": "success",
        "fuzzing": "success",
        "stateful": "success",
    }
    assert summary["test_cases"]["generated"] >= OPERATIONS * EXAMPLES, summary["test_cases"]
    assert (summary["failures"], summary["errors"]) == ([], [])
