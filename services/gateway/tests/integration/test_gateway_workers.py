"""Two gateway worker processes sharing Redis and Postgres admit exactly the limit, and keep serving (failing
open, counted) when Redis goes away."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import running_gateway
from gateway_testkit import make_user

from etsygen_common.devstack import RedisServer, free_port, stop_process
from etsygen_common.testing.plugin import unique_name, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LAUNCHER = Path(__file__).resolve().parents[1] / "gateway_launcher.py"
LIMIT = 100


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


def start_worker(port: int, schema: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(LAUNCHER), "--port", str(port), "--schema", schema],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


async def test_two_workers_admit_exactly_the_limit_and_fail_open_without_redis(
    settings_factory: Any, pg_url: str, private_redis: RedisServer
) -> None:
    schema = unique_name("gw")
    prefix = unique_name("rl") + ":"
    env = {
        **os.environ,
        "DATABASE_URL": pg_url,
        "REDIS_URL": private_redis.url,
        "REDIS_KEY_PREFIX": prefix,
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",
        "LOG_LEVEL": "WARNING",
        "GATEWAY_RATE_API_LIMIT": str(LIMIT),
        "GATEWAY_RATE_API_WINDOW_S": "900",
        "GATEWAY_ARGON2_TIME_COST": "1",
        "GATEWAY_ARGON2_MEMORY_KIB": "8",
    }
    settings = settings_factory()
    async with running_gateway(settings, pg_url, schema=schema, listen=False) as gw:
        alice = await make_user(gw, "alice@example.com")
    ports = [free_port(), free_port()]
    workers = [start_worker(port, schema, env) for port in ports]
    try:
        async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=250)) as client:

            async def all_live() -> bool:
                for port, worker in zip(ports, workers, strict=True):
                    if worker.poll() is not None:
                        pytest.fail(f"worker on {port} exited: {worker.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
                    try:
                        await client.get(f"http://127.0.0.1:{port}/health/live")
                    except httpx.TransportError:
                        return False
                return True

            await wait_until(all_live, timeout=60, interval=0.2, what="both workers to listen")

            requests = [
                client.get(f"http://127.0.0.1:{ports[i % 2]}/v1/jobs", headers=alice.headers)
                for i in range(2 * LIMIT)
            ]
            responses = await asyncio.gather(*requests)
            admitted = [r for r in responses if r.status_code == 200]
            limited = [r for r in responses if r.status_code == 429]
            assert len(admitted) == LIMIT
            assert len(limited) == LIMIT
            assert sorted(int(r.headers["x-ratelimit-remaining"]) for r in admitted) == list(range(LIMIT))
            assert {r.headers["x-ratelimit-limit"] for r in responses} == {str(LIMIT)}
            assert {r.headers["ratelimit-policy"] for r in responses} == {f'"api";q={LIMIT};w=900'}
            for r in limited:
                assert int(r.headers["retry-after"]) >= 1
                assert r.headers["x-ratelimit-remaining"] == "0"
                assert r.headers["content-type"] == "application/problem+json"
            assert {r.url.port for r in admitted} == set(ports)  # both processes admitted some

            private_redis.stop()
            served = await asyncio.gather(
                *(client.get(f"http://127.0.0.1:{port}/v1/jobs", headers=alice.headers) for port in ports * 3)
            )
            assert [r.status_code for r in served] == [200] * 6
            assert all("x-ratelimit-limit" not in r.headers for r in served)
            for port in ports:
                metrics = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
                line = next(
                    row
                    for row in metrics.splitlines()
                    if row.startswith(
                        'etsygen_gateway_ratelimit_fail_open_total{service="gateway",tier="api"}'
                    )
                )
                assert float(line.split()[-1]) >= 3
    finally:
        for worker in workers:
            stop_process(worker)
