"""`make run` from a fresh clone: all four services become ready, Ctrl-C stops everything it started."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("gateway", "scraper", "analyzer", "generator")


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=3) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _processes_mentioning(marker: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline", "environ"]):
        try:
            cmdline = " ".join(proc.info["cmdline"] or [])
            if marker in cmdline:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def test_make_run_from_a_fresh_clone_brings_every_service_to_ready_and_stops_cleanly(tmp_path: Path) -> None:
    if shutil.which("make") is None:
        pytest.fail("make is not installed")
    clone = tmp_path / "etsygen-clone"
    subprocess.run(["git", "clone", "--quiet", "--local", str(REPO), str(clone)], check=True, timeout=120)
    data_dir = tmp_path / "data"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "REDIS_", "KAFKA_", "ETSY_", "VIRTUAL_ENV", "UV_PROJECT"))
    }
    env["DEV_ARGS"] = f"--data-dir {data_dir}"
    log_path = tmp_path / "make-run.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            ["make", "run"], cwd=clone, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    ports: dict[str, int] = {}
    try:
        deadline = time.monotonic() + 420
        while time.monotonic() < deadline:
            text = log_path.read_text(errors="replace")
            ports = {
                m.group(1): int(m.group(2))
                for m in re.finditer(r"etsygen dev: (\w+) ready on http://127\.0\.0\.1:(\d+)", text)
            }
            if "all services ready" in text:
                break
            if proc.poll() is not None:
                pytest.fail(f"make run exited early ({proc.returncode}):\n{text[-4000:]}")
            time.sleep(1)
        else:
            pytest.fail(f"not ready in time:\n{log_path.read_text(errors='replace')[-4000:]}")
        assert set(ports) == set(SERVICES)
        for name in SERVICES:
            assert _ready(ports[name]), f"{name} /health/ready is not 200"
        assert "Gateway: http://127.0.0.1:" in log_path.read_text()
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's process group
        try:
            proc.wait(120)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail("make run did not stop within 120 s of Ctrl-C")
    time.sleep(1)
    kafka = re.search(r"started Tansu \(Kafka\) on (127\.0\.0\.1:\d+)", log_path.read_text())
    assert kafka, "make run did not start Tansu"
    leftovers = (
        _processes_mentioning(str(clone))
        + _processes_mentioning(str(data_dir))
        + _processes_mentioning(f"--listener-url tcp://{kafka.group(1)}")
    )
    assert leftovers == [], f"processes left running: {[p.cmdline() for p in leftovers]}"
    for port in ports.values():
        assert not _ready(port)
