"""Run the simulator: in-process on a free port (tests), or as a blocking server (CLI, demos)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import uvicorn

from etsygen_common.logging import configure_logging
from etsygen_simulators.etsy.app import build_simulator_app
from etsygen_simulators.etsy.state import Controls, SimulatorConfig, SimulatorState


class RunningSimulator:
    """A simulator serving on ``base_url``; ``state`` gives tests direct access to stats and controls."""

    def __init__(self, base_url: str, port: int, state: SimulatorState) -> None:
        self.base_url = base_url
        self.port = port
        self.state = state

    def control(self, **settings: Any) -> dict[str, Any]:
        """Same as ``POST /_sim/control`` with ``settings`` as the body."""
        return self.state.apply(msgspec.convert(settings, Controls))

    def stats(self) -> dict[str, Any]:
        """Same as ``GET /_sim/stats``."""
        return self.state.stats()


@contextlib.asynccontextmanager
async def running_simulator(
    config: SimulatorConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    startup_timeout_s: float = 10.0,
) -> AsyncIterator[RunningSimulator]:
    """Serve the simulator on the current event loop for the duration of the block.

    ``port=0`` binds a free port chosen by the OS (the socket is bound before the server starts, so there is
    no race between picking and binding). ``base_url`` of the yielded object is the client's base URL.
    """
    app, state = build_simulator_app(config)
    # An explicit IPPROTO_TCP makes asyncio set TCP_NODELAY on accepted connections; without it every
    # keep-alive response waits ~40 ms for a delayed ACK (Nagle), which would distort pacing tests.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=2)
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    deadline = time.monotonic() + startup_timeout_s
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("simulator stopped while starting")
            if time.monotonic() > deadline:
                raise TimeoutError(f"simulator did not start within {startup_timeout_s} s")
            await asyncio.sleep(0.01)
        yield RunningSimulator(f"http://{host}:{bound_port}", bound_port, state)
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
        sock.close()


def run_simulator(
    host: str = "127.0.0.1",
    port: int = 8787,
    config: SimulatorConfig | None = None,
    *,
    access_log: bool = False,
) -> None:
    """Serve the simulator until interrupted (blocking), logging like the services (``LOG_FORMAT``).

    The access log is off unless asked for: the scraper's paced requests would otherwise be most of the
    console of ``make run``.
    """
    app, _ = build_simulator_app(config)
    level, fmt = os.environ.get("LOG_LEVEL") or "INFO", os.environ.get("LOG_FORMAT") or "console"
    configure_logging("simulator", level, fmt)
    if access_log:
        logging.getLogger("uvicorn.access").setLevel(logging.INFO)
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=access_log, lifespan="on")
