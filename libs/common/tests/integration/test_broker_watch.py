"""The broker watch notices a broker that lost acknowledged records: a private Tansu broker is killed and
started again, empty, on the same port; the next tick reports the loss once, to one of two replicas."""

from __future__ import annotations

from typing import Any

import pytest

from etsygen_common.broker_watch import BrokerLoss, BrokerWatch
from etsygen_common.db import create_pool
from etsygen_common.devstack import TansuBroker, free_port
from etsygen_common.migrations import common_migrations_dir, migrate
from etsygen_common.settings import KafkaSettings, PostgresSettings
from etsygen_common.testing.plugin import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def test_a_broker_restarted_empty_is_reported_once(pg_url: str, schema: str) -> None:
    await migrate(pg_url, schema, {"common": common_migrations_dir()})
    pool = await create_pool(PostgresSettings(url=pg_url, pool_min=1, pool_max=3), schema)
    broker = TansuBroker(port=free_port()).start()
    settings = KafkaSettings(bootstrap_servers=broker.bootstrap, request_timeout_ms=5000)
    reported: list[tuple[str, BrokerLoss]] = []

    def reporter(name: str) -> Any:
        async def on_loss(loss: BrokerLoss) -> None:
            reported.append((name, loss))

        return on_loss

    replicas = [
        BrokerWatch(settings, lambda: pool, service="gateway", interval_s=0.2, on_loss=reporter(name))
        for name in ("a", "b")
    ]
    try:
        # A new deployment: nothing acknowledged yet, so nothing is lost; beats build up the mark.
        for _ in range(3):
            for watch in replicas:
                assert await watch.tick() is None
        mark = await pool.fetchval("SELECT acked_offset FROM broker_marks")
        assert mark >= 5  # six beats on one partition: offsets 0..5
        assert reported == []

        broker.kill()
        broker.start()  # same port, memory storage: every topic and offset is gone

        async def a_loss_was_reported() -> bool:
            for watch in replicas:
                try:
                    await watch.tick()
                except Exception:  # the clients reconnect to the new broker; the next tick is clean
                    await watch._close()
            return bool(reported)

        await wait_until(a_loss_was_reported, timeout=60, interval=0.2, what="the loss to be reported")
        for _ in range(3):  # later beats on the new broker are no loss, and no replica reports it again
            for watch in replicas:
                assert await watch.tick() is None
        assert len(reported) == 1
        _, loss = reported[0]
        assert loss.acknowledged == mark
        assert loss.end is None or loss.end <= mark
        assert "lost acknowledged records" in loss.explanation
        assert await pool.fetchval("SELECT losses FROM broker_marks") == 1
    finally:
        for watch in replicas:
            await watch.stop()
        broker.stop()
        await pool.close()


async def test_a_loss_whose_handling_failed_is_found_again_at_the_next_tick(pg_url: str, schema: str) -> None:
    await migrate(pg_url, schema, {"common": common_migrations_dir()})
    pool = await create_pool(PostgresSettings(url=pg_url, pool_min=1, pool_max=3), schema)
    broker = TansuBroker(port=free_port()).start()
    settings = KafkaSettings(bootstrap_servers=broker.bootstrap, request_timeout_ms=5000)
    handled: list[BrokerLoss] = []
    failures = [True]

    async def on_loss(loss: BrokerLoss) -> None:
        if failures.pop(0) if failures else False:
            raise ConnectionError("the database is restarting")
        handled.append(loss)

    watch = BrokerWatch(settings, lambda: pool, service="gateway", interval_s=0.2, on_loss=on_loss)
    try:
        for _ in range(3):
            await watch.tick()
        broker.kill()
        broker.start()
        outcomes: list[str] = []

        async def handled_once() -> bool:
            try:
                await watch.tick()
            except ConnectionError:
                outcomes.append("failed")
            except Exception:
                await watch._close()
            return bool(handled)

        await wait_until(handled_once, timeout=60, interval=0.2, what="the loss to be handled")
        assert outcomes == ["failed"]  # the first handling failed; the next tick found the loss again
        assert len(handled) == 1
        assert await pool.fetchval("SELECT losses FROM broker_marks") == 1
    finally:
        await watch.stop()
        broker.stop()
        await pool.close()
