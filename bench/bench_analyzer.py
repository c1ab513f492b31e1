"""Analyzer: keyword events scored and stored per second through the real service (issue 4).

    uv run --no-sync python bench/bench_analyzer.py [--events 1000] [--scoring-seconds 3]

End to end: the analyzer built by ``etsygen_analyzer.bootstrap.build_app`` consumes ``--events``
``ListingsScraped`` events (100 listings and 40 shops each, 90 distinct keywords so momentum reads a growing
history; the inputs of ``bench_scoring``) published to a Tansu broker; the clock runs from the first publish
until the last trend snapshot is committed. Baseline, same run, same events, own topics: an ``EventConsumer``
(same inbox, transaction and commit discipline) whose handler only inserts one row per event, run before and
after the analyzer (the baseline figure is the mean of the two, which evens out load on a shared machine).
Every side first handles a few warm-up events, so consumer-group joins are not timed. The process tunes its
garbage collector as ``etsygen run`` does for the analyzer (``settle_heap``) before the first side runs.
Target: rate >= 0.5 x baseline.

Also re-runs the pure scoring figure (``bench_scoring.main``: CPU time, one core, target 20,000 keywords/s)
before any service starts.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Sequence
from typing import Any

import asyncpg
import bench_scoring
from _support import (
    Result,
    bench_database,
    common_settings,
    emit_result,
    quiet_logging,
    redis_prefix,
    settle_like_a_service,
    tansu_broker,
    timed_phase,
    unique,
    wait_until,
)

from etsygen_analyzer.bootstrap import build_app
from etsygen_analyzer.settings import AnalyzerSection, AnalyzerSettings
from etsygen_common import contracts
from etsygen_common.db import create_pool
from etsygen_common.envelope import Envelope, wrap
from etsygen_common.kafka import EventConsumer, HandlerContext, KafkaPublisher, create_broker, ensure_topics
from etsygen_common.migrations import common_migrations_dir, migrate
from etsygen_common.settings import CommonSettings
from etsygen_common.telemetry import configure_tracing

TARGET_RATIO = 0.5
WARMUP = 10


def make_envelopes(count: int, first: int = 0) -> list[Envelope]:
    """``ListingsScraped`` events as the scraper's outbox would publish them."""
    return [
        wrap(bench_scoring.build_keyword_input(index)[0], source="scraper")
        for index in range(first, first + count)
    ]


async def baseline_rate(
    settings: CommonSettings, schema: str, warmup: Sequence[Envelope], events: Sequence[Envelope], conn: Any
) -> float:
    """An EventConsumer that decodes each event and inserts one row in the handler's transaction."""
    configure_tracing("bench-baseline", settings.telemetry)  # the provider every service installs
    await migrate(settings.postgres.url, schema, {"common": common_migrations_dir()})
    await conn.execute(
        f"CREATE TABLE {schema}.received (event_id text PRIMARY KEY, keyword text NOT NULL, "
        "listings integer NOT NULL)"
    )
    pool = await create_pool(settings.postgres, schema)
    broker = create_broker(settings.kafka, client_id=f"bench-{schema}")
    consumer = EventConsumer(
        broker,
        pool,
        settings.kafka,
        service="bench-baseline",
        group=f"bench-{schema}",
        publisher=KafkaPublisher(broker, settings.kafka),
    )

    async def insert_one(ctx: HandlerContext, event: contracts.ListingsScraped) -> None:
        await ctx.conn.execute(
            "INSERT INTO received (event_id, keyword, listings) VALUES ($1, $2, $3)",
            ctx.event_id,
            event.keyword,
            len(event.listings),
        )

    consumer.subscribe(contracts.LISTINGS_SCRAPED, contracts.ListingsScraped, insert_one)
    await ensure_topics(settings.kafka, consumer.topics)
    consumer.attach()
    await broker.start()
    try:

        async def count() -> int:
            return int(await conn.fetchval(f"SELECT count(*) FROM {schema}.received"))

        elapsed = await timed_phase(
            settings.kafka, warmup, events, count, "baseline: EventConsumer, one insert per event"
        )
        return len(events) / elapsed
    finally:
        await broker.stop()
        await pool.close()


