"""The service runtime: what every service's ``build_app(settings)`` returns and ``etsygen run`` drives.

Start: logging and tracing, the Postgres pool and migrations of the service's schema, Redis, topic creation,
the broker and its subscribers, the outbox relay, the HTTP server (health and metrics, or the gateway's
API). Stop (SIGTERM/SIGINT): stop consuming, let in-flight handlers finish, flush the relay, close pools.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import socket
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from faststream.kafka import KafkaBroker

from etsygen_common.broker_watch import BrokerLoss, BrokerWatch
from etsygen_common.catalogue import initialise
from etsygen_common.contracts.keywords import Stage
from etsygen_common.db import create_pool
from etsygen_common.health import Check, HealthApp
from etsygen_common.kafka import EventConsumer, KafkaPublisher, create_broker, ensure_topics
from etsygen_common.late import Late
from etsygen_common.logging import configure_logging, get_logger
from etsygen_common.migrations import migrate_service
from etsygen_common.outbox import OutboxRelay
from etsygen_common.redis_client import create_redis
from etsygen_common.settings import CommonSettings
from etsygen_common.telemetry import configure_tracing, flush_tracing

log = get_logger(__name__)

Hook = Callable[["ServiceRuntime"], Awaitable[None]]
LossHook = Callable[[BrokerLoss], Awaitable[None]]


@dataclass
class ServiceRuntime:
    """One running service: its resources, its consumers and its lifecycle."""

    name: str
    settings: CommonSettings
    migrations_dir: Path
    default_port: int
    group: str | None = None
    waiting_stage: Stage | None = None
    """The pipeline stage this service is: its consumer then tells the gateway why a keyword waits."""
    broker: KafkaBroker = field(init=False)
    publisher: KafkaPublisher = field(init=False)
    consumer: EventConsumer | None = field(init=False, default=None)
    pool: Any = field(init=False, default=None)
    late_pool: Late = field(init=False, default_factory=lambda: Late("Postgres pool"))
    """The pool for parts built before start (the consumer, the gateway's services); bound by start."""
    redis: Any = field(init=False, default=None)
    relay: OutboxRelay | None = field(init=False, default=None)
    asgi_app: Any = None
    extra_checks: dict[str, Check] = field(default_factory=dict)
    extra_topics: list[str] = field(default_factory=list)
    on_start: list[Hook] = field(default_factory=list)
    on_stop: list[Hook] = field(default_factory=list)
    on_broker_loss: list[LossHook] = field(default_factory=list)
    """Run after the service recovered its Kafka clients from a broker that lost records."""
    _watch: BrokerWatch | None = field(init=False, default=None)
    _recovering: asyncio.Lock = field(init=False, default_factory=asyncio.Lock)
    _server: uvicorn.Server | None = field(init=False, default=None)
    _server_task: asyncio.Task[None] | None = field(init=False, default=None)
    _stopping: bool = field(init=False, default=False)
    _started: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        instance = self.settings.service.instance or f"{socket.gethostname()}-{os.getpid()}"
        self.broker = create_broker(
            self.settings.kafka,
            client_id=f"etsygen-{self.name}-{instance}",
            graceful_timeout=self.settings.service.shutdown_grace_s,
        )
        self.publisher = KafkaPublisher(
            self.broker, self.settings.kafka, client_id=f"etsygen-{self.name}-{instance}"
        )
        if self.group is not None:
            self.consumer = EventConsumer(
                self.broker,
                self.late_pool,
                self.settings.kafka,
                service=self.name,
                group=self.group,
                publisher=self.publisher,
                waiting_stage=self.waiting_stage,
            )

    @property
    def schema(self) -> str:
        """The service's own Postgres schema."""
        return self.name

    @property
    def port(self) -> int:
        """Port of the HTTP server."""
        return self.settings.service.port or self.default_port

    def checks(self) -> dict[str, Check]:
        """Readiness checks: Postgres, Redis, Kafka, and the service's own."""

        async def postgres() -> None:
            async with self.pool.acquire() as conn:
                await conn.fetchval("SELECT 1")

        async def redis() -> None:
            await self.redis.ping()

        async def kafka() -> None:
            if not await self.broker.ping(timeout=2.0):
                raise ConnectionError("Kafka broker did not answer")

        return {"postgres": postgres, "redis": redis, "kafka": kafka, **self.extra_checks}

    async def migrate(self) -> list[str]:
        """Apply the service's migrations."""
        return await migrate_service(self.settings.postgres.url, self.schema, self.migrations_dir)

    async def start(self, *, serve_http: bool = True) -> None:
        """Start every part; raise if a dependency is unreachable."""
        telemetry = self.settings.telemetry
        configure_tracing(self.name, telemetry)
        initialise(self.name)
        await self.migrate()
        self.pool = await create_pool(
            self.settings.postgres, self.schema, application_name=f"etsygen-{self.name}"
        )
        self.late_pool.bind(self.pool)
        self.redis = create_redis(self.settings.redis)
        topics = list(self.extra_topics) + (self.consumer.topics if self.consumer else [])
        if topics:
            await ensure_topics(self.settings.kafka, topics)
        if self.consumer is not None:
            self.consumer.attach()
        await self.broker.start()
        self.relay = OutboxRelay(
            self.pool, self.schema, self.publisher, self.settings.outbox, service=self.name
        )
        self.relay.start()
        for hook in self.on_start:
            await hook(self)
        if self.settings.kafka.broker_watch_s > 0:
            self._watch = BrokerWatch(
                self.settings.kafka,
                self.late_pool.get,
                service=self.name,
                interval_s=self.settings.kafka.broker_watch_s,
                on_loss=self._broker_lost_records,
            )
            self._watch.start()
        if serve_http:
            app = self.asgi_app or HealthApp(self.name, self.checks(), live=lambda: not self._stopping)
            config = uvicorn.Config(
                app,
                host=self.settings.service.host,
                port=self.port,
                log_config=None,
                access_log=False,
                lifespan="on",
            )
            self._server = _QuietServer(config)
            self._server_task = asyncio.create_task(self._server.serve())
        self._started = True
        log.info("service started", extra={"port": self.port if serve_http else None})

    async def stop(self) -> None:
        """Graceful shutdown: stop consuming, finish in-flight work, flush the outbox, close everything."""
        if self._stopping:
            return
        self._stopping = True
        grace = self.settings.service.shutdown_grace_s
        # Stop fetching new records; the consumer finishes the record it is handling, commits what its batch
        # has done and leaves the rest of the batch to be fetched again.
        if self._watch is not None:
            await _bounded(self._watch.stop(), grace, "the broker watch")
        await self._stop_consuming(grace)
        if self.consumer is not None:
            self.consumer.cancel_timers()
        for hook in self.on_stop:
            with contextlib.suppress(Exception):
                await _bounded(hook(self), grace, "a stop hook")
        if self.relay is not None:
            await self.relay.stop(flush=True, timeout=grace)
        await _bounded(self.broker.stop(), grace, "the Kafka consumer")
        await _bounded(self.publisher.close(), grace, "the Kafka producer")
        if self._server is not None:
            self._server.should_exit = True
            if self._server_task is not None:
                await _bounded(self._server_task, 5, "the HTTP server")
        # close() waits for every connection to be released; one that never is must not hold the stop.
        if self.pool is not None and not await _bounded(self.pool.close(), grace, "the Postgres pool"):
            self.pool.terminate()
        if self.redis is not None:
            await _bounded(self.redis.aclose(), grace, "the Redis client")
        # The exporter sends in batches: what the last seconds recorded goes out before the process ends.
        await asyncio.to_thread(flush_tracing)
        log.info("service stopped")

    async def _stop_consuming(self, grace: float) -> None:
        """Stop fetching and let in-flight handlers finish; the consumer commits what its batch has done and
        leaves the rest of the batch to be fetched again."""
        if self.consumer is not None:
            self.consumer.stop_taking_records()
        for sub in list(self.broker.subscribers):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(sub.stop(), grace)
        if self.consumer is not None:
            await self.consumer.drain(grace)

    async def _broker_lost_records(self, loss: BrokerLoss) -> None:
        """The broker lost records (restarted empty, topics recreated): its topics, the group's offsets and
        the consumer's positions are gone or wrong, and a consumer left as it is keeps committing to topics
        that no longer exist. Stop consuming, re-create the topics and start the Kafka clients again: with no
        committed offsets on the new broker the group reads every partition from its start (the inbox skips
        what was applied already). Then the service's own hooks run (the gateway re-drives keywords)."""
        async with self._recovering:
            log.warning(
                "the broker lost records: re-creating topics and restarting the Kafka consumer",
                extra={"detail": loss.explanation},
            )
            await self._stop_consuming(self.settings.service.shutdown_grace_s)
            with contextlib.suppress(Exception):
                await self.broker.stop()
            topics = list(self.extra_topics) + (self.consumer.topics if self.consumer else [])
            if topics:
                await ensure_topics(self.settings.kafka, topics)
            # The hooks only write (the gateway's re-drives go through its outbox), so they need not wait for
            # the consumer's group join, which takes seconds on Tansu.
            try:
                for hook in self.on_broker_loss:
                    await hook(loss)
            finally:
                if self.consumer is not None:
                    self.consumer.resume_taking_records()
                await self.broker.start()
            log.warning("recovered from the broker's loss", extra={"detail": loss.explanation})

    async def run_forever(self) -> None:
        """Start, wait for SIGTERM or SIGINT, then stop gracefully."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await self.start()
        # The process is this service's alone (tests that start runtimes in their own process do not come
        # here), so the collector can be tuned for it.
        settle_heap(self.settings.service.gc_threshold)
        try:
            await stop.wait()
        finally:
            await self.stop()


def settle_heap(young_threshold: int) -> None:
    """Tune the cyclic garbage collector for a long-running process whose start-up is done.

    Start-up leaves some 10^5 long-lived objects (modules, the app and its routes, schemas, clients). Python's
    full collections walk every one of them, and a busy service triggers a couple a second, because
    objects of in-flight requests and records get promoted on their way through the young generations
    before they die. In the gateway benchmark those walks were 13 % of the server's CPU, 55 ms each.

    So: collect once, freeze what is left into the permanent generation the collector skips (it stays
    reachable and counted by reference as before), and run young collections every ``young_threshold``
    allocations instead of every 700. Garbage cycles made later are still found; nothing frozen is
    garbage, since start-up's leftovers were just collected. ``young_threshold`` 0 changes nothing.
    """
    if young_threshold <= 0:
        return
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(young_threshold, middle, old)
    log.info("heap settled", extra={"frozen_objects": gc.get_freeze_count(), "gc_threshold": young_threshold})


class _QuietServer(uvicorn.Server):
    """uvicorn server that leaves signal handling to the runtime (which stops consumers first)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def setup_process(name: str, settings: CommonSettings) -> None:
    """Configure logging for a service process (called once by the CLI)."""
    configure_logging(name, settings.telemetry.log_level, settings.telemetry.log_format)


async def _bounded(step: Awaitable[object], seconds: float, what: str) -> bool:
    """Await one shutdown step for at most ``seconds``; False (and a warning) when it failed or timed out.

    A stop must end: a dependency that is gone (the broker lost, a connection never released) is logged and
    left behind, so the process exits and the orchestrator's restart takes over.
    """
    try:
        await asyncio.wait_for(step, max(seconds, 1.0))
    except TimeoutError:
        log.warning("shutdown step timed out; going on", extra={"step": what, "seconds": seconds})
        return False
    except Exception as exc:
        log.warning("shutdown step failed; going on", extra={"step": what, "error": repr(exc)})
        return False
    return True
