"""OpenTelemetry tracing: the provider, the sampler, the resource, and library instrumentation (the Kafka
spans are in :mod:`etsygen_common.messaging_spans`).

One research job is one trace. The gateway's request span context is stored in the outbox row's headers
(``traceparent``/``tracestate``); the relay, later and in another task, starts a ``send {topic}`` producer
span as a child of that stored context and publishes the producer span's context as the Kafka headers;
every consumer starts ``process {topic}`` as a child of what it finds there, and the rows its handler writes
carry the consumer span's context on. Handing a failed record to a retry topic or the dead-letter topic is a
span event on the failing ``process`` span, and the record carries that span's context on, so the retry's
spans stay in the job's trace.

Tracing is on when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (or a test enables it with its own processor).
When it is off the provider is still installed, with a sampler that records nothing: spans are the SDK's
non-recording spans (a span id, no attributes, no processor), so trace and span ids still reach the logs and
the Kafka headers for correlation, and asyncpg, Redis and httpx are not instrumented at all, so a query, a
Redis command or an HTTP call costs what it did without OpenTelemetry.
"""

from __future__ import annotations

import importlib.metadata
import os
from collections.abc import Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import SpanKind

from etsygen_common.settings import TelemetrySettings

DEFAULT_ENVIRONMENT = "development"


class _Switch(Sampler):
    """The provider's sampler, which :func:`enable_tracing` switches from recording nothing to sampling.

    OpenTelemetry accepts one global provider per process, and tracers taken from it keep its sampler: the
    switch lets tracing be turned on after tracers exist (a test enabling it in a process whose runtimes
    started earlier) without replacing the provider.
    """

    def __init__(self) -> None:
        self.delegate: Sampler = ALWAYS_OFF

    def should_sample(
        self, parent_context: otel_context.Context | None, trace_id: int, name: str, *args: Any, **kwargs: Any
    ) -> SamplingResult:
        return self.delegate.should_sample(parent_context, trace_id, name, *args, **kwargs)

    def get_description(self) -> str:
        return self.delegate.get_description()


class _RootSampler(Sampler):
    """Decides for spans without a parent: a ratio of them, but never a client call.

    A database query, Redis command or HTTP call with no parent span is housekeeping outside any request or
    job (the relay polling the outbox, a health check): a one-span trace of it would bury the jobs' traces.
    """

    def __init__(self, ratio: float) -> None:
        self._ratio = TraceIdRatioBased(ratio)

    def should_sample(
        self,
        parent_context: otel_context.Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> SamplingResult:
        if kind is SpanKind.CLIENT:
            return SamplingResult(Decision.DROP)
        return self._ratio.should_sample(parent_context, trace_id, name, kind, *args, **kwargs)

    def get_description(self) -> str:
        return f"RootSampler{{{self._ratio.get_description()}, no client roots}}"


def job_sampler(ratio: float) -> Sampler:
    """Parent-based sampling: a new trace is kept with probability ``ratio``; every later span of it (in this
    service or, through the ``traceparent`` flags, in the next) follows that decision, so a job's trace is
    kept or dropped whole."""
    return ParentBased(root=_RootSampler(ratio))


_switch = _Switch()
_provider: TracerProvider | None = None
_enabled = False
_exporting = False
_instrumentors: list[Any] = []


def tracing_resource(service: str, settings: TelemetrySettings) -> Resource:
    """``service.name``, ``service.version`` and the deployment environment of ``service``'s spans.

    ``OTEL_RESOURCE_ATTRIBUTES`` is merged in (the SDK reads it); ``DEPLOYMENT_ENVIRONMENT`` overrides its
    environment, which defaults to ``development``. The environment goes out under the current semantic
    conventions' ``deployment.environment.name`` and the older ``deployment.environment`` that many
    backends still group by.
    """
    resource = Resource.create({"service.name": f"etsygen-{service}", "service.version": _version(service)})
    environment = (
        settings.deployment_environment
        or resource.attributes.get("deployment.environment.name")
        or resource.attributes.get("deployment.environment")
        or DEFAULT_ENVIRONMENT
    )
    return resource.merge(
        Resource({"deployment.environment.name": environment, "deployment.environment": environment})
    )


def _version(service: str) -> str:
    for distribution in (f"etsygen-{service}", "etsygen-common"):
        try:
            return importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "unknown"


def configure_tracing(service: str, settings: TelemetrySettings) -> None:
    """Install the process's tracer provider for ``service``; with an OTLP endpoint, turn tracing on and
    export over OTLP/HTTP in batches. A second call (several runtimes in one process) changes nothing."""
    global _exporting  # noqa: PLW0603 - the provider is process-global in OpenTelemetry itself
    _install(tracing_resource(service, settings))
    if settings.otlp_endpoint and not _exporting:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = settings.otlp_endpoint.rstrip("/") + "/v1/traces"
        enable_tracing(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)), ratio=settings.sample_ratio)
        _exporting = True


def _install(resource: Resource) -> TracerProvider:
    global _provider  # noqa: PLW0603 - see configure_tracing
    if _provider is None:
        _provider = TracerProvider(resource=resource, sampler=_switch)
        trace.set_tracer_provider(_provider)
    return _provider


def enable_tracing(processor: SpanProcessor, *, ratio: float = 1.0) -> None:
    """Record spans (a share ``ratio`` of new traces) into ``processor``, and instrument asyncpg, Redis and
    httpx. Tests call it with an in-memory exporter's processor; :func:`configure_tracing` with OTLP's."""
    global _enabled  # noqa: PLW0603 - see configure_tracing
    # A test may enable tracing before any runtime installed the provider.
    provider = _provider or _install(tracing_resource("test", TelemetrySettings()))
    provider.add_span_processor(processor)
    _switch.delegate = job_sampler(ratio)
    _enabled = True
    if not _instrumentors:
        # Database and HTTP client spans in the current, stable semantic conventions (db.system.name,
        # http.request.method, ...) unless the operator chose otherwise; the instrumentations read it once.
        os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", "database,http")
        from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
        from opentelemetry.instrumentation.redis import RedisInstrumentor

        asyncpg = AsyncPGInstrumentor()  # type: ignore[no-untyped-call]  # its __init__ has no annotations
        for instrumentor in (asyncpg, RedisInstrumentor(), HTTPXClientInstrumentor()):
            instrumentor.instrument(tracer_provider=provider)
            _instrumentors.append(instrumentor)


def disable_tracing() -> None:
    """Record nothing again and remove the library instrumentation (the end of a test that enabled it)."""
    global _enabled  # noqa: PLW0603 - see configure_tracing
    _switch.delegate = ALWAYS_OFF
    _enabled = False
    while _instrumentors:
        _instrumentors.pop().uninstrument()


def tracing_enabled() -> bool:
    """True while spans may be recorded (cheap: the hot paths ask it before building attributes)."""
    return _enabled


def flush_tracing(timeout_s: float = 5.0) -> None:
    """Export what is buffered (a stopping service), waiting at most ``timeout_s``."""
    if _provider is not None and tracing_enabled():
        _provider.force_flush(int(timeout_s * 1000))


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
    return propagate.extract(headers)
