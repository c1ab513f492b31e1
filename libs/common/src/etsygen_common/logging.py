"""Structured JSON logs: one object per line with service, trace id, span id, request id and job id.

Context (job id, request id) travels in :data:`log_context`, a ContextVar, so a handler sets it once and
every line it logs carries it. Trace and span ids come from the current OpenTelemetry span.
"""

from __future__ import annotations

import logging
import sys
import time
from contextvars import ContextVar
from typing import Any

import msgspec

log_context: ContextVar[dict[str, str] | None] = ContextVar("etsygen_log_context", default=None)
_service: str = "etsygen"

_STD_ATTRS = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime", "taskName"}


def bind(**values: str | None) -> None:
    """Add values (job_id, request_id, ...) to the log context of the current task."""
    current = dict(log_context.get() or {})
    current.update({k: v for k, v in values.items() if v is not None})
    log_context.set(current)


class JsonFormatter(logging.Formatter):
    """Formats records as single-line JSON objects."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": _service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        data.update(_trace_ids())
        data.update(log_context.get() or {})
        data.update({k: v for k, v in vars(record).items() if k not in _STD_ATTRS and not k.startswith("_")})
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return msgspec.json.encode(data, enc_hook=str).decode()


class ConsoleFormatter(logging.Formatter):
    """Human-readable lines for local development."""

    def format(self, record: logging.LogRecord) -> str:
        extras = {**(log_context.get() or {})}
        extras.update(
            {k: v for k, v in vars(record).items() if k not in _STD_ATTRS and not k.startswith("_")}
        )
        tail = " ".join(f"{k}={v}" for k, v in extras.items())
        line = f"{record.levelname[:4]} {_service:<9} {record.name}: {record.getMessage()} {tail}".rstrip()
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _trace_ids() -> dict[str, str]:
    from opentelemetry import trace

    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return {}
    return {"trace_id": f"{ctx.trace_id:032x}", "span_id": f"{ctx.span_id:016x}"}


def configure_logging(service: str, level: str = "INFO", fmt: str = "json") -> None:
    """Send every log record to stderr as JSON (or console lines) tagged with ``service``."""
    global _service  # noqa: PLW0603 - one process serves one service; set once at start
    _service = service
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else ConsoleFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiokafka", "faststream", "uvicorn.access", "httpx"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))


def get_logger(name: str) -> logging.Logger:
    """Return a standard logger; formatting is configured once by :func:`configure_logging`."""
    return logging.getLogger(name)
