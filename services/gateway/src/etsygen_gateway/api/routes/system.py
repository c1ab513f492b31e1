"""Probes, the health summary and Prometheus metrics."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Response, get
from litestar.openapi.datastructures import ResponseSpec
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from etsygen_gateway.api import problems
from etsygen_gateway.api.routes.common import HealthChecks
from etsygen_gateway.domain.health import SystemHealth


class Liveness(msgspec.Struct, frozen=True, kw_only=True):
    """The process answers."""

    status: str
    service: str


class Readiness(msgspec.Struct, frozen=True, kw_only=True):
    """Whether the gateway should get traffic, and each dependency's state."""

    status: str
    service: str
    checks: dict[str, dict[str, Any]]


@get(
    "/health/live",
    opt={"rate": "none", "public": True},
    tags=["health"],
    security=[],
    responses={503: ResponseSpec(data_container=Liveness, description="The process is shutting down")},
)
async def live(health: HealthChecks) -> Response[Liveness]:
    """Liveness: 200 while the process runs, 503 while it shuts down."""
    body = Liveness(status="stopping" if health.stopping else "ok", service="gateway")
    return Response(body, status_code=503 if health.stopping else 200)


@get(
    "/health/ready",
    opt={"rate": "none", "public": True},
    tags=["health"],
    security=[],
    responses={
        503: ResponseSpec(data_container=Readiness, description="Postgres is unreachable or stopping")
    },
)
async def readiness(health: HealthChecks) -> Response[Readiness]:
    """Readiness: 200 when Postgres answers; Redis or Kafka down only degrade (reported, still 200)."""
    ok, report = await health.ready()
    degraded = any(c["status"] != "ok" for c in report.values())
    status = "ok" if ok and not degraded else ("degraded" if ok else "unavailable")
    return Response(
        Readiness(status=status, service="gateway", checks=report), status_code=200 if ok else 503
    )


@get(
    "/v1/health", opt={"requires": "read"}, tags=["health"], responses=problems.responses(401, 403, 429, 500)
)
async def health_summary(health: HealthChecks) -> SystemHealth:
    """The system's health score in [0, 1] and each component's state."""
    return await health.system_health()


@get(
    "/metrics",
    opt={"rate": "none", "public": True},
    tags=["health"],
    security=[],
    media_type=CONTENT_TYPE_LATEST,
    responses={
        200: ResponseSpec(
            data_container=str,
            media_type=CONTENT_TYPE_LATEST.split(";", 1)[0],
            description="Prometheus text exposition format",
            generate_examples=False,
        )
    },
)
async def metrics() -> Response[bytes]:
    """Prometheus exposition of this process's metrics."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
