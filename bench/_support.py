"""What every benchmark script shares: a throw-away database, a Tansu broker, settings, the RESULT line.

Each benchmark creates its own database (``bench_<random>``, dropped with ``FORCE`` at the end), its own
Tansu broker on a free port and its own Redis key prefix (deleted at the end), so runs never see each other's
data and leave nothing behind. Only 127.0.0.1 is contacted.

The runner (``python -m bench``) reads the last lines starting with ``RESULT `` from each script's output:
one JSON object per measured figure, written by :func:`emit_result`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import asyncpg

from etsygen_common.devstack import TansuBroker
from etsygen_common.envelope import Envelope
from etsygen_common.kafka import KafkaPublisher
from etsygen_common.logging import configure_logging
from etsygen_common.runtime import settle_heap
from etsygen_common.settings import (
    CommonSettings,
    KafkaSettings,
    OutboxSettings,
    PostgresSettings,
    RedisSettings,
    ServiceSettings,
    TelemetrySettings,
)

PG_SERVER_URL = os.environ.get("ETSYGEN_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("ETSYGEN_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
RESULT_PREFIX = "RESULT "


def quiet_logging() -> None:
    """Warnings and errors only, as console lines: the benchmark's own output stays readable."""
    configure_logging("bench", "WARNING", "console")


def settle_like_a_service() -> None:
    """Tune the garbage collector as ``etsygen run`` does in every service process (``runtime.settle_heap``
    with the default ``SERVICE_GC_THRESHOLD``). Benchmarks that run a service in their own process call it
    once their inputs are built and before the first measured side, so baseline and service share it."""
    settle_heap(ServiceSettings().gc_threshold)


def median_index(values: Sequence[float]) -> int:
    """Index of the median of ``values`` (the upper one of an even count): the round that decides a figure."""
    return sorted(range(len(values)), key=values.__getitem__)[len(values) // 2]


def unique(prefix: str) -> str:
    """A short unique identifier safe for database, schema, topic and key names."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@contextlib.asynccontextmanager
async def bench_database() -> AsyncIterator[str]:
    """Create ``bench_<random>`` on the local server; yield its DSN; drop it (even on failure)."""
    name = unique("bench")
    admin = await asyncpg.connect(PG_SERVER_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield f"{PG_SERVER_URL.rpartition('/')[0]}/{name}"
    finally:
        admin = await asyncpg.connect(PG_SERVER_URL)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@contextlib.contextmanager
def tansu_broker() -> Iterator[TansuBroker]:
    """A Tansu broker (memory storage) on a free port, stopped at the end."""
    broker = TansuBroker().start()
    try:
        yield broker
    finally:
        broker.stop()


@contextlib.asynccontextmanager
async def redis_prefix() -> AsyncIterator[str]:
    """A unique Redis key prefix; every key under it is deleted at the end."""
    from redis.asyncio import Redis

    prefix = unique("etsygen-bench") + ":"
    try:
        yield prefix
    finally:
        client = Redis.from_url(REDIS_URL)
        try:
            keys = [k async for k in client.scan_iter(match=f"{prefix}*", count=500)]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()


def common_settings(
    pg_url: str,
    bootstrap: str,
    *,
    key_prefix: str = "etsygen-bench:",
    topic_prefix: str = "",
    pool_max: int = 10,
    partitions: int = 6,
    outbox: OutboxSettings | None = None,
) -> CommonSettings:
    """Settings a service gets in a benchmark: local Postgres, Redis and Tansu, quiet logs, no tracing."""
    return CommonSettings(
        postgres=PostgresSettings(url=pg_url, pool_min=1, pool_max=pool_max),
        redis=RedisSettings(url=REDIS_URL, key_prefix=key_prefix),
        kafka=KafkaSettings(bootstrap_servers=bootstrap, topic_prefix=topic_prefix, partitions=partitions),
        telemetry=TelemetrySettings(log_level="WARNING", log_format="console"),
        outbox=outbox or OutboxSettings(),
        service=ServiceSettings(),
    )


async def wait_until(
    predicate: Callable[[], Awaitable[bool]],
    *,
    timeout: float,
    what: str,
    interval: float = 0.05,
) -> float:
    """Poll ``predicate`` until true and return ``perf_counter()`` then; TimeoutError at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        if await predicate():
            return time.perf_counter()
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}")
        await asyncio.sleep(interval)