async def analyzer_rate(
    settings: CommonSettings, warmup: Sequence[Envelope], events: Sequence[Envelope], conn: Any
) -> tuple[float, float, int]:
    """The real analyzer.

    Returns:
        (events/s until the last snapshot committed, seconds more until every TrendScored was relayed,
        relay transactions that published them).
    """
    runtime = build_app(AnalyzerSettings(common=settings, analyzer=AnalyzerSection()))
    await runtime.start(serve_http=False)
    try:

        async def count() -> int:
            return int(await conn.fetchval("SELECT count(*) FROM analyzer.trend_snapshots"))

        elapsed = await timed_phase(
            settings.kafka, warmup, events, count, "analyzer: scored, stored, outbox row"
        )
        stored_at = time.perf_counter()
        goal = len(warmup) + len(events)

        async def relayed() -> bool:
            sent = await conn.fetchval("SELECT count(*) FROM analyzer.outbox WHERE sent_at IS NOT NULL")
            return bool(sent >= goal)

        relay_lag = await wait_until(relayed, timeout=120, what="every TrendScored relayed") - stored_at
        missing = await conn.fetchval(
            "SELECT count(*) FROM analyzer.inbox i WHERE NOT EXISTS "
            "(SELECT 1 FROM analyzer.trend_snapshots s WHERE s.event_id = i.event_id)"
        )
        if missing:
            raise RuntimeError(f"{missing} events were handled without a snapshot")
        # Rows marked sent in one relay transaction share sent_at (now() is the transaction's start).
        batches = int(await conn.fetchval("SELECT count(DISTINCT sent_at) FROM analyzer.outbox"))
        return len(events) / elapsed, relay_lag, batches
    finally:
        await runtime.stop()


async def run(events: int) -> Result:
    warmup = make_envelopes(WARMUP, first=100_000)
    envelopes = make_envelopes(events)
    settle_like_a_service()
    print(f"{events} ListingsScraped events, 100 listings each, after {WARMUP} warm-up events per side")
    print("order: baseline, analyzer, baseline again (the baseline figure is the mean of the two)")
    async with bench_database() as pg_url, redis_prefix() as prefix:
        with tansu_broker() as tansu:
            conn = await asyncpg.connect(pg_url)
            try:

                async def baseline(schema: str) -> float:
                    settings = common_settings(pg_url, tansu.bootstrap, topic_prefix=unique("bb") + ".")
                    return await baseline_rate(settings, schema, warmup, envelopes, conn)

                first = await baseline("bench_baseline_1")
                settings = common_settings(
                    pg_url, tansu.bootstrap, key_prefix=prefix, topic_prefix=unique("ba") + "."
                )
                value, relay_lag, batches = await analyzer_rate(settings, warmup, envelopes, conn)
                second = await baseline("bench_baseline_2")
            finally:
                await conn.close()
    baseline_value = statistics.fmean([first, second])
    print(
        f"analyzer outbox: every TrendScored relayed {relay_lag:.2f}s after the last snapshot, "
        f"in {batches} relay transactions for {len(envelopes) + WARMUP} events (info)"
    )
    return Result(
        name="analyzer end to end",
        value=value,
        unit="events/s",
        baseline=baseline_value,
        baseline_label="EventConsumer inserting one row",
        target_on="ratio",
        op=">=",
        threshold=TARGET_RATIO,
        details={
            "events": events,
            "listings_per_event": 100,
            "baseline_runs_events_per_s": [first, second],
            "relay_lag_s": relay_lag,
            "relay_transactions": batches,
        },
    )


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--scoring-seconds", type=float, default=3.0)
    args = parser.parse_args(argv)
    quiet_logging()

    print("--- pure scoring (bench_scoring.main) ---")
    scoring = bench_scoring.main(["--seconds", str(args.scoring_seconds)])
    scoring_result = Result(
        name="analyzer pure scoring",
        value=float(scoring["scoring_per_s"]),
        unit="keywords/s",
        baseline=float(scoring["baseline_per_s"]),
        baseline_label="mean price only",
        target_on="value",
        op=">=",
        threshold=bench_scoring.TARGET_PER_SECOND,
        details={k: v for k, v in scoring.items() if k != "passed"},
    )
    emit_result(scoring_result)

    print("--- end to end through the analyzer service ---")
    service_result = asyncio.run(run(args.events))
    emit_result(service_result)
    return [scoring_result.to_json(), service_result.to_json()]


if __name__ == "__main__":
    main()
