"""Typed settings read from the environment (and an optional ``.env`` file).

Each concern has one section, a frozen msgspec Struct whose fields map to environment variables: the field
``bootstrap_servers`` of :class:`KafkaSettings` is read from ``KAFKA_BOOTSTRAP_SERVERS``. A field may name its
variable explicitly with ``Annotated[..., env("DATABASE_URL")]``. Every field carries a one-line description,
which ``etsygen config template`` turns into ``.env.template``.

A missing or invalid value raises :class:`SettingsError`, whose message names the variable and the expected
form; the CLI prints it and exits with status 2.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, ClassVar, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

import msgspec

_T = TypeVar("_T", bound="SettingsSection")


class SettingsError(ValueError):
    """A setting is missing or invalid. The message names the variable and the expected form."""


def env(name: str, description: str, **constraints: Any) -> msgspec.Meta:
    """Name the environment variable of a field explicitly and describe it."""
    return msgspec.Meta(description=description, extra={"env": name}, **constraints)


def doc(description: str, **constraints: Any) -> msgspec.Meta:
    """Describe a field whose variable name is derived from the section prefix."""
    return msgspec.Meta(description=description, **constraints)


class SettingsSection(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every settings section; subclasses set ``env_prefix``."""

    env_prefix: ClassVar[str] = ""

    @classmethod
    def variables(cls) -> list[tuple[str, str, str, Any]]:
        """Return ``(field, variable, description, default)`` for every field."""
        hints = get_type_hints(cls, include_extras=True)
        out: list[tuple[str, str, str, Any]] = []
        info = msgspec.structs.fields(cls)
        for field in info:
            var, description = cls.env_prefix + field.name.upper(), ""
            for meta in _metas(hints[field.name]):
                if meta.extra and "env" in meta.extra:
                    var = meta.extra["env"]
                if meta.description:
                    description = meta.description
            default = field.default if field.default is not msgspec.NODEFAULT else None
            out.append((field.name, var, description, default))
        return out

    @classmethod
    def from_env(cls: type[_T], environ: Mapping[str, str] | None = None) -> _T:
        """Build the section from ``environ`` (default: the process environment plus ``.env``).

        Raises:
            SettingsError: a variable is missing or does not convert to the field's type.
        """
        environ = load_environ() if environ is None else environ
        raw: dict[str, Any] = {}
        names: dict[str, str] = {}
        for field, var, _, _ in cls.variables():
            names[field] = var
            if var in environ and environ[var] != "":
                raw[field] = _coerce(environ[var], cls, field)
        try:
            return msgspec.convert(raw, cls, strict=False)
        except msgspec.ValidationError as exc:
            raise SettingsError(_explain(str(exc), names, cls)) from None


def _metas(tp: Any) -> list[msgspec.Meta]:
    if get_origin(tp) is Annotated:
        return [m for m in get_args(tp)[1:] if isinstance(m, msgspec.Meta)]
    return []


def _coerce(value: str, cls: type[SettingsSection], field: str) -> Any:
    """Turn comma-separated strings into lists for list-typed fields."""
    tp = get_type_hints(cls, include_extras=True)[field]
    if get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    if get_origin(tp) in (list, tuple):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _explain(message: str, names: dict[str, str], cls: type[SettingsSection]) -> str:
    match = re.search(r"at `\$\.(\w+)`", message)
    field = match.group(1) if match else None
    if field is None:
        missing = re.search(r"missing required field `(\w+)`", message)
        field = missing.group(1) if missing else None
    detail = re.sub(r" - at `\$\.\w+`", "", message)
    if field is None:
        return f"{cls.__name__}: {message}"
    var = names.get(field, field.upper())
    form = _expected_form(cls, field)
    if "missing required field" in message:
        return f"{var} is not set; expected {form}"
    return f"{var} is invalid ({detail}); expected {form}"


def _expected_form(cls: type[SettingsSection], field: str) -> str:
    tp = get_type_hints(cls, include_extras=True)[field]
    description = ""
    for meta in _metas(tp):
        description = meta.description or description
    return f"{_describe_type(tp)}: {description}".rstrip(": ")


def _describe_type(tp: Any) -> str:
    """``int (ge 1)``, ``one of 'a', 'b'``, ``float (gt 0) or unset``: the form a value must take."""
    constraints = [
        f"{key} {getattr(meta, key)}"
        for meta in _metas(tp)
        for key in ("ge", "gt", "le", "lt", "pattern", "min_length")
        if getattr(meta, key) is not None
    ]
    base = get_args(tp)[0] if get_origin(tp) is Annotated else tp
    if get_origin(base) is Literal:
        kind = "one of " + ", ".join(repr(a) for a in get_args(base))
    elif get_origin(base) in (Union, UnionType):
        kind = " or ".join("unset" if a is type(None) else _describe_type(a) for a in get_args(base))
    else:
        kind = getattr(base, "__name__", str(base))
    return f"{kind} ({', '.join(constraints)})" if constraints else kind


