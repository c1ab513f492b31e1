"""Admin commands find the running ``etsygen dev`` stack by its record; the environment still wins."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from etsygen_common.settings import PostgresSettings, RedisSettings, SettingsError
from etsygen_common.stackfile import (
    STACK_FILE,
    DevStack,
    load_with_dev_stack,
    process_start_time,
    read_stack,
    use_dev_stack,
    write_stack,
)

STACK_URLS = {
    "DATABASE_URL": "postgresql://postgres@/postgres?host=/somewhere/.data/postgres",
    "REDIS_URL": "redis://127.0.0.1:40123/0",
}


def record(data_dir: Path, pid: int) -> Path:
    path = data_dir / STACK_FILE
    write_stack(
        path,
        DevStack(pid=pid, started=process_start_time(pid), data_dir=str(data_dir), environment=STACK_URLS),
    )
    return path


def load_postgres_and_redis(environ: dict[str, str]) -> tuple[str, str]:
    return PostgresSettings.from_env(environ).url, RedisSettings.from_env(environ).url


def test_the_record_is_private_and_read_back_whole(tmp_path: Path) -> None:
    path = record(tmp_path, os.getpid())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [STACK_FILE]  # no temporary file left beside it
    stack = read_stack(path)
    assert stack is not None
    assert stack.environment == STACK_URLS
    assert stack.is_running()


def test_settings_missing_from_the_environment_come_from_the_running_stack(tmp_path: Path) -> None:
    record(tmp_path, os.getpid())
    environ = {"ETSYGEN_DATA_DIR": str(tmp_path), "REDIS_URL": "redis://127.0.0.1:6379/5"}
    loaded = load_with_dev_stack(lambda: load_postgres_and_redis(environ), environ)
    assert loaded == (STACK_URLS["DATABASE_URL"], "redis://127.0.0.1:6379/5")  # the environment wins


def test_the_nearest_data_dir_is_found_from_a_sub_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record(tmp_path / ".data", os.getpid())
    below = tmp_path / "services" / "gateway"
    below.mkdir(parents=True)
    monkeypatch.chdir(below)
    environ: dict[str, str] = {}
    assert use_dev_stack(environ) is not None
    assert environ == STACK_URLS


def test_a_record_left_by_a_stack_that_is_gone_is_ignored_with_a_notice(tmp_path: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    path = record(tmp_path, gone.pid)
    gone.wait()
    environ = {"ETSYGEN_DATA_DIR": str(tmp_path)}
    notices: list[str] = []
    assert use_dev_stack(environ, notices.append) is None
    assert environ == {"ETSYGEN_DATA_DIR": str(tmp_path)}
    assert notices == [
        f"etsygen: ignoring {path}: the `etsygen dev` that wrote it (pid {gone.pid}) is not running"
    ]


def test_a_reused_pid_is_not_taken_for_the_stack(tmp_path: Path) -> None:
    path = tmp_path / STACK_FILE
    earlier = process_start_time(os.getpid()) - 3600  # this pid, but a process started an hour before
    write_stack(
        path, DevStack(pid=os.getpid(), started=earlier, data_dir=str(tmp_path), environment=STACK_URLS)
    )
    assert use_dev_stack({"ETSYGEN_DATA_DIR": str(tmp_path)}, lambda _: None) is None


def test_without_environment_or_stack_the_error_names_the_fix(tmp_path: Path) -> None:
    environ = {"ETSYGEN_DATA_DIR": str(tmp_path / "nothing-here")}
    with pytest.raises(SettingsError) as missing:
        load_with_dev_stack(lambda: load_postgres_and_redis(environ), environ)
    message = str(missing.value)
    assert message.startswith("DATABASE_URL is not set")
    assert "start the platform with `make run`" in message
    assert "or set DATABASE_URL in the environment or .env" in message
