"""`make k8s-validate` inside `make test`: scripts/k8s-validate.sh passes on the checked-in files.

It builds every overlay with every component set and validates them strictly, plus compose, the
observability configs and the Dockerfile. Its tools come from PyPI through uv (network), so it is an
integration test; about a minute.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_k8s_validate_script_passes() -> None:
    out = subprocess.run(
        ["bash", str(REPO / "scripts" / "k8s-validate.sh")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=850,
        check=False,
    )
    report = f"stdout:\n{out.stdout[-6000:]}\nstderr:\n{out.stderr[-4000:]}"
    assert out.returncode == 0, report
    assert "k8s-validate: all checks passed" in out.stdout, report
    # Every component set was built and validated, the Strimzi topics among them.
    assert "[ok] prod+network-policies+otel-collector+kafka-topics+prometheus-rules:" in out.stdout, report
    assert " KafkaTopic," in out.stdout, report
