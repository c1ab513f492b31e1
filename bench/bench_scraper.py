"""Scraper: listings normalised and stored per second, and peak memory over a 100-keyword job (issue 3).

    uv run --no-sync python bench/bench_scraper.py [--rows 50000] [--rounds 3] [--keywords 100]

(a) Store throughput. Raw listings (``ShopListingWithAssociations`` plus windowed reviews) are fetched once
from the in-process marketplace simulator with the real ``EtsyClient``, the same calls the fetcher makes, then
replicated under distinct listing ids to ``--rows`` rows. Measured: ``normalize.listing_samples`` plus
``repository.insert_listing_snapshots`` in batches of 100 (one keyword's worth, one transaction each, as the
handler does) into the migrated, partitioned ``scraper.listing_snapshots``. Baseline, same run: asyncpg
``copy_records_to_table`` of the same rows, already built, in the same batches, into an unpartitioned table
with the same columns and no indexes. Target: rate >= 0.3 x baseline.

(b) Peak memory. The real scraper (``etsygen_scraper.bootstrap.build_app``) runs in a child process against
the simulator (in this process) and a Tansu broker; two ``ResearchRequested`` of 50 keywords each (the
contract's cap) ask for 100 catalogue keywords. When 100 ``ListingsScraped`` rows of the scraper's outbox
are marked sent, the child's peak RSS (``VmHWM``) is read. Baseline: the child's RSS right after start.
Target: peak < 200 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import psutil
from _support import (
    Result,
    bench_database,
    common_settings,
    emit_result,
    quiet_logging,
    redis_prefix,
    tansu_broker,
    unique,
    wait_until,
)

from etsygen_common import contracts
from etsygen_common.db import create_pool
from etsygen_common.envelope import wrap
from etsygen_common.kafka import KafkaPublisher, create_broker
from etsygen_common.settings import PostgresSettings
from etsygen_scraper.adapters import repository
from etsygen_scraper.adapters.etsy_client import EtsyClient
from etsygen_scraper.bootstrap import MIGRATIONS, build_app
from etsygen_scraper.domain.etsy_models import EtsyListing, ReviewWindow
from etsygen_scraper.domain.normalize import listing_samples
from etsygen_scraper.settings import EtsySettings, ScraperSection, ScraperSettings
from etsygen_simulators.etsy import BUILT_IN_PROFILES, SimulatorConfig, running_simulator

STORE_TARGET_RATIO = 0.3
PEAK_TARGET_MB = 200.0
BATCH = 100  # one keyword's listings: what the handler stores per transaction
SAMPLE_KEYWORDS = 6
TOP_N_REVIEWS = 20
API_KEY = "benchkey:benchsecret"
ETSY_PER_SECOND = 500  # the simulator allows the same; Etsy's real limit (10/s) would make this a wait test
MAX_KEYWORDS_PER_JOB = 50
MB = 1024 * 1024


def simulator_config() -> SimulatorConfig:
    return SimulatorConfig(per_second=ETSY_PER_SECOND, per_day=1_000_000)


def catalogue_keywords(count: int) -> list[str]:
    """The simulator's built-in keywords, then derived variants of them (each a distinct niche)."""
    built_in = [profile.keyword for profile in BUILT_IN_PROFILES]
    keywords = list(built_in)
    for modifier in ("handmade", "custom", "vintage", "personalised", "minimalist"):
        keywords.extend(f"{modifier} {keyword}" for keyword in built_in)
    return list(dict.fromkeys(keywords))[:count]


# --- (a) store throughput ------------------------------------------------------------------------------


async def fetch_raw_listings(
    base_url: str, keywords: Sequence[str]
) -> tuple[list[EtsyListing], dict[int, Any]]:
    """What the fetcher reads per keyword: a search page, the batch enrichment, the top listings' reviews."""
    listings: list[EtsyListing] = []
    reviews: dict[int, ReviewWindow] = {}
    window_end = int(time.time())
    async with EtsyClient(API_KEY, base_url=base_url, per_second=ETSY_PER_SECOND) as client:
        for keyword in keywords:
            page = await client.search_active(keyword, limit=BATCH)
            batch = await client.get_listings_batch([listing.listing_id for listing in page.results])
            listings.extend(batch.results)
            for listing in batch.results[:TOP_N_REVIEWS]:
                reviews[listing.listing_id] = await client.count_reviews(
                    listing.listing_id, window_end - 30 * 86_400, window_end
                )
    return listings, reviews