def load_environ(dotenv: Path | None = None) -> dict[str, str]:
    """Return the process environment, with values from ``.env`` filling unset variables."""
    values: dict[str, str] = {}
    path = dotenv or Path(os.environ.get("ETSYGEN_ENV_FILE", ".env"))
    if path.is_file():
        from dotenv import dotenv_values

        values.update({k: v for k, v in dotenv_values(path).items() if v is not None})
    values.update(os.environ)
    return values


# --- sections ---------------------------------------------------------------------------------------------


class PostgresSettings(SettingsSection, frozen=True, kw_only=True):
    """PostgreSQL connection of one service."""

    env_prefix: ClassVar[str] = "DATABASE_"
    url: Annotated[
        str,
        env("DATABASE_URL", "PostgreSQL DSN, e.g. postgresql://postgres@127.0.0.1:5432/etsygen"),
        msgspec.Meta(pattern=r"^postgres(ql)?://"),
    ]
    pool_min: Annotated[int, doc("Minimum connections kept open in the pool", ge=0)] = 1
    pool_max: Annotated[int, doc("Maximum connections in the pool", ge=1)] = 10
    statement_timeout_ms: Annotated[int, doc("Statement timeout for every connection, in ms", ge=0)] = 30_000


class RedisSettings(SettingsSection, frozen=True, kw_only=True):
    """Redis connection (rate limits, caches, coordination)."""

    env_prefix: ClassVar[str] = "REDIS_"
    url: Annotated[
        str,
        env("REDIS_URL", "Redis URL, e.g. redis://127.0.0.1:6379/0"),
        msgspec.Meta(pattern=r"^(redis|rediss|unix)://"),
    ]
    key_prefix: Annotated[str, doc("Prefix of every key this deployment writes")] = "etsygen:"


class KafkaSettings(SettingsSection, frozen=True, kw_only=True):
    """Kafka connection and topic layout."""

    env_prefix: ClassVar[str] = "KAFKA_"
    bootstrap_servers: Annotated[
        str, doc("Comma-separated host:port list of Kafka brokers, e.g. 127.0.0.1:9092", min_length=3)
    ]
    topic_prefix: Annotated[str, doc("Prefix added to every topic name (isolates test runs)")] = ""
    partitions: Annotated[int, doc("Partitions of each topic created at start", ge=1, le=256)] = 6
    replication_factor: Annotated[int, doc("Replication factor of topics created at start", ge=1)] = 1
    acks: Annotated[
        Literal["all", "1", "0"],
        doc(
            "Producer acks: all waits for every in-sync replica (min.insync.replicas), so an acknowledged "
            "event survives losing a broker; 1 or 0 may lose acknowledged events (never in production)"
        ),
    ] = "all"
    request_timeout_ms: Annotated[int, doc("Producer/consumer request timeout in ms", ge=1000)] = 30_000
    max_poll_interval_ms: Annotated[int, doc("Consumer max.poll.interval.ms", ge=10_000)] = 300_000
    broker_watch_s: Annotated[
        float,
        doc(
            "Seconds between broker heartbeats: when the broker lost acknowledged records (restarted empty, "
            "a topic recreated) the service re-creates its topics and restarts its consumer, and the gateway "
            "re-drives every unfinished keyword, at once (0 turns the watch off)",
            ge=0,
        ),
    ] = 2.0
    fetch_max_wait_ms: Annotated[
        int,
        doc(
            "Longest a consumer's fetch may wait at the broker for new records (fetch.max.wait.ms). Kafka "
            "answers as soon as records arrive; a broker that answers only at the timeout (Tansu) delays "
            "delivery by up to this, so it is kept short",
            ge=10,
            le=10_000,
        ),
    ] = 100
    batch_records: Annotated[
        int, doc("Records a consumer fetches at once and handles before one offset commit", ge=1, le=10_000)
    ] = 100
    batch_max_s: Annotated[
        float,
        doc(
            "Longest a consumer works on one fetched batch before committing; the rest is fetched again", gt=0
        ),
    ] = 5.0
    partition_concurrency: Annotated[
        int,
        doc("Partitions of a fetched batch a consumer handles at once (each partition stays in order)", ge=1),
    ] = 4

    @property
    def producer_acks(self) -> int | str:
        """``acks`` as Kafka clients take it (``"all"``, 1 or 0)."""
        return "all" if self.acks == "all" else int(self.acks)

    def topic(self, name: str) -> str:
        """Return the physical topic name for a logical one."""
        return f"{self.topic_prefix}{name}"


