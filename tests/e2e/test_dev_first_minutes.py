"""The first ten minutes: ``etsygen dev`` runs, the README's next command works with no settings, the
account it creates signs in, and Ctrl-C leaves nothing behind.

One stack serves the whole module (starting it is most of the cost); the last test stops it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

from etsygen_common.devstack import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PASSWORD = "correct horse battery staple"


def user_environment() -> dict[str, str]:
    """The environment of someone who has configured nothing (as tests/e2e/test_make_run.py strips it)."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "REDIS_", "KAFKA_", "ETSY_", "ETSYGEN_DATA_DIR"))
    }


@dataclass
class DevRun:
    proc: subprocess.Popen[bytes]
    home: Path
    """The working directory, holding ``.data`` as a checkout does."""
    log: Path
    gateway: str
    started: list[psutil.Process] = field(default_factory=list)

    @property
    def data_dir(self) -> Path:
        return self.home / ".data"

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _children(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _mentioning(marker: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if marker in " ".join(proc.info["cmdline"] or []):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevRun]:
    home = tmp_path_factory.mktemp("first-minutes")
    port = free_port()
    log = home / "console.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "etsygen_cli.main",
                "dev",
                "--data-dir",
                ".data",
                "--gateway-port",
                str(port),
            ],
            cwd=home,
            env=user_environment(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    run = DevRun(proc, home, log, f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 150
        while "all services ready" not in run.output():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"etsygen dev did not become ready ({proc.poll()}):\n{run.output()[-4000:]}")
            time.sleep(0.5)
        run.started = _children(proc.pid) + _mentioning(str(run.data_dir))
        yield run
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(90)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def test_the_ready_message_says_where_to_go_and_the_console_is_plain(dev: DevRun) -> None:
    text = dev.output()
    assert f"dashboard: {dev.gateway}/dashboard/" in text
    assert f"API docs:  {dev.gateway}/schema" in text
    assert f"data:      {dev.data_dir.resolve()}" in text
    for page in ("/dashboard/", "/schema"):
        with urllib.request.urlopen(dev.gateway + page, timeout=10) as response:
            assert response.status == 200, page
    assert "\x1b" not in text
    assert "uvicorn.error" not in text
    assert "Press CTRL+C" not in text
    assert text.count("etsygen dev: all services ready") == 1


def test_the_running_stack_is_recorded_for_its_owner_only(dev: DevRun) -> None:
    record = dev.data_dir / "dev-stack.json"
    assert stat.S_IMODE(record.stat().st_mode) == 0o600
    stack = json.loads(record.read_text())
    assert stack["pid"] == dev.proc.pid
    assert stack["services"]["gateway"] == dev.gateway
    assert set(stack["environment"]) >= {
        "DATABASE_URL",
        "REDIS_URL",
        "KAFKA_BOOTSTRAP_SERVERS",
        "ETSY_BASE_URL",
    }


def test_create_admin_needs_no_settings_and_the_account_signs_in(dev: DevRun) -> None:
    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "etsygen_cli.main",
            "users",
            "create-admin",
            "e@example.com",
            "--password",
            PASSWORD,
        ],
        cwd=dev.home,
        env=user_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith("admin e@example.com (")

    login = urllib.request.Request(
        dev.gateway + "/v1/auth/login",
        data=json.dumps({"email": "e@example.com", "password": PASSWORD}).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(login, timeout=30) as response:
        assert response.status == 200
        body = json.loads(response.read())
        cookies = response.headers.get_all("set-cookie") or []
    assert body["user"]["email"] == "e@example.com"
    assert body["user"]["role"] == "admin"
    session = "; ".join(c.split(";", 1)[0] for c in cookies)
    me = urllib.request.Request(dev.gateway + "/v1/auth/me", headers={"cookie": session})
    with urllib.request.urlopen(me, timeout=10) as response:
        assert json.loads(response.read())["email"] == "e@example.com"


def test_ctrl_c_removes_the_record_and_leaves_nothing_running(dev: DevRun) -> None:
    assert dev.started, "no child processes were seen while the stack ran"
    os.killpg(dev.proc.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's process group
    assert dev.proc.wait(90) == 0
    assert not (dev.data_dir / "dev-stack.json").exists()
    deadline = time.monotonic() + 10
    while (alive := [p for p in dev.started if _alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert alive == [], f"left running: {[p.cmdline() for p in alive]}"
    assert re.search(r"etsygen dev: stopped\s*$", dev.output())
