"""The HTTP edge: what every request and response passes, including 404s and 405s that match no route.

Per request: a request id (``X-Request-ID``, accepted from the client when well-formed, bound to every log
line), a server span continuing the caller's W3C trace context, and early refusals as problem+json (413 when
``Content-Length`` exceeds the limit, 415 when a body is not JSON). Per response: security headers,
``X-Request-ID``, ``Server-Timing`` and ``X-Response-Time``, and the request metrics labelled by route
template. It wraps Litestar's router inside the app, so Litestar's exception handling still applies within.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterable
from typing import Any, Final

from opentelemetry import context as otel_context
from opentelemetry import trace

from etsygen_common.logging import log_context
from etsygen_common.telemetry import extract_context, tracer
from etsygen_gateway.api import problems
from etsygen_gateway.metrics import HTTP_REQUESTS, HTTP_SECONDS, child

Scope = dict[str, Any]
ASGIApp = Any

RESPONSE_HEADERS: Final = "response_headers"
"""Key in ``scope["state"]``: headers inner layers want on the response (rate-limit state, for one)."""
_REQUEST_ID: Final = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_BODY_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})

API_CSP: Final = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
DASHBOARD_CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
# The interactive API docs load their renderer from a CDN and use inline bootstrapping.
DOCS_CSP: Final = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://unpkg.com; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://unpkg.com "
    "https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; img-src 'self' data: https:; worker-src 'self' blob:; "
    "connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'"
)
PERMISSIONS_POLICY: Final = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), browsing-topics=()"


def security_headers(path: str, hsts_max_age: int) -> list[tuple[bytes, bytes]]:
    """Security headers for a response to ``path``."""
    if path.startswith("/dashboard"):
        csp = DASHBOARD_CSP
    elif path.startswith("/schema") and not path.endswith((".json", ".yaml", ".yml")):
        csp = DOCS_CSP
    else:
        csp = API_CSP
    headers = [
        (b"content-security-policy", csp.encode()),
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"permissions-policy", PERMISSIONS_POLICY.encode()),
    ]
    if csp != API_CSP:  # isolation headers matter for documents a browser renders, not for JSON
        headers += [
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"cross-origin-resource-policy", b"same-origin"),
        ]
    if hsts_max_age > 0:
        headers.append((b"strict-transport-security", f"max-age={hsts_max_age}; includeSubDomains".encode()))
    return headers


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


def _trace_headers(scope: Scope) -> dict[str, str]:
    """Only the W3C trace context headers (all a propagator reads)."""
    return {
        key.decode("latin-1"): value.decode("latin-1")
        for key, value in scope.get("headers", ())
        if key in (b"traceparent", b"tracestate")
    }


def _is_json(content_type: bytes | None) -> bool:
    if content_type is None:
        return False
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (media.startswith(b"application/") and media.endswith(b"+json"))


class EdgeMiddleware:
    """Pure ASGI middleware around Litestar's router (see module docstring)."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, hsts_max_age: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.hsts_max_age = hsts_max_age
        self._tracer = tracer("etsygen.gateway.http")
        # Computed once per kind of page: building them per response would cost more than sending them.
        self._headers = {
            kind: security_headers(path, hsts_max_age)
            for kind, path in (("api", "/v1"), ("dashboard", "/dashboard"), ("docs", "/schema"))
        }

    def _security_headers(self, path: str) -> list[tuple[bytes, bytes]]:
        if path.startswith("/dashboard"):
            return self._headers["dashboard"]
        if path.startswith("/schema") and not path.endswith((".json", ".yaml", ".yml")):
            return self._headers["docs"]
        return self._headers["api"]

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = ""
        if incoming:
            candidate = incoming.decode("latin-1")
            request_id = candidate if _REQUEST_ID.match(candidate) else ""
        request_id = request_id or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = log_context.set({**(log_context.get() or {}), "request_id": request_id})
        try:
            if scope["type"] == "websocket":
                await self.app(scope, receive, send)
            else:
                await self._http(scope, receive, send, request_id)
        finally:
            log_context.reset(token)

    async def _http(self, scope: Scope, receive: Any, send: Any, request_id: str) -> None:
        started = time.perf_counter()
        method = scope["method"]
        path = scope["path"]
        status_holder = [500]
        extra = [*self._security_headers(path), (b"x-request-id", request_id.encode())]
        no_store = path.startswith("/v1/")
        carrier = _trace_headers(scope)
        span = self._tracer.start_span(
            f"{method} {path}",
            context=extract_context(carrier) if carrier else None,
            kind=trace.SpanKind.SERVER,
        )
        span_token = otel_context.attach(trace.set_span_in_context(span))

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                elapsed_ms = (time.perf_counter() - started) * 1000
                headers = list(message.get("headers", ()))
                headers += extra
                headers += scope["state"].get(RESPONSE_HEADERS, ())
                timing = f"{elapsed_ms:.2f}"
                headers += [
                    (b"server-timing", f"app;dur={timing}".encode()),
                    (b"x-response-time", f"{timing}ms".encode()),
                ]
                if no_store and not any(k.lower() == b"cache-control" for k, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        refusal = self._refuse(scope, method)
        try:
            if refusal is not None:
                await self._send_problem(send_with_headers, refusal, path, request_id)
            else:
                await self.app(scope, receive, send_with_headers)
        finally:
            route = scope.get("path_template") or "unmatched"
            span.update_name(f"{method} {route}")
            span.set_attributes(
                {
                    "http.request.method": method,
                    "url.path": path,
                    "http.route": route,
                    "http.response.status_code": status_holder[0],
                }
            )
            span.end()
            otel_context.detach(span_token)
            child(HTTP_REQUESTS, route, method, str(status_holder[0])).inc()
            child(HTTP_SECONDS, route, method).observe(time.perf_counter() - started)

    def _refuse(self, scope: Scope, method: str) -> int | None:
        if method not in _BODY_METHODS:
            return None
        length_raw = _header(scope, b"content-length")
        chunked = _header(scope, b"transfer-encoding") is not None
        try:
            length = int(length_raw) if length_raw is not None else 0
        except ValueError:
            return 400
        if length > self.max_body_bytes:
            return 413
        if (length > 0 or chunked) and not _is_json(_header(scope, b"content-type")):
            return 415
        return None

    async def _send_problem(self, send: Any, status: int, path: str, request_id: str) -> None:
        detail = {
            400: "Content-Length is not a number",
            413: f"the request body is larger than {self.max_body_bytes} bytes",
            415: "send request bodies as application/json",
        }[status]
        body = problems.encode(problems.build(status, detail, instance=path, request_id=request_id))
        headers: Iterable[tuple[bytes, bytes]] = [
            (b"content-type", problems.PROBLEM_JSON.encode()),
            (b"content-length", str(len(body)).encode()),
        ]
        if status == 415:
            headers = [*headers, (b"accept-post", b"application/json")]
        await send({"type": "http.response.start", "status": status, "headers": list(headers)})
        await send({"type": "http.response.body", "body": body})
