"""Graceful shutdown under load: SIGTERM mid-stream loses nothing and does nothing twice.

A real :class:`ServiceRuntime` runs in a subprocess (this file is also the worker: ``python
test_shutdown_graceful.py <settings-json> <schema> <group> <migrations-dir>``). Its handler marks that it
started (outside the transaction), does some work, writes an effect row and emits an event through the outbox.
The test feeds it 300 events, sends SIGTERM while it is busy, starts it again and lets it finish.

Shown: the first run exits cleanly with every started handler finished (no handler was cut off) and its
outbox flushed; across both runs every event's effect happened exactly once, every emitted event was relayed
exactly once and nothing is left pending.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import pytest

from etsygen_common import contracts
from etsygen_common.envelope import deterministic_id, headers_of, wrap
from etsygen_common.kafka import KafkaPublisher, create_broker, ensure_topics
from etsygen_common.settings import CommonSettings, ServiceSettings
from etsygen_common.testing.plugin import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EVENTS = 300
WORK_S = 0.02
SLOW_EVERY = 50
SLOW_WORK_S = 1.0
"""Every 50th event takes a second, so the test can send SIGTERM while a handler is surely running."""
MIGRATION = """
CREATE TABLE started (job_id text NOT NULL, pid integer NOT NULL);
CREATE TABLE effects (job_id text NOT NULL, pid integer NOT NULL);
"""


def _is_slow(job_id: str) -> bool:
    return int(job_id.removeprefix("job-")) % SLOW_EVERY == SLOW_EVERY - 1


# --- the worker process ---------------------------------------------------------------------------------


async def _serve(settings: CommonSettings, schema: str, group: str, migrations: Path) -> None:
    from etsygen_common.runtime import ServiceRuntime

    runtime = ServiceRuntime(
        name=schema, settings=settings, migrations_dir=migrations, default_port=0, group=group
    )
    pid = os.getpid()

    async def handle(ctx: Any, event: contracts.ResearchRequested) -> None:
        async with runtime.pool.acquire() as own:  # outside the transaction: survives a rollback
            await own.execute("INSERT INTO started (job_id, pid) VALUES ($1, $2)", event.job_id, pid)
        await asyncio.sleep(SLOW_WORK_S if _is_slow(event.job_id) else WORK_S)
        await ctx.conn.execute("INSERT INTO effects (job_id, pid) VALUES ($1, $2)", event.job_id, pid)
        ctx.emit(
            contracts.KeywordScrapeRequested(
                job_id=event.job_id, owner_id=event.owner_id, keyword=event.keywords[0]
            ),
            event_id=deterministic_id("scrape", event.job_id),
        )

    assert runtime.consumer is not None
    runtime.consumer.subscribe(contracts.RESEARCH_REQUESTED, contracts.ResearchRequested, handle)
    runtime.extra_topics.append(contracts.KEYWORD_SCRAPE_REQUESTED)
    await runtime.run_forever()


def _worker_main(argv: list[str]) -> None:
    settings_json, schema, group, migrations = argv
    settings = msgspec.json.decode(settings_json, type=CommonSettings)
    asyncio.run(_serve(settings, schema, group, Path(migrations)))


# --- the test -------------------------------------------------------------------------------------------


def _start_worker(settings: CommonSettings, schema: str, group: str, migrations: Path, log: Path) -> Any:
    out = log.open("ab")
    try:
        return subprocess.Popen(
            [
                sys.executable,
                __file__,
                msgspec.json.encode(settings).decode(),
                schema,
                group,
                str(migrations),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    finally:
        out.close()


async def _stop_worker(proc: Any, log: Path) -> int:
    proc.send_signal(signal.SIGTERM)
    loop = asyncio.get_running_loop()
    try:
        code: int = await loop.run_in_executor(None, proc.wait, 60)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"the worker did not stop within 60 s after SIGTERM:\n{log.read_text()[-3000:]}")
    return code


async def test_sigterm_mid_stream_loses_nothing_and_repeats_nothing(
    make_settings: Any, pg_url: str, schema: str, tmp_path: Path
) -> None:
    settings: CommonSettings = make_settings(service=ServiceSettings(port=0, shutdown_grace_s=20.0))
    kafka = settings.kafka
    group = f"g-{uuid.uuid4().hex[:8]}"
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "001_effects.sql").write_text(MIGRATION)
    log = tmp_path / "worker.log"

    # The load: 300 events waiting on the topic before the service starts.
    await ensure_topics(kafka, [contracts.RESEARCH_REQUESTED, contracts.KEYWORD_SCRAPE_REQUESTED])
    feeder = create_broker(kafka, client_id="feeder")
    await feeder.connect()
    job_ids = [f"job-{i:03d}" for i in range(EVENTS)]
    publisher = KafkaPublisher(feeder, kafka)
    try:
        await publisher.publish_batch(
            [
                wrap(contracts.ResearchRequested(job_id=j, owner_id="o", keywords=[f"kw {j}"]), source="t")
                for j in job_ids
            ]
        )
    finally:
        await publisher.close()
        await feeder.stop()

    db = await asyncpg.connect(pg_url, server_settings={"search_path": schema})
    worker = _start_worker(settings, schema, group, migrations, log)
    try:

        async def effects() -> int:
            if not await db.fetchval("SELECT to_regclass('effects') IS NOT NULL"):
                return 0
            n: int = await db.fetchval("SELECT count(*) FROM effects")
            return n

        async def at_least(n: int) -> bool:
            return await effects() >= n

        # SIGTERM while the service is busy with the stream, at a moment a handler is running.
        await wait_until(lambda: at_least(EVENTS // 4), timeout=90, what="a quarter of the events handled")
        in_flight: list[str] = []

        async def slow_handler_running() -> bool:
            rows = await db.fetch("SELECT job_id FROM started EXCEPT SELECT job_id FROM effects")
            in_flight[:] = [r["job_id"] for r in rows]
            return any(_is_slow(j) for j in in_flight)

        await wait_until(slow_handler_running, timeout=60, interval=0.02, what="a slow handler in flight")
        assert await _stop_worker(worker, log) == 0, log.read_text()[-3000:]
        first_run = worker.pid

        handled_first = await effects()
        assert handled_first < EVENTS, "SIGTERM should arrive mid-stream"
        # Every handler that started finished, the one running at SIGTERM too: none was cut off.
        started = await db.fetch("SELECT job_id FROM started WHERE pid = $1", first_run)
        done = await db.fetch("SELECT job_id FROM effects WHERE pid = $1", first_run)
        assert set(in_flight) <= {r["job_id"] for r in done}
        assert sorted(r["job_id"] for r in started) == sorted(r["job_id"] for r in done)
        assert len(done) == handled_first
        # The relay flushed before the process exited: everything the first run emitted was published.
        assert await db.fetchval("SELECT count(*) FROM outbox") == handled_first
        assert await db.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0

        # The service comes back and finishes the stream.
        worker = _start_worker(settings, schema, group, migrations, log)
        await wait_until(lambda: at_least(EVENTS), timeout=120, what="every event handled after the restart")
        await wait_until(
            lambda: _no_pending_outbox(db), timeout=30, what="the restarted relay to publish everything"
        )
        assert await _stop_worker(worker, log) == 0, log.read_text()[-3000:]
        second_run = worker.pid

        # Exactly once: one effect per event, each handled by one run only, no handler started twice.
        per_job = Counter(r["job_id"] for r in await db.fetch("SELECT job_id FROM effects"))
        assert set(per_job) == set(job_ids)
        assert set(per_job.values()) == {1}
        assert await db.fetchval("SELECT count(*) FROM started") == EVENTS
        assert await db.fetchval("SELECT count(*) FROM effects WHERE pid = $1", second_run) == (
            EVENTS - handled_first
        )
        assert await db.fetchval("SELECT count(*) FROM inbox") == EVENTS
        assert await db.fetchval("SELECT count(*) FROM outbox") == EVENTS
        assert await db.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
        await db.close()

    # Every emitted event reached Kafka, once.
    relayed = await _read_all(kafka, contracts.KEYWORD_SCRAPE_REQUESTED)
    ids = Counter(headers_of(r.headers)["ce_id"] for r in relayed)
    assert set(ids) == {deterministic_id("scrape", j) for j in job_ids}
    assert set(ids.values()) == {1}

    conn = await asyncpg.connect(pg_url)
    await conn.execute(f"DROP SCHEMA {schema} CASCADE")
    await conn.close()


async def _no_pending_outbox(db: Any) -> bool:
    return bool(await db.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0)


async def _read_all(kafka: Any, logical: str) -> list[Any]:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(kafka.topic(logical), p) for p in range(kafka.partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        records: list[Any] = []
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            for recs in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(recs)
        return records
    finally:
        await consumer.stop()


if __name__ == "__main__":
    _worker_main(sys.argv[1:])
