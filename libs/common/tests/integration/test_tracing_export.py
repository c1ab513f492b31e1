"""With ``OTEL_EXPORTER_OTLP_ENDPOINT`` set, a service exports its spans over OTLP/HTTP, named by its service.

The service is a child process (the tracer provider is process-global, and this is how a service starts it);
the collector is a small HTTP server in this test that decodes what arrives with the OTLP protobuf types.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

pytestmark = pytest.mark.integration

SERVICE = """
import os
from opentelemetry.trace import SpanKind
from etsygen_common.settings import TelemetrySettings
from etsygen_common.telemetry import configure_tracing, flush_tracing, tracer

configure_tracing("scraper", TelemetrySettings.from_env(os.environ))
spans = tracer("etsygen.test")
with spans.start_as_current_span("POST /v1/jobs", kind=SpanKind.SERVER):
    with spans.start_as_current_span("INSERT", kind=SpanKind.CLIENT):
        pass
spans.start_span("SELECT", kind=SpanKind.CLIENT).end()  # a query outside any request: no trace of its own
flush_tracing()
"""


@pytest.fixture
def collector() -> Iterator[tuple[str, list[ExportTraceServiceRequest]]]:
    received: list[ExportTraceServiceRequest] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.path == "/v1/traces":
                received.append(ExportTraceServiceRequest.FromString(body))
            self.send_response(200 if self.path == "/v1/traces" else 404)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            del args

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def test_a_service_exports_its_spans_over_otlp_with_its_name_version_and_environment(
    collector: tuple[str, list[ExportTraceServiceRequest]],
) -> None:
    endpoint, received = collector
    env = {
        **os.environ,
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "DEPLOYMENT_ENVIRONMENT": "staging",
        "OTEL_RESOURCE_ATTRIBUTES": "k8s.namespace.name=etsygen",
    }
    done = subprocess.run(
        [sys.executable, "-c", SERVICE], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr

    resources = [rs for request in received for rs in request.resource_spans]
    assert resources, "nothing was exported"
    attributes = {a.key: a.value.string_value for a in resources[0].resource.attributes}
    assert attributes["service.name"] == "etsygen-scraper"
    assert attributes["service.version"] == "0.1.0"
    assert attributes["deployment.environment"] == "staging"
    assert attributes["k8s.namespace.name"] == "etsygen"
    spans = [span for rs in resources for scope in rs.scope_spans for span in scope.spans]
    by_name = {span.name: span for span in spans}
    assert sorted(by_name) == ["INSERT", "POST /v1/jobs"]
    assert by_name["INSERT"].parent_span_id == by_name["POST /v1/jobs"].span_id
