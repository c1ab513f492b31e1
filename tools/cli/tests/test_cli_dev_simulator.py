"""``etsygen dev`` runs the Etsy simulator from tools/simulators, or says how to install it when missing."""

from __future__ import annotations

import subprocess
import sys

import pytest

from etsygen_cli.devrun import simulator_argv
from etsygen_common.devstack import DevStackMissingError


def test_the_simulator_command_runs_the_simulators_package() -> None:
    argv = simulator_argv(8787)
    assert argv[1:] == ["-m", "etsygen_simulators.etsy", "--port", "8787"]
    shown = subprocess.run([*argv[:3], "--help"], capture_output=True, text=True, timeout=60, check=True)
    assert "synthetic" in shown.stdout


def test_a_missing_simulators_package_names_the_group_and_the_alternative(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "etsygen_simulators", None)  # what the production image has
    with pytest.raises(DevStackMissingError) as caught:
        simulator_argv(8787)
    message = str(caught.value)
    assert "`simulators` dependency group: run `uv sync`" in message
    assert "or set ETSY_API_KEY" in message
