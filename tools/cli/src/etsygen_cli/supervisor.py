"""Runs several child processes as one: starts them, waits, and stops all of them on exit or signal.

The children's output goes through the supervisor, which starts every line with the child's name in the
same column the console log format puts the service in: a traceback, a warning or a banner printed by one
of five processes in one console is then as recognisable as its log lines.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO

from etsygen_common.devstack import stop_process

_output = threading.Lock()


def write_line(text: str) -> None:
    """Write one whole line to stdout; lines of the children and of the supervisor never interleave."""
    with _output:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def _relay(name: str, stream: IO[bytes]) -> None:
    tag = f"{name:<9} "
    for raw in iter(stream.readline, b""):
        line = raw.decode(errors="replace").rstrip("\r\n")
        write_line(line if line.startswith(tag) else tag + line)
    stream.close()


@dataclass
class Supervisor:
    """A group of child processes, each in its own session so that stopping one stops its children too."""

    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    relays: list[threading.Thread] = field(default_factory=list)

    def spawn(self, name: str, argv: Sequence[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
        """Start a child; its stdout and stderr reach ours line by line, tagged with ``name``."""
        proc = subprocess.Popen(
            list(argv),
            # Unbuffered, so that a line reaches the console when it is written, not when a buffer fills.
            env={**env, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        assert proc.stdout is not None
        relay = threading.Thread(target=_relay, args=(name, proc.stdout), name=f"relay-{name}", daemon=True)
        relay.start()
        self.procs[name] = proc
        self.relays.append(relay)
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
        for relay in self.relays:  # the children's last lines come before whatever the caller says next
            relay.join(2)


def install_stop_handlers(flag: list[bool]) -> None:
    """Set ``flag[0]`` on SIGINT/SIGTERM instead of raising, so cleanup always runs."""

    def handler(signum: int, _frame: object) -> None:
        flag[0] = True

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def python_argv(*args: str) -> list[str]:
    """argv that runs the etsygen CLI with this interpreter."""
    return [sys.executable, "-m", "etsygen_cli.main", *args]