@dataclass(frozen=True, slots=True)
class Result:
    """One measured figure against its baseline and target.

    ``target_on`` says which number the target applies to: the measured ``value`` or the ``ratio``
    (value / baseline); ``op`` and ``threshold`` make the comparison.
    """

    name: str
    value: float
    unit: str
    baseline: float | None
    baseline_label: str
    target_on: Literal["value", "ratio"]
    op: Literal[">=", "<"]
    threshold: float
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if not self.baseline:
            return None
        return self.value / self.baseline

    @property
    def passed(self) -> bool:
        subject = self.value if self.target_on == "value" else self.ratio
        if subject is None:
            return False
        return subject >= self.threshold if self.op == ">=" else subject < self.threshold

    @property
    def target(self) -> str:
        unit = f" {self.unit}" if self.target_on == "value" else ""
        return f"{self.target_on} {self.op} {self.threshold:g}{unit}"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(ratio=self.ratio, target=self.target, passed=self.passed)
        return data


def emit_result(result: Result) -> None:
    """Print the human summary line and the machine-readable ``RESULT {json}`` line."""
    ratio = f"{result.ratio:.2f}" if result.ratio is not None else "n/a"
    verdict = "PASS" if result.passed else "FAIL"
    baseline = f"{result.baseline:,.1f}" if result.baseline is not None else "n/a"
    print(
        f"{verdict}: {result.name} {result.value:,.1f} {result.unit} "
        f"(baseline {result.baseline_label}: {baseline}; ratio {ratio}; target {result.target})"
    )
    print(RESULT_PREFIX + json.dumps(result.to_json(), sort_keys=True), flush=True)


async def publish_all(kafka: KafkaSettings, envelopes: Sequence[Envelope]) -> None:
    """Publish ``envelopes`` with the library's publisher (acks=all) and wait for every acknowledgement."""
    publisher = KafkaPublisher(None, kafka, client_id="bench-source")
    try:
        await publisher.publish_batch(envelopes)
    finally:
        await publisher.close()


async def timed_phase(
    kafka: KafkaSettings,
    warmup: Sequence[Envelope],
    events: Sequence[Envelope],
    count_done: Callable[[], Awaitable[int]],
    label: str,
) -> float:
    """Consume ``warmup`` untimed (group join, first queries), then time ``events`` end to end.

    The clock starts before the first event of ``events`` is published and stops when ``count_done`` (a count
    of committed outcomes, warm-up included) first reaches every event. Returns the elapsed seconds.
    """
    await warm_up(kafka, warmup, count_done, label)
    return await timed_batch(kafka, events, count_done, len(warmup) + len(events), label)


async def warm_up(
    kafka: KafkaSettings,
    warmup: Sequence[Envelope],
    count_done: Callable[[], Awaitable[int]],
    label: str,
) -> None:
    """Publish ``warmup`` and wait until ``count_done`` counts it (untimed: group join, first queries)."""
    await publish_all(kafka, warmup)

    async def warmed() -> bool:
        return await count_done() >= len(warmup)

    await wait_until(warmed, timeout=120, what=f"{label}: warm-up events handled")


async def timed_batch(
    kafka: KafkaSettings,
    events: Sequence[Envelope],
    count_done: Callable[[], Awaitable[int]],
    goal: int,
    label: str,
) -> float:
    """Time ``events`` end to end: from before the first publish until ``count_done`` reaches ``goal`` (the
    outcomes committed so far, earlier batches included). Prints a line; returns the elapsed seconds."""

    async def done() -> bool:
        return await count_done() >= goal

    started = time.perf_counter()
    cpu_started = time.process_time()
    await publish_all(kafka, events)
    published = time.perf_counter() - started
    finished = await wait_until(
        done, timeout=600, what=f"{label}: {len(events)} events handled", interval=0.02
    )
    elapsed = finished - started
    cpu = time.process_time() - cpu_started
    print(
        f"{label:<46} {len(events) / elapsed:9,.1f} events/s "
        f"({len(events)} in {elapsed:.2f}s; publishing took {published:.2f}s; "
        f"this process used {cpu:.2f} CPU s, {cpu / len(events) * 1000:.2f} ms per event)"
    )
    return elapsed
