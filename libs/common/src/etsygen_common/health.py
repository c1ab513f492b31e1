"""Health and metrics endpoints served next to each FastStream app.

``/health/live`` answers while the process runs; ``/health/ready`` runs every dependency check (Postgres,
Redis, Kafka, plus any the service adds) with a timeout and answers 503 naming what failed; ``/metrics`` is
the Prometheus exposition. A bare ASGI app keeps the worker services free of a web framework.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from etsygen_common.metrics import READY

Check = Callable[[], Awaitable[object]]
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class HealthReport(msgspec.Struct, frozen=True, kw_only=True):
    """Result of the readiness checks."""

    status: str
    service: str
    checks: dict[str, dict[str, Any]]


async def run_checks(service: str, checks: dict[str, Check], timeout: float = 2.0) -> HealthReport:
    """Run every check concurrently, each bounded by ``timeout``."""

    async def one(check: Check) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            await asyncio.wait_for(check(), timeout)
        except Exception as exc:
            return {
                "ok": False,
                "error": f"{type(exc).__name__}: {exc}"[:300],
                "ms": round((time.perf_counter() - started) * 1000, 1),
            }
        return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}

    names = list(checks)
    results = await asyncio.gather(*(one(checks[n]) for n in names))
    report = dict(zip(names, results, strict=True))
    ok = all(r["ok"] for r in results)
    READY.labels(service).set(1 if ok else 0)
    return HealthReport(status="ok" if ok else "unavailable", service=service, checks=report)


class HealthApp:
    """Minimal ASGI app: /health/live, /health/ready, /metrics."""

    def __init__(
        self, service: str, checks: dict[str, Check], live: Callable[[], bool] | None = None
    ) -> None:
        self.service = service
        self.checks = checks
        self._live = live or (lambda: True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        path = scope["path"]
        if path == "/health/live":
            alive = self._live()
            await _respond(
                send,
                200 if alive else 503,
                {"status": "ok" if alive else "stopping", "service": self.service},
            )
        elif path == "/health/ready":
            report = await run_checks(self.service, self.checks)
            await _respond(send, 200 if report.status == "ok" else 503, report)
        elif path == "/metrics":
            await _raw(send, 200, generate_latest(), CONTENT_TYPE_LATEST)
        else:
            await _respond(
                send,
                404,
                {"type": "about:blank", "title": "Not Found", "status": 404},
                "application/problem+json",
            )


async def _respond(send: Send, status: int, body: object, ctype: str = "application/json") -> None:
    await _raw(send, status, msgspec.json.encode(body), ctype)


async def _raw(send: Send, status: int, body: bytes, ctype: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", ctype.encode()), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