def replicate(
    listings: Sequence[EtsyListing], reviews: dict[int, ReviewWindow], rows: int, first_id: int
) -> tuple[list[list[EtsyListing]], dict[int, ReviewWindow]]:
    """``rows`` raw listings in batches of 100 under distinct ids, with their review windows re-keyed."""
    batches: list[list[EtsyListing]] = []
    windows: dict[int, ReviewWindow] = {}
    for start in range(0, rows, BATCH):
        batch = []
        for offset in range(min(BATCH, rows - start)):
            index = start + offset
            source = listings[index % len(listings)]
            listing_id = first_id + index
            batch.append(msgspec.structs.replace(source, listing_id=listing_id))
            window = reviews.get(source.listing_id)
            if window is not None:
                windows[listing_id] = msgspec.structs.replace(window, listing_id=listing_id)
        batches.append(batch)
    return batches, windows


def copy_record(sample: Any, run_id: str, keyword: str, observed_at: datetime) -> tuple[Any, ...]:
    """One row in ``listing_snapshots`` column order, as the baseline's COPY sends it."""
    return (
        sample.listing_id,
        observed_at.date(),
        observed_at,
        run_id,
        keyword,
        sample.shop_id,
        sample.title,
        round(sample.price.amount, 2),
        sample.price.currency,
        sample.tags,
        sample.taxonomy_id,
        sample.num_favorers,
        sample.views,
        datetime.fromtimestamp(sample.created_at, UTC) if sample.created_at else None,
        sample.reviews_in_window,
        sample.rating,
    )


COPY_COLUMNS = [c.strip() for c in repository._LISTING_COLUMNS.split(",")]


async def store_round(
    pool: Any, raw: list[EtsyListing], reviews: dict[int, ReviewWindow], rows: int, first_id: int
) -> tuple[float, float, float]:
    """One round: the service path, then the COPY baseline, over the same rows.

    Returns:
        (service rows/s, COPY rows/s in batches of 100, COPY rows/s in one statement).
    """
    batches, windows = replicate(raw, reviews, rows, first_id)
    observed_at = datetime.now(UTC)
    run_id = "00000000-0000-4000-8000-000000000001"
    keyword = "bench keyword"
    stored = 0
    started = time.perf_counter()
    async with pool.acquire() as conn:
        for batch in batches:
            async with conn.transaction():
                samples = listing_samples(batch, windows)
                stored += await repository.insert_listing_snapshots(
                    conn, run_id, keyword, observed_at, samples
                )
    service_rate = rows / (time.perf_counter() - started)
    if stored != rows:
        raise RuntimeError(f"stored {stored} of {rows} rows: listing ids or days collided")

    records = [
        [copy_record(sample, run_id, keyword, observed_at) for sample in listing_samples(batch, windows)]
        for batch in batches
    ]
    async with pool.acquire() as conn:
        await conn.execute("TRUNCATE copy_baseline")
        started = time.perf_counter()
        for batch_records in records:
            async with conn.transaction():
                await conn.copy_records_to_table("copy_baseline", records=batch_records, columns=COPY_COLUMNS)
        copy_rate = rows / (time.perf_counter() - started)
        await conn.execute("TRUNCATE copy_baseline")
        flat = [record for batch_records in records for record in batch_records]
        started = time.perf_counter()
        await conn.copy_records_to_table("copy_baseline", records=flat, columns=COPY_COLUMNS)
        bulk_rate = rows / (time.perf_counter() - started)
    return service_rate, copy_rate, bulk_rate