class TelemetrySettings(SettingsSection, frozen=True, kw_only=True):
    """Logs, traces and metrics."""

    env_prefix: ClassVar[str] = ""
    log_level: Annotated[
        Literal["DEBUG", "INFO", "WARNING", "ERROR"], env("LOG_LEVEL", "Log level of every service")
    ] = "INFO"
    log_format: Annotated[
        Literal["json", "console"], env("LOG_FORMAT", "json for machines, console for people")
    ] = "json"
    otlp_endpoint: Annotated[
        str | None,
        env("OTEL_EXPORTER_OTLP_ENDPOINT", "OTLP/HTTP endpoint for traces; unset disables tracing"),
    ] = None
    sample_ratio: Annotated[
        float,
        env(
            "OTEL_TRACES_SAMPLER_ARG",
            "Share of new traces kept (0..1); a job's later spans follow its first, so traces stay whole",
            ge=0,
            le=1,
        ),
    ] = 1.0
    deployment_environment: Annotated[
        str | None,
        env(
            "DEPLOYMENT_ENVIRONMENT",
            "deployment.environment of every span; unset: OTEL_RESOURCE_ATTRIBUTES' value, else development",
        ),
    ] = None


class OutboxSettings(SettingsSection, frozen=True, kw_only=True):
    """Outbox relay tuning."""

    env_prefix: ClassVar[str] = "OUTBOX_"
    batch_size: Annotated[int, doc("Rows published per relay batch", ge=1, le=10_000)] = 200
    poll_interval_s: Annotated[float, doc("Polling fallback when no NOTIFY arrives, in seconds", gt=0)] = 1.0
    max_backoff_s: Annotated[float, doc("Longest wait between retries while Kafka is unreachable", gt=0)] = (
        10.0
    )


class ServiceSettings(SettingsSection, frozen=True, kw_only=True):
    """Where the service's own HTTP endpoints (health, metrics, API) listen."""

    env_prefix: ClassVar[str] = "SERVICE_"
    host: Annotated[str, doc("Interface the service's HTTP server binds")] = "127.0.0.1"
    port: Annotated[int | None, doc("Port of the service's HTTP server; unset uses the service default")] = (
        None
    )
    instance: Annotated[str | None, doc("Instance id used in consumer client ids; default host-pid")] = None
    shutdown_grace_s: Annotated[float, doc("Seconds in-flight handlers get to finish on SIGTERM", gt=0)] = (
        20.0
    )
    gc_threshold: Annotated[
        int,
        doc(
            "Allocations between young-generation garbage collections once started (Python's default is "
            "700); start-up objects are also frozen out of the collector's view. 0 keeps Python's defaults",
            ge=0,
        ),
    ] = 10_000


class RetentionSettings(SettingsSection, frozen=True, kw_only=True):
    """Retention of what every service has: outbox, inbox, batch size (etsygen retention run)."""

    env_prefix: ClassVar[str] = "RETENTION_"
    redelivery_horizon_days: Annotated[
        int,
        doc(
            "Days sent outbox rows and inbox entries are kept; a record redelivered later than this is "
            "handled again, so keep it above the longest consumer lag you would recover from",
            ge=1,
        ),
    ] = 7
    batch_rows: Annotated[
        int, doc("Rows one retention DELETE removes per transaction (short locks, steady WAL)", ge=1)
    ] = 1000
    lock_timeout_ms: Annotated[
        int,
        doc("Longest retention waits for a lock (dropping a partition); then it tries again next run", ge=1),
    ] = 5000


class CommonSettings(msgspec.Struct, frozen=True, kw_only=True):
    """What every service needs; services embed it in their own settings."""

    postgres: PostgresSettings
    redis: RedisSettings
    kafka: KafkaSettings
    telemetry: TelemetrySettings
    outbox: OutboxSettings
    service: ServiceSettings
    retention: RetentionSettings = msgspec.field(default_factory=RetentionSettings)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> CommonSettings:
        """Read every common section.

        Raises:
            SettingsError: the first missing or invalid variable, by name.
        """
        environ = load_environ() if environ is None else environ
        return cls(
            postgres=PostgresSettings.from_env(environ),
            redis=RedisSettings.from_env(environ),
            kafka=KafkaSettings.from_env(environ),
            telemetry=TelemetrySettings.from_env(environ),
            outbox=OutboxSettings.from_env(environ),
            service=ServiceSettings.from_env(environ),
            retention=RetentionSettings.from_env(environ),
        )


ALL_COMMON_SECTIONS: tuple[type[SettingsSection], ...] = (
    PostgresSettings,
    RedisSettings,
    KafkaSettings,
    TelemetrySettings,
    OutboxSettings,
    ServiceSettings,
    RetentionSettings,
)
