"""The pool gauges say how many connections a service holds and how many callers wait; queries are timed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from prometheus_client import REGISTRY

from etsygen_common.db import create_pool
from etsygen_common.settings import PostgresSettings

pytestmark = pytest.mark.integration


def gauge(name: str, service: str) -> float | None:
    return REGISTRY.get_sample_value(name, {"service": service})


async def test_an_exhausted_pool_shows_every_connection_in_use_and_the_callers_waiting(
    pg_url: str, schema: str
) -> None:
    pool = await create_pool(PostgresSettings(url=pg_url, pool_min=1, pool_max=2), schema)
    try:
        queries_before = REGISTRY.get_sample_value("etsygen_db_query_seconds_count", {"service": schema}) or 0
        held = [await pool.acquire(), await pool.acquire()]
        await held[0].fetchval("SELECT 1")

        async def third_caller() -> Any:
            return await pool.acquire()

        waiter = asyncio.create_task(third_caller())
        await asyncio.sleep(0.05)  # the task reaches the pool's queue and waits there
        assert gauge("etsygen_db_pool_size", schema) == 2
        assert gauge("etsygen_db_pool_max", schema) == 2
        assert gauge("etsygen_db_pool_in_use", schema) == 2
        assert gauge("etsygen_db_pool_waiting", schema) == 1
        await pool.release(held.pop())
        third = await asyncio.wait_for(waiter, 5)
        assert gauge("etsygen_db_pool_waiting", schema) == 0
        for conn in (*held, third):
            await pool.release(conn)
        assert gauge("etsygen_db_pool_in_use", schema) == 0
        await asyncio.sleep(0)  # asyncpg hands the statement's timing to the logger on the next loop turn
        timed = REGISTRY.get_sample_value("etsygen_db_query_seconds_count", {"service": schema}) or 0
        assert timed >= queries_before + 1
    finally:
        pool.terminate()  # close() would wait for connections a failed assertion left acquired
    assert gauge("etsygen_db_pool_size", schema) is None  # a closed pool is no longer reported
