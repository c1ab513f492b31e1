"""OpenTelemetry tracing: provider setup and W3C context carried through outbox rows and Kafka headers.

One research job is one trace: the gateway's request span context is stored in the outbox row's headers
(``traceparent``/``tracestate``), the relay publishes them as Kafka headers, and every consumer starts its
span as a child of the context it finds there, then stores its own context in the rows it writes.
"""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from etsygen_common.settings import TelemetrySettings

_configured = False


def configure_tracing(service: str, settings: TelemetrySettings) -> None:
    """Install a tracer provider for ``service``; export over OTLP/HTTP when an endpoint is configured."""
    global _configured  # noqa: PLW0603 - the provider is process-global in OpenTelemetry itself
    if _configured:
        return
    provider = TracerProvider(resource=Resource.create({"service.name": f"etsygen-{service}"}))
    if settings.otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = settings.otlp_endpoint.rstrip("/") + "/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    trace.set_tracer_provider(provider)
    _configured = True


def tracer(name: str) -> trace.Tracer:
    """Return a tracer for instrumentation scope ``name``."""
    return trace.get_tracer(name)


def inject_headers() -> dict[str, str]:
    """Return ``traceparent``/``tracestate`` of the current span (empty when there is none)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def extract_context(headers: Mapping[str, str]) -> otel_context.Context:
    """Build a parent context from ``traceparent``/``tracestate`` headers."""
    return propagate.extract(dict(headers))
