"""The alert rules: promtool accepts them, every alert has tests that fire and stay silent, the runbook has an
entry for each, they use documented metrics only, and the Kubernetes PrometheusRule says the same."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from observability import ALERT_TESTS, ALERTS, REPO, documented_names, metric_names

from etsygen_cli import alertrules


def promtool() -> str:
    """promtool from PROMTOOL_PATH, /usr/bin or PATH; missing promtool fails (make test installs it)."""
    named = os.environ.get("PROMTOOL_PATH")
    if named and not Path(named).is_file():
        pytest.fail(f"PROMTOOL_PATH={named} is not a file: point it at promtool, or unset it")
    for candidate in (named, "/usr/bin/promtool", shutil.which("promtool")):
        if candidate and Path(candidate).is_file():
            return candidate
    pytest.fail(
        "promtool not found: install Debian's prometheus package (sudo apt-get install prometheus; "
        "`make test` does it when it can) or set PROMTOOL_PATH"
    )


def run(*args: str) -> None:
    done = subprocess.run(
        [promtool(), *args], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"promtool {' '.join(args)}:\n{done.stdout}\n{done.stderr}"


def alerts() -> list[dict[str, Any]]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_promtool_accepts_the_rules_and_the_prometheus_config_that_loads_them() -> None:
    run("check", "rules", str(ALERTS.relative_to(REPO)))
    run("check", "config", "deploy/prometheus/prometheus.yml")


def test_promtool_unit_tests_of_every_alert_pass() -> None:
    run("test", "rules", str(ALERT_TESTS.relative_to(REPO)))


def test_every_alert_is_tested_firing_and_silent() -> None:
    firing: set[str] = set()
    silent: set[str] = set()
    for case in yaml.safe_load(ALERT_TESTS.read_text())["tests"]:
        for check in case.get("alert_rule_test") or []:
            (firing if check.get("exp_alerts") else silent).add(check["alertname"])
    names = {rule["alert"] for rule in alerts()}
    assert names == firing, f"alerts without a test where they fire: {sorted(names - firing)}"
    assert names == silent, f"alerts without a test where they stay silent: {sorted(names - silent)}"


def test_every_alert_has_for_severity_summary_description_and_its_runbook_entry() -> None:
    runbook = (REPO / "docs" / "operations.md").read_text()
    for rule in alerts():
        name = rule["alert"]
        assert rule.get("for"), name
        assert rule["labels"]["severity"] in {"warning", "critical"}, name
        assert rule["annotations"]["summary"], name
        assert rule["annotations"]["description"], name
        assert rule["annotations"]["runbook_url"] == f"docs/operations.md#{name.lower()}", name
        assert f"\n### {name}\n" in runbook, f"docs/operations.md has no entry for {name}"


def test_the_rules_use_only_metrics_the_catalogue_lists() -> None:
    known = documented_names()
    for rule in alerts():
        unknown = metric_names(rule["expr"]) - known
        assert not unknown, f"{rule['alert']} uses metrics docs/metrics.md does not list: {sorted(unknown)}"


def test_the_prometheus_rule_of_the_kubernetes_component_is_generated_from_alerts_yml() -> None:
    rule_file = REPO / alertrules.RULE
    assert rule_file.read_text() == alertrules.render(ALERTS.read_text()), (
        f"{alertrules.RULE} is stale: run `uv run etsygen metrics rules`"
    )
    manifest = yaml.safe_load(rule_file.read_text())
    assert manifest["spec"]["groups"] == yaml.safe_load(ALERTS.read_text())["groups"]


def test_the_validator_accepts_the_prometheus_rule_and_refuses_a_broken_one() -> None:
    spec = importlib.util.spec_from_file_location("validate", REPO / "deploy" / "validate" / "validate.py")
    assert spec is not None
    assert spec.loader is not None
    validate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(validate)
    manifest = yaml.safe_load((REPO / alertrules.RULE).read_text())
    schema = validate.CUSTOM_KINDS["monitoring.coreos.com/v1", "PrometheusRule"]
    report = validate.Report("test")
    validate.custom_check(manifest, schema, report)
    assert report.errors == []
    assert validate.check_configs(REPO) == []
    manifest["spec"]["groups"][0]["rules"][0]["for"] = "ten minutes"
    manifest["spec"]["groups"][0]["rules"][1]["annotations"].pop("runbook_url")
    manifest["spec"]["extra"] = True
    broken = validate.Report("broken")
    validate.custom_check(manifest, schema, broken)
    assert len(broken.errors) == 3, broken.errors
