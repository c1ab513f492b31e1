"""Structured JSON logs: one object per line with service, trace id, span id, request id and job id.

``LOG_FORMAT=console`` (which ``etsygen dev`` sets) prints one readable line per record instead.

Context (job id, request id) travels in :data:`log_context`, a ContextVar, so a handler sets it once and
every line it logs carries it. Trace and span ids come from the current OpenTelemetry span.
"""

from __future__ import annotations

import logging
import re
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
            "logger": logger_name(record),
            "msg": _plain(record.getMessage()),
        }
        data.update(_trace_ids())
        data.update(_fields(record))
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return msgspec.json.encode(data, enc_hook=str).decode()


class ConsoleFormatter(logging.Formatter):
    """Human-readable lines for local development: ``service level logger: message key=value ...``.

    One line per record (a traceback follows it, indented). The service comes first, in a fixed-width
    column, so the lines of several services in one console (``etsygen dev``) line up and can be told apart.
    """

    def format(self, record: logging.LogRecord) -> str:
        tail = " ".join(f"{k}={_console_value(v)}" for k, v in _fields(record).items())
        message = _one_line(_plain(record.getMessage()))
        line = f"{_service:<9} {record.levelname[:4]:<4} {logger_name(record)}: {message} {tail}".rstrip()
        if record.exc_info:
            line += "\n" + "\n".join("    " + t for t in self.formatException(record.exc_info).splitlines())
        return line


_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
# uvicorn adds ``color_message``, the message again with terminal colour codes, to its records.
_DROPPED = frozenset({"color_message"})
# uvicorn logs its server's whole lifecycle, not only errors, under ``uvicorn.error``.
_LOGGER_NAMES = {"uvicorn.error": "uvicorn"}


def logger_name(record: logging.LogRecord) -> str:
    """The name a record is shown under (``uvicorn`` for ``uvicorn.error``)."""
    return _LOGGER_NAMES.get(record.name, record.name)


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    """The log context and the record's extras, without escape codes."""
    fields: dict[str, Any] = dict(log_context.get() or {})
    fields.update(
        {
            k: _plain(v) if isinstance(v, str) else v
            for k, v in vars(record).items()
            if k not in _STD_ATTRS and k not in _DROPPED and not k.startswith("_")
        }
    )
    return fields


def _plain(text: str) -> str:
    return _ANSI.sub("", text)


def _one_line(text: str) -> str:
    return text.replace("\r", "").replace("\n", "\\n")


def _console_value(value: Any) -> str:
    text = _one_line(_plain(str(value)))
    if text == "" or any(c.isspace() or c in '="' for c in text):
        return msgspec.json.encode(text).decode()
    return text


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
    quiet = ["aiokafka", "faststream", "uvicorn.access", "httpx"]
    if fmt != "json":
        # A person reads this: uvicorn's start and stop lines (and its "Press CTRL+C to quit", once per
        # process) repeat what the runtime's "service started" and "etsygen dev"'s ready line say.
        quiet.append("uvicorn.error")
    for noisy in quiet:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))


def get_logger(name: str) -> logging.Logger:
    """Return a standard logger; formatting is configured once by :func:`configure_logging`."""
    return logging.getLogger(name)
