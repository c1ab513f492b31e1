"""`make test` installs what its tests need beyond Python, or stops at once with the one command to run.

The script runs with a PATH that lacks Chromium and promtool, so it takes the "missing" branch whatever this
machine has installed; the install branch (root with apt-get) is what `make test` runs on a bare machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "test-prerequisites.sh"


def _bin_dir(tmp_path: Path, tools: list[str]) -> Path:
    """A PATH folder holding only ``tools`` (links to the machine's binaries)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in tools:
        found = shutil.which(tool)
        assert found, f"{tool} is needed to run this test"
        (folder / tool).symlink_to(found)
    return folder


def _run(path: Path, *, as_nobody: bool = False) -> subprocess.CompletedProcess[str]:
    argv = [str(path / "bash"), str(SCRIPT)]
    if as_nobody:
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to run this test"
        argv = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", *argv]
    env = {"PATH": str(path), "HOME": "/nonexistent"}
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)


def test_nothing_happens_when_both_are_found(tmp_path: Path) -> None:
    folder = _bin_dir(tmp_path, ["bash", "kubectl"])
    for tool in ("chromium", "promtool"):
        (folder / tool).write_text("#!/bin/sh\n")
        (folder / tool).chmod(0o755)
    result = _run(folder)
    assert result.returncode == 0, result.stderr
    assert result.stdout == result.stderr == ""


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to another user needs root")
def test_a_user_who_cannot_install_is_told_the_one_command_to_run() -> None:
    # pytest's tmp_path is private to root; the other user needs a folder it can enter.
    shared = Path(tempfile.mkdtemp(prefix="etsygen-prereq-"))
    try:
        shared.chmod(0o755)
        folder = _bin_dir(shared, ["bash", "id", "apt-get", "kubectl"])
        folder.chmod(0o755)
        result = _run(folder, as_nobody=True)
    finally:
        shutil.rmtree(shared)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert (
        "run:  sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium prometheus"
        in result.stderr
    )


def test_a_machine_without_kubectl_is_told_so_first(tmp_path: Path) -> None:
    result = _run(_bin_dir(tmp_path, ["bash", "id"]))
    assert result.returncode == 2
    assert "kubectl (1.27 or newer) is needed" in result.stderr


def test_a_machine_without_apt_get_names_the_settings_that_point_elsewhere(tmp_path: Path) -> None:
    folder = _bin_dir(tmp_path, ["bash", "id", "kubectl"])
    result = _run(folder)
    assert result.returncode == 2
    assert "CHROMIUM_PATH and PROMTOOL_PATH" in result.stderr
