"""The gateway's composition root: the service runtime, the API, the projections and the dead-letter store."""

from __future__ import annotations

import asyncio
from pathlib import Path

from etsygen_common import contracts
from etsygen_common.broker_watch import BrokerLoss
from etsygen_common.logging import get_logger
from etsygen_common.runtime import ServiceRuntime
from etsygen_gateway.api.app import create_app
from etsygen_gateway.gateway import Gateway
from etsygen_gateway.handlers import (
    GROUP,
    DeadLetterStore,
    Projections,
    subscribe_dead_letters,
    subscribe_projections,
)
from etsygen_gateway.metrics import SERVICE
from etsygen_gateway.service_layer.operations import system_health
from etsygen_gateway.service_layer.stalls import pace_of, redrive_after_broker_loss, sweep_stalled
from etsygen_gateway.settings import GatewaySettings

log = get_logger(__name__)

DEFAULT_PORT = 8000
MIGRATIONS = Path(__file__).parent / "migrations"
HEALTH_GAUGE_S = 15.0
"""How often the health score gauge is refreshed without a /v1/health request (a scrape interval)."""


def load_settings() -> GatewaySettings:
    """Read the gateway's settings from the environment."""
    return GatewaySettings.from_env()


def wire(settings: GatewaySettings) -> tuple[ServiceRuntime, Gateway]:
    """Build the runtime and the gateway's parts, wired together (``build_app`` without hiding the parts)."""
    runtime = ServiceRuntime(
        name=SERVICE,
        settings=settings.common,
        migrations_dir=MIGRATIONS,
        default_port=DEFAULT_PORT,
        group=GROUP,
    )
    gw = Gateway(settings)
    gw.bind(lambda: runtime.pool, lambda: runtime.redis)

    async def kafka_check() -> None:
        if not await runtime.broker.ping(timeout=2.0):
            raise ConnectionError("Kafka broker did not answer")

    gw.kafka_check = kafka_check
    assert runtime.consumer is not None
    subscribe_projections(runtime.consumer, Projections(gw))
    subscribe_dead_letters(runtime.broker, settings.common.kafka, DeadLetterStore(gw))
    runtime.extra_topics.extend(
        [
            contracts.RESEARCH_REQUESTED,
            contracts.PUBLISH_REQUESTED,
            contracts.TRENDS_SCORED,
            contracts.DEADLETTER,
        ]
    )

    async def broker_lost_records(loss: BrokerLoss) -> None:
        # Work in flight may be gone with the broker's records: every unfinished keyword is re-driven now,
        # not after the stall timeout; stages that had finished answer from their stored outputs.
        await redrive_after_broker_loss(runtime.pool, loss.explanation)

    runtime.on_broker_loss.append(broker_lost_records)
    runtime.asgi_app = create_app(gw)

    sweeper: list[asyncio.Task[None]] = []

    async def sweep_forever() -> None:
        g = settings.gateway
        while True:
            await asyncio.sleep(g.stall_sweep_s)
            try:
                await sweep_stalled(runtime.pool, pace=pace_of(g), max_redrives=g.stall_max_redrives)
            except Exception as exc:  # the next sweep tries again; a broken sweep must not stop the gateway
                log.warning("stalled-keyword sweep failed", extra={"error": repr(exc)})

    async def score_forever() -> None:
        while True:
            try:
                await system_health(gw)  # sets etsygen_gateway_health_score
            except Exception as exc:  # the score is a report; failing to compute it must not stop the gateway
                log.warning("health score refresh failed", extra={"error": repr(exc)})
            await asyncio.sleep(HEALTH_GAUGE_S)

    async def start(_: ServiceRuntime) -> None:
        await gw.start()
        sweeper.append(asyncio.create_task(sweep_forever(), name="stalled-keyword-sweep"))
        sweeper.append(asyncio.create_task(score_forever(), name="health-score"))

    async def stop(_: ServiceRuntime) -> None:
        for task in sweeper:
            task.cancel()
        await gw.stop()

    runtime.on_start.append(start)
    runtime.on_stop.append(stop)
    return runtime, gw


def build_app(settings: GatewaySettings) -> ServiceRuntime:
    """Wire the gateway: API (Litestar), projections consumer, dead-letter subscriber, outbox relay."""
    runtime, _ = wire(settings)
    return runtime