async def store_throughput(rows: int, rounds: int) -> Result:
    async with bench_database() as pg_url:
        await migrate_scraper(pg_url)
        pool = await create_pool(PostgresSettings(url=pg_url, pool_min=1, pool_max=2), "scraper")
        try:
            async with pool.acquire() as conn:
                await repository.ensure_partitions(conn)
                await conn.execute("CREATE TABLE copy_baseline (LIKE listing_snapshots)")
            async with running_simulator(simulator_config()) as sim:
                raw, reviews = await fetch_raw_listings(sim.base_url, catalogue_keywords(SAMPLE_KEYWORDS))
            print(
                f"(a) {len(raw)} raw listings from the simulator ({len(reviews)} with review windows), "
                f"replicated to {rows:,} rows per round, batches of {BATCH}, {rounds} rounds (median)"
            )
            await store_round(pool, raw, reviews, 2 * BATCH, first_id=1)  # warm up both paths
            service, copied, bulk = [], [], []
            for round_no in range(rounds):
                s, c, b = await store_round(pool, raw, reviews, rows, first_id=(round_no + 1) * 10_000_000)
                print(
                    f"round {round_no + 1}: normalise+insert_listing_snapshots {s:9,.0f} rows/s | "
                    f"COPY per batch {c:9,.0f} rows/s | one COPY {b:9,.0f} rows/s (info)"
                )
                service.append(s)
                copied.append(c)
                bulk.append(b)
        finally:
            await pool.close()
    value, baseline = statistics.median(service), statistics.median(copied)
    return Result(
        name="scraper store",
        value=value,
        unit="rows/s",
        baseline=baseline,
        baseline_label="asyncpg COPY, same batches, unpartitioned",
        target_on="ratio",
        op=">=",
        threshold=STORE_TARGET_RATIO,
        details={
            "rows": rows,
            "batch": BATCH,
            "rounds": rounds,
            "service_rows_per_s": service,
            "copy_per_batch_rows_per_s": copied,
            "copy_single_statement_rows_per_s": statistics.median(bulk),
        },
    )


async def migrate_scraper(pg_url: str) -> None:
    from etsygen_common.migrations import migrate_service

    await migrate_service(pg_url, "scraper", MIGRATIONS)


# --- (b) peak memory of the service ---------------------------------------------------------------------


def scraper_settings(args: argparse.Namespace) -> ScraperSettings:
    return ScraperSettings(
        common=common_settings(
            args.pg_url, args.bootstrap, key_prefix=args.redis_prefix, topic_prefix=args.topic_prefix
        ),
        etsy=EtsySettings(api_key=API_KEY, base_url=args.etsy_url, per_second=ETSY_PER_SECOND),
        scraper=ScraperSection(top_n_reviews=TOP_N_REVIEWS),
    )


