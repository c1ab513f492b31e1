"""Runs several child processes as one: starts them, waits, and stops all of them on exit or signal."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from etsygen_common.devstack import stop_process


@dataclass
class Supervisor:
    """A group of child processes, each in its own session so that stopping one stops its children too."""

    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def spawn(self, name: str, argv: Sequence[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
        """Start a child."""
        proc = subprocess.Popen(list(argv), env=dict(env), start_new_session=True)
        self.procs[name] = proc
        return proc

    def wait_any(self, stop_flag: list[bool]) -> str | None:
        """Block until a child exits (returns its name) or ``stop_flag[0]`` is set (returns None)."""
        while not stop_flag[0]:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    return name
            time.sleep(0.2)
        return None

    def stop_all(self, timeout: float = 25.0) -> None:
        """SIGTERM every child (graceful shutdown), SIGKILL what is left after ``timeout``."""
        for proc in self.procs.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.procs.values():
            remaining = max(0.1, deadline - time.monotonic())
            try:
                proc.wait(remaining)
            except subprocess.TimeoutExpired:
                stop_process(proc, 1)


def install_stop_handlers(flag: list[bool]) -> None:
    """Set ``flag[0]`` on SIGINT/SIGTERM instead of raising, so cleanup always runs."""

    def handler(signum: int, _frame: object) -> None:
        flag[0] = True

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def python_argv(*args: str) -> list[str]:
    """argv that runs the etsygen CLI with this interpreter."""
    return [sys.executable, "-m", "etsygen_cli.main", *args]
