"""``etsygen dev`` (what ``make run`` calls): the whole platform on one machine.

Kafka, PostgreSQL and Redis come from embedded stand-ins unless ``KAFKA_BOOTSTRAP_SERVERS``, ``DATABASE_URL``
or ``REDIS_URL`` are set; the marketplace simulator stands in for Etsy unless ``ETSY_API_KEY`` is set. The
four services run as child processes. Ctrl-C (or SIGTERM) stops the services gracefully, then the stand-ins;
nothing is left running.

While it runs, ``<data dir>/dev-stack.json`` records the stack's settings and URLs (see
:mod:`etsygen_common.stackfile`), so ``etsygen users``, ``etsygen dlq`` and ``etsygen migrate`` work against
it from another terminal with no configuration. The gateway and the services keep their ports across
restarts; when another program holds one, another port is chosen and the console says so.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from etsygen_cli.services import SERVICES
from etsygen_cli.supervisor import Supervisor, install_stop_handlers, python_argv, write_line
from etsygen_common.devstack import (
    DevStackMissingError,
    EmbeddedPostgres,
    RedisServer,
    TansuBroker,
    choose_port,
    free_port,
    wait_for_port,
)
from etsygen_common.stackfile import (
    STACK_FILE,
    STACK_VARIABLES,
    DevStack,
    process_start_time,
    read_stack,
    remove_stack,
    write_stack,
)

SYNTHETIC_ETSY_KEY = "synthetic-keystring:synthetic-secret"


def _say(message: str) -> None:
    write_line(f"etsygen dev: {message}")


def _port(preferred: int, what: str) -> int:
    port, why = choose_port(preferred)
    if why:
        _say(f"{what}: {why}")
    return port


def _announce_ready(ports: Mapping[str, int], data_dir: Path, record: Path) -> None:
    """The message a person waits for: where to go, and where the stack keeps its data."""
    gateway = f"http://127.0.0.1:{ports['gateway']}"
    _say(f"all services ready. Gateway: {gateway}  (Ctrl-C stops everything)")
    _say(f"  dashboard: {gateway}/dashboard/")
    _say(f"  API docs:  {gateway}/schema")
    _say(f"  data:      {data_dir}  (`etsygen users|dlq|migrate` find this stack through {record.name})")


def _record(env: Mapping[str, str], ports: Mapping[str, int], data_dir: Path) -> DevStack:
    pid = os.getpid()
    environment = {v: env[v] for v in STACK_VARIABLES if env.get(v)}
    if environment.get("ETSY_API_KEY") != SYNTHETIC_ETSY_KEY:
        # A real Etsy credential stays where its owner put it; only the simulator's stand-in is recorded.
        environment.pop("ETSY_API_KEY", None)
    return DevStack(
        pid=pid,
        started=process_start_time(pid),
        data_dir=str(data_dir),
        environment=environment,
        services={name: f"http://127.0.0.1:{port}" for name, port in ports.items()},
    )


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def _offer_setup_link(env: dict[str, str], gateway_url: str) -> None:
    """On a first run (no account yet), print the one-time link that creates the first admin."""
    result = subprocess.run(
        python_argv("users", "setup-link", "--base-url", gateway_url),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode == 0:
        _say(
            "no account exists yet: create the first admin in your browser with this link "
            f"(it works once, then expires):\n\n    {result.stdout.strip()}\n\n"
            "  or in a terminal: uv run etsygen users create-admin you@example.com"
        )
    elif "accounts exist already" not in result.stderr:
        _say(f"could not make a first-admin setup link: {result.stderr.strip()}")


def simulator_argv(port: int) -> list[str]:
    """The command serving the Etsy simulator on ``port`` (tools/simulators, run as its own process).

    Raises:
        DevStackMissingError: the simulators are not installed (an image without the ``simulators`` group).
    """
    if importlib.util.find_spec("etsygen_simulators") is None:
        raise DevStackMissingError(
            "the marketplace simulator needs the package etsygen-simulators, which is in the `simulators` "
            "dependency group: run `uv sync` (it installs that group by default; the production image "
            "leaves it out) or set ETSY_API_KEY to use Etsy"
        )
    return [sys.executable, "-m", "etsygen_simulators.etsy", "--port", str(port)]


def run_dev(data_dir: Path, gateway_port: int, *, simulator_access_log: bool = False) -> int:
    """Start stand-ins and services, print the gateway URL, and stop everything on Ctrl-C."""
    flag = [False]
    install_stop_handlers(flag)
    env = dict(os.environ)
    env.setdefault("LOG_FORMAT", "console")
    if simulator_access_log:
        env["SIMULATOR_ACCESS_LOG"] = "1"
    data_dir = data_dir.resolve()
    record = data_dir / STACK_FILE
    other = read_stack(record)
    if other is not None and other.is_running():
        _say(f"another `etsygen dev` (pid {other.pid}) runs with the data in {data_dir}; stop it first")
        return 1
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
            kafka = TansuBroker(port=_port(9092, "Kafka (Tansu)"), log_path=data_dir / "tansu.log")
            data_dir.mkdir(parents=True, exist_ok=True)
            kafka.start()
            standins.append(kafka)
            env["KAFKA_BOOTSTRAP_SERVERS"] = kafka.bootstrap
            _say(f"started Tansu (Kafka) on {kafka.bootstrap}, memory storage (empty at every start)")
        if not env.get("ETSY_API_KEY"):
            port = free_port()
            sup.spawn("simulator", simulator_argv(port), env)
            wait_for_port(port, 30)
            env["ETSY_BASE_URL"] = f"http://127.0.0.1:{port}"
            env["ETSY_API_KEY"] = SYNTHETIC_ETSY_KEY
            _say(f"no ETSY_API_KEY: using the SYNTHETIC marketplace simulator on {env['ETSY_BASE_URL']}")
        preferred = {name: info.port for name, info in SERVICES.items()} | {"gateway": gateway_port}
        ports = {name: _port(port, name) for name, port in preferred.items()}
        # Written before the services start: an admin command needs only the database and Redis.
        write_stack(record, _record(env, ports, data_dir))
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
            _announce_ready(ports, data_dir, record)
            _offer_setup_link(env, f"http://127.0.0.1:{ports['gateway']}")
        died = sup.wait_any(flag)
        if died is not None:
            _say(f"{died} exited with status {sup.procs[died].returncode}; stopping everything")
            code = 1
    except DevStackMissingError as exc:
        _say(str(exc))
        code = 2
    finally:
        remove_stack(record)  # from now on nothing should be pointed at this stack
        _say("stopping services")
        sup.stop_all()
        for standin in reversed(standins):
            with contextlib.suppress(Exception):
                standin.stop()
        _say("stopped")
    return code


__all__ = ["run_dev", "wait_for_port"]
