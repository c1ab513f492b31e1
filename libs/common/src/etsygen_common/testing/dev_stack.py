"""``etsygen dev`` as a test drives it: a newcomer's environment (no stack settings), a data dir and gateway
port of the test's own, the console captured to a file, Ctrl-C to stop. A stack can be started again on the
same data dir, as a user runs ``make run`` a second time."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from etsygen_common.devstack import stop_process

READY = re.compile(r"etsygen dev: (\w+) ready on http://127\.0\.0\.1:(\d+)")
SETUP_LINK = re.compile(r"(http://127\.0\.0\.1:\d+/dashboard/setup\?token=[A-Za-z0-9_\-]+)")
SERVICES = ("gateway", "scraper", "analyzer", "generator")


def newcomer_env(**extra: str) -> dict[str, str]:
    """The environment of a newcomer's shell: no stack settings, so ``etsygen dev`` starts its stand-ins."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "REDIS_", "KAFKA_", "ETSY_", "GATEWAY_", "AI_"))
    }
    env.update(extra)
    return env


class DevStack:
    """One ``etsygen dev`` process at a time over ``data_dir``; :meth:`start` again after :meth:`stop`."""

    def __init__(self, data_dir: Path, gateway_port: int, log: Path, env: dict[str, str] | None = None):
        self.data_dir = data_dir
        self.gateway_port = gateway_port
        self.log = log
        self.env = env if env is not None else newcomer_env()
        self.proc: subprocess.Popen[bytes] | None = None
        self._offset = 0
        self.ports: dict[str, int] = {}

    def start(self) -> None:
        """Start ``etsygen dev``; what it prints from now on is what the waits below read."""
        self._offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as sink:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "etsygen_cli.main",
                    "dev",
                    "--data-dir",
                    str(self.data_dir),
                    "--gateway-port",
                    str(self.gateway_port),
                ],
                env=self.env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        """What this run printed so far."""
        with self.log.open("rb") as f:
            f.seek(self._offset)
            return f.read().decode(errors="replace")

    def wait_for(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str]:
        """The first match of ``pattern`` in this run's output (AssertionError on timeout or exit)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = pattern.search(self.output())
            if found:
                return found
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"etsygen dev exited ({self.proc.returncode}):\n{self.output()[-4000:]}")
            time.sleep(0.3)
        raise AssertionError(
            f"etsygen dev did not print {pattern.pattern!r} in {timeout} s:\n{self.output()[-4000:]}"
        )

    def wait_ready(self, timeout: float = 240) -> dict[str, int]:
        """Wait for "all services ready"; returns each service's port."""
        self.wait_for(re.compile(r"all services ready"), timeout)
        self.ports = {m.group(1): int(m.group(2)) for m in READY.finditer(self.output())}
        assert set(self.ports) == set(SERVICES), self.ports
        return self.ports

    @property
    def gateway_url(self) -> str:
        """The gateway's base URL in this run."""
        return f"http://127.0.0.1:{self.ports.get('gateway', self.gateway_port)}"

    def stop(self, timeout: float = 90) -> int:
        """Ctrl-C (SIGINT to the process group, as a terminal sends it); returns the exit status."""
        proc, self.proc = self.proc, None
        if proc is None:
            return 0
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                stop_process(proc)
        return int(proc.returncode or 0)