async def serve_scraper(args: argparse.Namespace) -> None:
    """Child mode: run the scraper until stdin closes, says ``stop`` or SIGTERM arrives."""
    quiet_logging()
    runtime = build_app(scraper_settings(args))
    await runtime.start(serve_http=False)
    print("READY", flush=True)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    line_task = asyncio.ensure_future(reader.readline())
    stop_task = asyncio.ensure_future(stop.wait())
    await asyncio.wait({line_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
    for task in (line_task, stop_task):
        task.cancel()
    await runtime.stop()


def peak_rss(pid: int) -> int:
    """``VmHWM`` of a process: the most resident memory it has had, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc status")


async def peak_memory(keyword_count: int, timeout: float) -> Result:
    keywords = catalogue_keywords(keyword_count)
    if len(keywords) < keyword_count:
        raise RuntimeError(f"only {len(keywords)} distinct catalogue keywords")
    async with (
        bench_database() as pg_url,
        redis_prefix() as prefix,
        running_simulator(simulator_config()) as sim,
    ):
        with tansu_broker() as tansu:
            topic_prefix = unique("bs") + "."
            child = await asyncio.create_subprocess_exec(
                sys.executable,
                __file__,
                "--serve-scraper",
                "--pg-url",
                pg_url,
                "--bootstrap",
                tansu.bootstrap,
                "--etsy-url",
                sim.base_url,
                "--redis-prefix",
                prefix,
                "--topic-prefix",
                topic_prefix,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
            assert child.stdin is not None
            assert child.stdout is not None
            try:
                line = await asyncio.wait_for(child.stdout.readline(), 60)
                if line.strip() != b"READY":
                    raise RuntimeError(f"scraper child did not start: {line!r}")
                process = psutil.Process(child.pid)
                start_rss = process.memory_info().rss
                print(f"(b) scraper child {child.pid} started: RSS {start_rss / MB:.1f} MB")

                kafka = common_settings(pg_url, tansu.bootstrap, topic_prefix=topic_prefix).kafka
                broker = create_broker(kafka, client_id="bench-scraper-jobs")
                await broker.start()
                conn = await asyncpg.connect(pg_url)
                sampled_peak = start_rss
                try:
                    started = time.perf_counter()
                    publisher = KafkaPublisher(broker, kafka)
                    for job, start in enumerate(range(0, keyword_count, MAX_KEYWORDS_PER_JOB)):
                        await publisher.publish(
                            wrap(
                                contracts.ResearchRequested(
                                    job_id=f"bench-job-{job}",
                                    owner_id="bench",
                                    keywords=keywords[start : start + MAX_KEYWORDS_PER_JOB],
                                    listing_budget=100,
                                ),
                                source="bench",
                            )
                        )

                    async def relayed() -> bool:
                        nonlocal sampled_peak
                        sampled_peak = max(sampled_peak, process.memory_info().rss)
                        if child.returncode is not None:
                            raise RuntimeError(f"scraper child exited with {child.returncode}")
                        sent = await conn.fetchval(
                            "SELECT count(*) FROM scraper.outbox WHERE topic = $1 AND sent_at IS NOT NULL",
                            contracts.LISTINGS_SCRAPED,
                        )
                        return bool(sent >= keyword_count)

                    finished = await wait_until(
                        relayed,
                        timeout=timeout,
                        what=f"{keyword_count} ListingsScraped relayed",
                        interval=0.1,
                    )
                    elapsed = finished - started
                    job_peak = peak_rss(child.pid)
                    end_rss = process.memory_info().rss
                    ok_runs = await conn.fetchval(
                        "SELECT count(*) FROM scraper.scrape_runs WHERE status = 'ok'"
                    )
                    snapshots = await conn.fetchval("SELECT count(*) FROM scraper.listing_snapshots")
                finally:
                    await conn.close()
                    await broker.stop()
                child.stdin.write(b"stop\n")
                await child.stdin.drain()
                await asyncio.wait_for(child.stdout.read(), 60)
                await asyncio.wait_for(child.wait(), 30)
            finally:
                if child.returncode is None:
                    child.kill()
                    await child.wait()
    stats = sim.stats()
    print(
        f"{keyword_count} keywords scraped and relayed in {elapsed:.1f}s: {ok_runs} ok runs, "
        f"{snapshots:,} listing snapshots, {stats['requests']:,} simulator requests "
        f"({stats['rejected_429']} answered 429)"
    )
    print(
        f"child RSS: {start_rss / MB:.1f} MB after start, {end_rss / MB:.1f} MB at the end, "
        f"peak (VmHWM) {job_peak / MB:.1f} MB, sampled peak {sampled_peak / MB:.1f} MB"
    )
    if ok_runs != keyword_count:
        raise RuntimeError(f"only {ok_runs} of {keyword_count} keywords were scraped successfully")
    return Result(
        name="scraper peak RSS",
        value=job_peak / MB,
        unit="MB",
        baseline=start_rss / MB,
        baseline_label="RSS right after start",
        target_on="value",
        op="<",
        threshold=PEAK_TARGET_MB,
        details={
            "keywords": keyword_count,
            "jobs": -(-keyword_count // MAX_KEYWORDS_PER_JOB),
            "seconds": elapsed,
            "listing_snapshots": snapshots,
            "end_rss_mb": end_rss / MB,
            "sampled_peak_mb": sampled_peak / MB,
        },
    )


async def run(args: argparse.Namespace) -> list[Result]:
    store = await store_throughput(args.rows, args.rounds)
    emit_result(store)
    memory = await peak_memory(args.keywords, args.timeout)
    emit_result(memory)
    return [store, memory]


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keywords", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=240.0, help="longest wait for the 100-keyword job")
    child = parser.add_argument_group("child mode (internal)")
    child.add_argument("--serve-scraper", action="store_true", help=argparse.SUPPRESS)
    child.add_argument("--pg-url", help=argparse.SUPPRESS)
    child.add_argument("--bootstrap", help=argparse.SUPPRESS)
    child.add_argument("--etsy-url", help=argparse.SUPPRESS)
    child.add_argument("--redis-prefix", help=argparse.SUPPRESS)
    child.add_argument("--topic-prefix", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_scraper:
        asyncio.run(serve_scraper(args))
        return []
    quiet_logging()
    results = asyncio.run(run(args))
    return [result.to_json() for result in results]


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
