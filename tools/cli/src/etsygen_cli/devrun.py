"""``etsygen dev`` (what ``make run`` calls): the whole platform on one machine.

Kafka, PostgreSQL and Redis come from embedded stand-ins unless ``KAFKA_BOOTSTRAP_SERVERS``, ``DATABASE_URL``
or ``REDIS_URL`` are set; the marketplace simulator stands in for Etsy unless ``ETSY_API_KEY`` is set. The
four services run as child processes. Ctrl-C (or SIGTERM) stops the services gracefully, then the stand-ins;
nothing is left running.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from etsygen_cli.services import SERVICES
from etsygen_cli.supervisor import Supervisor, install_stop_handlers, python_argv
from etsygen_common.devstack import (
    DevStackMissingError,
    EmbeddedPostgres,
    RedisServer,
    TansuBroker,
    free_port,
    wait_for_port,
)


def _say(message: str) -> None:
    print(f"etsygen dev: {message}", flush=True)  # noqa: T201 - this command talks to a person


def _port_or_free(preferred: int) -> int:
    import socket

    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
        except OSError:
            return free_port()
    return preferred


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def run_dev(data_dir: Path, gateway_port: int) -> int:
    """Start stand-ins and services, print the gateway URL, and stop everything on Ctrl-C."""
    flag = [False]
    install_stop_handlers(flag)
    env = dict(os.environ)
    env.setdefault("LOG_FORMAT", "console")
    data_dir = data_dir.resolve()
    standins: list[Any] = []
    sup = Supervisor()
    code = 0
    try:
        if not env.get("DATABASE_URL"):
            _say(f"starting embedded PostgreSQL (data in {data_dir / 'postgres'})")
            pg = EmbeddedPostgres(data_dir / "postgres").start()
            standins.append(pg)
            env["DATABASE_URL"] = pg.url
        if not env.get("REDIS_URL"):
            redis = RedisServer(data_dir / "redis").start()
            standins.append(redis)
            env["REDIS_URL"] = redis.url
            _say(f"started Redis on {redis.url}")
        if not env.get("KAFKA_BOOTSTRAP_SERVERS"):
            kafka = TansuBroker(port=_port_or_free(9092), log_path=data_dir / "tansu.log")
            data_dir.mkdir(parents=True, exist_ok=True)
            kafka.start()
            standins.append(kafka)
            env["KAFKA_BOOTSTRAP_SERVERS"] = kafka.bootstrap
            _say(f"started Tansu (Kafka) on {kafka.bootstrap}, memory storage")
        if not env.get("ETSY_API_KEY"):
            port = free_port()
            sup.spawn(
                "simulator", [sys.executable, "-m", "etsygen_scraper.simulator", "--port", str(port)], env
            )
            wait_for_port(port, 30)
            env["ETSY_BASE_URL"] = f"http://127.0.0.1:{port}"
            env["ETSY_API_KEY"] = "synthetic-keystring:synthetic-secret"
            _say(f"no ETSY_API_KEY: using the SYNTHETIC marketplace simulator on {env['ETSY_BASE_URL']}")
        ports = {
            name: (_port_or_free(gateway_port) if name == "gateway" else _port_or_free(info.port))
            for name, info in SERVICES.items()
        }
        for name in SERVICES:
            child_env = {**env, "SERVICE_PORT": str(ports[name])}
            sup.spawn(name, python_argv("run", name), child_env)
        deadline = time.monotonic() + 120
        pending = set(SERVICES)
        while pending and not flag[0] and time.monotonic() < deadline:
            for name in list(pending):
                if sup.procs[name].poll() is not None:
                    _say(f"{name} exited with status {sup.procs[name].returncode} during start")
                    return 1
                if _ready(ports[name]):
                    pending.discard(name)
                    _say(f"{name} ready on http://127.0.0.1:{ports[name]}")
            time.sleep(0.3)
        if pending and not flag[0]:
            _say(f"not ready after 120 s: {', '.join(sorted(pending))}")
            return 1
        if not flag[0]:
            _say(
                f"all services ready. Gateway: http://127.0.0.1:{ports['gateway']}  (Ctrl-C stops everything)"
            )
        died = sup.wait_any(flag)
        if died is not None:
            _say(f"{died} exited with status {sup.procs[died].returncode}; stopping everything")
            code = 1
    except DevStackMissingError as exc:
        _say(str(exc))
        code = 2
    finally:
        _say("stopping services")
        sup.stop_all()
        for standin in reversed(standins):
            with contextlib.suppress(Exception):
                standin.stop()
        _say("stopped")
    return code


__all__ = ["run_dev", "wait_for_port"]
