"""The simulators stay out of the services and of the production image, and the development image has them."""

from __future__ import annotations

import ast
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[4]
SHIPPED_SOURCES = [
    *sorted(REPO.glob("libs/*/src")),
    *sorted(REPO.glob("services/*/src")),
    REPO / "tools" / "cli" / "src",
]
MEMBER = "-e ./tools/simulators"


def imported_modules(path: Path, *, with_submodules: bool = False) -> set[str]:
    """Modules ``path`` imports; ``with_submodules`` adds ``pkg.name`` for each ``from pkg import name``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            if with_submodules:
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_no_library_service_or_cli_module_imports_the_simulators() -> None:
    assert len(SHIPPED_SOURCES) >= 6, SHIPPED_SOURCES  # common, four services, cli
    offenders = sorted(
        f"{path.relative_to(REPO)} imports {name}"
        for source in SHIPPED_SOURCES
        for path in source.rglob("*.py")
        for name in imported_modules(path)
        if name == "etsygen_simulators" or name.startswith("etsygen_simulators.")
    )
    assert not offenders, offenders


def _exported(*args: str) -> list[str]:
    uv = shutil.which("uv")
    if uv is None:
        pytest.fail("uv is required (the Makefile installs it); install it and re-run")
    out = subprocess.run(
        [uv, "export", "--frozen", "--no-hashes", "--no-header", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return [line.strip() for line in out.stdout.splitlines() if not line.lstrip().startswith("#")]


def test_the_production_image_leaves_the_simulators_out_and_the_development_image_adds_only_them() -> None:
    # The Dockerfile installs with --no-default-groups, adding `--group simulators` for SIMULATORS=true;
    # `uv sync` (make install) installs the default groups, which include it.
    production = _exported("--no-default-groups")
    development_image = _exported("--no-default-groups", "--group", "simulators")
    assert MEMBER not in production
    assert "-e ./services/scraper" in production
    assert set(development_image) - set(production) == {MEMBER}
    assert MEMBER in _exported()


TRUTH = "etsygen_simulators.etsy.truth"
TRUTH_READERS = (REPO / "tools" / "simulators", REPO / "bench")
"""The simulator itself (and its tests) and the benchmark; nothing else reads the hidden truth."""


def test_only_the_simulator_and_the_benchmark_read_the_hidden_truth() -> None:
    scanned = [
        path
        for top in ("libs", "services", "tools", "tests", "bench")
        for path in (REPO / top).rglob("*.py")
        if ".venv" not in path.parts
    ]
    assert any(path.is_relative_to(REPO / "services") for path in scanned)
    offenders = sorted(
        str(path.relative_to(REPO))
        for path in scanned
        if not any(path.is_relative_to(reader) for reader in TRUTH_READERS)
        if TRUTH in imported_modules(path, with_submodules=True)
    )
    assert not offenders, offenders
