"""Analyzer: keyword events scored and stored per second through the real service (issue 4).

    uv run --no-sync python bench/bench_analyzer.py [--events 1000] [--rounds 3] [--scoring-seconds 3]

End to end: the analyzer built by ``etsygen_analyzer.bootstrap.build_app`` consumes ``ListingsScraped`` events
(100 listings and 40 shops each, 90 distinct keywords so momentum reads a growing history; the inputs of
``bench_scoring``) published to a Tansu broker; a batch's clock runs from its first publish until its last
trend snapshot is committed. Baseline, same run, same events, own topics: an ``EventConsumer`` (same inbox,
transaction and commit discipline) whose handler only inserts one row per event. Both run in this process
(which publishes too) side by side, each after a few untimed warm-up events (so consumer-group joins are not
timed), and get ``--rounds`` alternating batches of ``--events`` events: baseline, analyzer, baseline,
analyzer... Each round gives a ratio (analyzer rate / baseline rate); the figure is the median round, so one
disturbed round on a shared machine does not decide. The process tunes its garbage collector as
``etsygen run`` does for the analyzer (``settle_heap``) before the first batch. Target: ratio >= 0.5.

Also re-runs the pure scoring figure (``bench_scoring.main``: CPU time, one core, target 20,000 keywords/s)
before any service starts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import asyncpg
import bench_scoring
from _support import (
    Result,
    bench_database,
    common_settings,
    emit_result,
    median_index,
    quiet_logging,
    redis_prefix,
    settle_like_a_service,
    tansu_broker,
    timed_batch,
    unique,
    wait_until,
    warm_up,
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


@contextlib.asynccontextmanager
async def baseline_consumer(
    settings: CommonSettings, schema: str, conn: Any
) -> AsyncIterator[Callable[[], Awaitable[int]]]:
    """An EventConsumer that decodes each event and inserts one row in the handler's transaction.

    Yields the count of events it has handled.
    """
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

    async def count() -> int:
        return int(await conn.fetchval(f"SELECT count(*) FROM {schema}.received"))

    try:
        yield count
    finally:
        await broker.stop()
        await pool.close()


@contextlib.asynccontextmanager
async def analyzer_service(
    settings: CommonSettings, conn: Any
) -> AsyncIterator[Callable[[], Awaitable[int]]]:
    """The real analyzer; yields the count of trend snapshots it has committed."""
    runtime = build_app(AnalyzerSettings(common=settings, analyzer=AnalyzerSection()))
    await runtime.start(serve_http=False)

    async def count() -> int:
        return int(await conn.fetchval("SELECT count(*) FROM analyzer.trend_snapshots"))

    try:
        yield count
    finally:
        await runtime.stop()


async def check_analyzer_outputs(conn: Any, goal: int, stored_at: float) -> tuple[float, int]:
    """Every handled event has its snapshot and every TrendScored was relayed.

    Returns:
        (seconds from ``stored_at`` until the last TrendScored was relayed, relay transactions used).
    """

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
    return relay_lag, batches


async def run(events: int, rounds: int) -> Result:
    warmup = make_envelopes(WARMUP, first=100_000)
    # Each round's events are new events (new ids: the inboxes would skip repeats) with the same inputs.
    batches = [make_envelopes(events) for _ in range(rounds)]
    settle_like_a_service()
    print(
        f"{rounds} rounds of {events} ListingsScraped events (100 listings each) per side, "
        f"after {WARMUP} warm-up events per side; each round times the baseline, then the analyzer"
    )
    baseline_rates: list[float] = []
    analyzer_rates: list[float] = []
    async with bench_database() as pg_url, redis_prefix() as prefix:
        with tansu_broker() as tansu:
            conn = await asyncpg.connect(pg_url)
            try:
                base_settings = common_settings(pg_url, tansu.bootstrap, topic_prefix=unique("bb") + ".")
                settings = common_settings(
                    pg_url, tansu.bootstrap, key_prefix=prefix, topic_prefix=unique("ba") + "."
                )
                base_label = "baseline: EventConsumer, one insert per event"
                label = "analyzer: scored, stored, outbox row"
                async with (
                    baseline_consumer(base_settings, "bench_baseline", conn) as base_count,
                    analyzer_service(settings, conn) as count,
                ):
                    await warm_up(base_settings.kafka, warmup, base_count, base_label)
                    await warm_up(settings.kafka, warmup, count, label)
                    for number, batch in enumerate(batches, start=1):
                        goal = WARMUP + number * events
                        base = await timed_batch(base_settings.kafka, batch, base_count, goal, base_label)
                        baseline_rates.append(events / base)
                        elapsed = await timed_batch(settings.kafka, batch, count, goal, label)
                        analyzer_rates.append(events / elapsed)
                        print(f"  round {number}: ratio {analyzer_rates[-1] / baseline_rates[-1]:.2f}")
                    stored_at = time.perf_counter()
                    relay_lag, relay_batches = await check_analyzer_outputs(
                        conn, WARMUP + rounds * events, stored_at
                    )
            finally:
                await conn.close()
    ratios = [a / b for a, b in zip(analyzer_rates, baseline_rates, strict=True)]
    middle = median_index(ratios)
    print(
        f"analyzer outbox: every TrendScored relayed {relay_lag:.2f}s after the last snapshot, "
        f"in {relay_batches} relay transactions for {rounds * events + WARMUP} events (info)"
    )
    print(f"round ratios {', '.join(f'{r:.2f}' for r in ratios)}; the median round ({middle + 1}) decides")
    return Result(
        name="analyzer end to end",
        value=analyzer_rates[middle],
        unit="events/s",
        baseline=baseline_rates[middle],
        baseline_label="EventConsumer inserting one row",
        target_on="ratio",
        op=">=",
        threshold=TARGET_RATIO,
        details={
            "events_per_round": events,
            "listings_per_event": 100,
            "round_ratios": ratios,
            "baseline_events_per_s": baseline_rates,
            "analyzer_events_per_s": analyzer_rates,
            "relay_lag_s": relay_lag,
            "relay_transactions": relay_batches,
        },
    )


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=1000, help="events per side and round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (the median decides)")
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
    service_result = asyncio.run(run(args.events, args.rounds))
    emit_result(service_result)
    return [scoring_result.to_json(), service_result.to_json()]


if __name__ == "__main__":
    main()
