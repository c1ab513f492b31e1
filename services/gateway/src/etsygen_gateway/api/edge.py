"""The HTTP edge: what every request and response passes, including 404s and 405s that match no route.

Per request: a request id (``X-Request-ID``, accepted from the client when well-formed, bound to every log
line), a server span continuing the caller's W3C trace context, and early refusals as problem+json (413 when
``Content-Length`` exceeds the limit, 415 when a body is not JSON). Per response: security headers,
``X-Request-ID``, ``Server-Timing`` and ``X-Response-Time``, and the request metrics labelled by route
template. It wraps Litestar's router inside the app, so Litestar's exception handling still applies within.

The span is named ``METHOD route-template`` (as the HTTP semantic conventions name server spans, so the name
carries method and route) and gets the attributes the name does not carry: ``http.response.status_code``,
and ``url.path`` when the path differs from its template (it holds ids, or matched no route). Attribute
cleaning is most of what the OpenTelemetry SDK spends on a span beyond creating it; this layer runs on
every request.
"""

from __future__ import annotations

import itertools
import os
import re
import time
from collections.abc import Iterable
from typing import Any, Final

from opentelemetry import context as otel_context
from opentelemetry import trace

from etsygen_common.logging import log_context
from etsygen_common.telemetry import extract_context, tracer
from etsygen_gateway.api import problems
from etsygen_gateway.metrics import RequestSeries

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
# The interactive API docs (api/docs.py): Swagger UI's files and start script come from the gateway, and its
# "Try it out" calls the API on the same origin; data: images are the stylesheet's icons.
DOCS_CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
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


def _is_json(content_type: bytes | None) -> bool:
    if content_type is None:
        return False
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (media.startswith(b"application/") and media.endswith(b"+json"))


_SERVER: Final = trace.SpanKind.SERVER
_CONNECTIONS: Final = frozenset({"http", "websocket"})
_EDGE_HEADERS: Final = frozenset({b"x-request-id", b"traceparent", b"tracestate"})
_NO_STORE: Final = (b"cache-control", b"no-store")


class EdgeMiddleware:
    """Pure ASGI middleware around Litestar's router (see module docstring).

    It runs on every request, so what it can prepare once it prepares once: the security header lines per
    kind of page, and the metric children per route, method and status.
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, hsts_max_age: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.hsts_max_age = hsts_max_age
        self._tracer = tracer("etsygen.gateway.http")
        self._headers = {
            kind: security_headers(path, hsts_max_age)
            for kind, path in (("api", "/v1"), ("dashboard", "/dashboard"), ("docs", "/schema"))
        }
        self._api_headers = self._headers["api"]
        self._series: dict[tuple[str, str, int], RequestSeries] = {}
        # Request ids: 64 random bits per process and a counter, 32 hex digits like uuid4().hex, unique
        # across processes without a system call per request.
        self._id_prefix = os.urandom(8).hex()
        self._ids = itertools.count(1)

    def _security_headers(self, path: str) -> list[tuple[bytes, bytes]]:
        if path.startswith("/dashboard"):
            return self._headers["dashboard"]
        if path.startswith("/schema") and not path.endswith((".json", ".yaml", ".yml")):
            return self._headers["docs"]
        return self._headers["api"]

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind not in _CONNECTIONS:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # One pass over the request headers: the client's request id (kept when well-formed, else a new
        # one) and the W3C trace context.
        request_id = ""
        carrier = None
        for key, value in scope["headers"]:
            if key in _EDGE_HEADERS:
                if key == b"x-request-id":
                    candidate = value.decode("latin-1")
                    if _REQUEST_ID.match(candidate):
                        request_id = candidate
                else:
                    if carrier is None:
                        carrier = {}
                    carrier[key.decode("latin-1")] = value.decode("latin-1")
        if not request_id:
            request_id = f"{self._id_prefix}{next(self._ids):016x}"
        state = scope.get("state")
        if state is None:
            state = scope["state"] = {}
        state["request_id"] = request_id
        context = log_context.get()
        log_token = log_context.set(
            {**context, "request_id": request_id} if context else {"request_id": request_id}
        )
        if kind == "websocket":
            try:
                await self.app(scope, receive, send)
            finally:
                log_context.reset(log_token)
            return

        method = scope["method"]
        path = scope["path"]
        status = 500
        no_store = path.startswith("/v1/")  # the API, where most requests go
        static = self._api_headers if no_store else self._security_headers(path)
        rid = (b"x-request-id", request_id.encode())
        parent = extract_context(carrier) if carrier else otel_context.get_current()
        name = f"{method} {path}"  # final when the path is its own template (most routes have no ids)
        span = self._tracer.start_span(name, context=parent, kind=_SERVER)
        span_token = otel_context.attach(trace.set_span_in_context(span, parent))

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                nonlocal status
                status = message["status"]
                timing = b"%.2f" % ((time.perf_counter() - started) * 1000)
                own = message.get("headers", ())
                headers = [*own, *static, rid, *state.get(RESPONSE_HEADERS, ())]
                headers.append((b"server-timing", b"app;dur=" + timing))
                headers.append((b"x-response-time", timing + b"ms"))
                # Only the response's own headers can hold a Cache-Control: the ones added here do not.
                if no_store:
                    for name, _ in own:
                        if name.lower() == b"cache-control":
                            break
                    else:
                        headers.append(_NO_STORE)
                message = {**message, "headers": headers}
            await send(message)

        try:
            refusal = self._refuse(scope, method) if method in _BODY_METHODS else None
            if refusal is None:
                await self.app(scope, receive, send_with_headers)
            else:
                await self._send_problem(send_with_headers, refusal, path, request_id)
        finally:
            route = scope.get("path_template") or "unmatched"
            # The name says the method and route (as the HTTP semantic conventions name server spans); the
            # attributes add what it does not: the status, and the concrete path where it has ids in it.
            span.set_attribute("http.response.status_code", status)
            if path != route:
                span.update_name(f"{method} {route}")
                span.set_attribute("url.path", path)
            span.end()
            otel_context.detach(span_token)
            log_context.reset(log_token)
            series = self._series.get((route, method, status))
            if series is None:
                series = self._series[route, method, status] = RequestSeries(route, method, status)
            series.record(time.perf_counter() - started)

    def _refuse(self, scope: Scope, method: str) -> int | None:
        """Why a request with a body is refused before it is read (400, 413, 415), or None."""
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
