"""Deployment files give each Etsy-Gen container exactly what its command reads, and everything it requires.

The lists come from the settings classes (etsygen_cli.settingsmap), the files from docker-compose.yml and the
kustomize builds of deploy/k8s (base, each overlay alone and with every component). A variable the command
does not read is a misspelt or stale name that silently does nothing (OPENAI_API_KEY given to a generator
that reads AI_API_KEY); a required one missing stops the container at start.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from etsygen_cli.settingsmap import Variable, command_variables

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
IMAGE_NAME = "etsygen"
# Etsy-Gen containers that run something other than `etsygen ...` and read no settings.
NO_SETTINGS = {("python", "-m", "etsygen_simulators.etsy")}


@dataclass(frozen=True)
class Given:
    """A variable handed to a container, and whether it is sure to hold a value."""

    name: str
    provided: bool
    source: str


@dataclass(frozen=True)
class Container:
    """One Etsy-Gen container of a deployment file."""

    where: str
    argv: tuple[str, ...]
    given: tuple[Given, ...]


def check(container: Container) -> list[str]:
    """Problems of one container: each names the variable, the file and the service."""
    if tuple(container.argv[:3]) in NO_SETTINGS:
        return [
            f"{g.name} ({g.source}) is given to {container.where}, which reads no settings"
            for g in container.given
        ]
    if not container.argv or container.argv[0] != "etsygen":
        return [f"{container.where}: runs {container.argv!r}, neither `etsygen ...` nor a known stand-in"]
    command = " ".join(container.argv)
    try:
        reads: dict[str, Variable] = command_variables(container.argv[1:])
    except ValueError as exc:
        return [f"{container.where}: {exc}"]
    problems = [
        f"{g.name} ({g.source}) is given to {container.where} (`{command}`), which does not read it"
        for g in container.given
        if g.name not in reads
    ]
    provided = {g.name for g in container.given if g.provided}
    problems += [
        f"{v.name} ({v.section}) is required by {container.where} (`{command}`) but not provided"
        for v in reads.values()
        if v.required and v.name not in provided
    ]
    return problems


# --- docker-compose.yml -------------------------------------------------------------------------------------

_INTERPOLATION = re.compile(r"^\$\{(\w+)(?::?([-?])(.*))?\}$")


def compose_provides(value: Any) -> bool:
    """Whether a compose value is non-empty once interpolated without any shell variable set.

    ``${X:?message}`` counts as provided: compose refuses to start without X.
    """
    text = "" if value is None else str(value)
    match = _INTERPOLATION.match(text)
    if match is None:
        return text != ""
    _, operator, default = match.groups()
    return operator == "?" or bool(default)


def compose_containers() -> Iterator[Container]:
    path = REPO / "docker-compose.yml"
    compose = yaml.safe_load(path.read_text())
    for name, svc in (compose.get("services") or {}).items():
        image = str(svc.get("image") or "")
        if "build" not in svc and IMAGE_NAME not in image.rsplit("/", 1)[-1]:
            continue  # third-party container (Kafka, Postgres, Grafana, ...)
        env = svc.get("environment") or {}
        if isinstance(env, list):
            env = dict(item.partition("=")[::2] for item in env)
        yield Container(
            where=f"docker-compose.yml service {name}",
            argv=tuple(str(a) for a in svc.get("command") or []),
            given=tuple(Given(k, compose_provides(v), "environment") for k, v in env.items()),
        )


# --- deploy/k8s ---------------------------------------------------------------------------------------------


def _kubectl() -> str:
    found = shutil.which("kubectl")
    if found is None:
        pytest.fail("kubectl is required to build deploy/k8s (it bundles kustomize); install it and re-run")
    return found


def kustomize(directory: Path) -> list[dict[str, Any]]:
    out = subprocess.run(
        [_kubectl(), "kustomize", str(directory)], capture_output=True, text=True, check=False, timeout=60
    )
    assert out.returncode == 0, f"kubectl kustomize {directory.relative_to(REPO)}: {out.stderr}"
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def k8s_builds(tmp: Path) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """base, each overlay, and each overlay with every component (as scripts/k8s-validate.sh builds them)."""
    yield "deploy/k8s/base", kustomize(K8S / "base")
    components = sorted(p for p in (K8S / "components").iterdir() if (p / "kustomization.yaml").exists())
    for overlay in sorted(p for p in (K8S / "overlays").iterdir() if p.is_dir()):
        label = f"deploy/k8s/overlays/{overlay.name}"
        yield label, kustomize(overlay)
        combined = tmp / overlay.name
        combined.mkdir()
        (combined / "kustomization.yaml").write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "kustomize.config.k8s.io/v1beta1",
                    "kind": "Kustomization",
                    "resources": [os.path.relpath(overlay, combined)],
                    "components": [os.path.relpath(c, combined) for c in components],
                }
            )
        )
        yield f"{label} + every component", kustomize(combined)


def source_files() -> dict[tuple[str, str], str]:
    """(kind, name) -> the file under deploy/k8s that defines it (for messages)."""
    out: dict[tuple[str, str], str] = {}
    for path in sorted(K8S.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and "kind" in doc and "name" in (doc.get("metadata") or {}):
                out.setdefault((doc["kind"], doc["metadata"]["name"]), str(path.relative_to(REPO)))
    return out


def pod_spec(doc: dict[str, Any]) -> dict[str, Any] | None:
    if doc.get("kind") == "CronJob":
        return dict(doc["spec"]["jobTemplate"]["spec"]["template"]["spec"])
    if doc.get("kind") in {"Deployment", "StatefulSet", "DaemonSet", "Job"}:
        return dict(doc["spec"]["template"]["spec"])
    return None


def k8s_given(container: dict[str, Any], docs: list[dict[str, Any]]) -> Iterator[Given]:
    data = {
        (d["kind"], d["metadata"]["name"]): {**(d.get("data") or {}), **(d.get("stringData") or {})}
        for d in docs
        if d.get("kind") in {"ConfigMap", "Secret"}
    }
    for src in container.get("envFrom") or []:
        for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            if key not in src:
                continue
            ref = src[key]
            values = data.get((kind, ref["name"]))
            if values is None:
                # An external Secret's keys cannot be checked: name them one by one with secretKeyRef.
                yield Given(f"<every key of {kind} {ref['name']}>", False, f"envFrom {kind} {ref['name']}")
                continue
            for var, value in values.items():
                yield Given(
                    src.get("prefix", "") + var,
                    bool(value) and not ref.get("optional", False),
                    f"envFrom {kind} {ref['name'].rsplit('-', 1)[0]}",
                )
    for env in container.get("env") or []:
        source = env.get("valueFrom") or {}
        ref = source.get("secretKeyRef") or source.get("configMapKeyRef")
        if ref is not None:
            kind = "Secret" if "secretKeyRef" in source else "ConfigMap"
            yield Given(env["name"], not ref.get("optional", False), f"env from {kind} key {ref['key']}")
        elif source:
            yield Given(env["name"], True, "env valueFrom")
        else:
            yield Given(env["name"], bool(env.get("value")), "env")


def k8s_containers(
    label: str, docs: list[dict[str, Any]], files: dict[tuple[str, str], str]
) -> Iterator[Container]:
    for doc in docs:
        spec = pod_spec(doc)
        if spec is None:
            continue
        kind, name = doc["kind"], doc["metadata"]["name"]
        for c in [*(spec.get("initContainers") or []), *spec["containers"]]:
            image = str(c.get("image") or "").rsplit("/", 1)[-1].partition(":")[0].partition("@")[0]
            if image != IMAGE_NAME:
                continue  # third-party container (the OpenTelemetry Collector, ...)
            yield Container(
                where=f"{files.get((kind, name), '?')} ({label}) {kind}/{name} container {c['name']}",
                argv=tuple(str(a) for a in [*(c.get("command") or []), *(c.get("args") or [])]),
                given=tuple(k8s_given(c, docs)),
            )


# --- tests --------------------------------------------------------------------------------------------------


def test_compose_gives_each_etsygen_container_what_it_reads() -> None:
    containers = list(compose_containers())
    assert {c.where.rsplit(" ", 1)[-1] for c in containers} >= {
        "gateway",
        "scraper",
        "analyzer",
        "generator",
        "migrate",
    }
    problems = [p for c in containers for p in check(c)]
    assert not problems, "\n".join(problems)


def test_k8s_gives_each_etsygen_container_what_it_reads(tmp_path: Path) -> None:
    files = source_files()
    problems: list[str] = []
    seen: set[str] = set()
    for label, docs in k8s_builds(tmp_path):
        for container in k8s_containers(label, docs, files):
            seen.add(container.where.split(" ")[-3])
            problems += check(container)
    assert seen >= {
        "Deployment/gateway",
        "Deployment/scraper",
        "Deployment/analyzer",
        "Deployment/generator",
        "Job/etsygen-migrate",
        "CronJob/etsygen-retention",
    }, seen
    assert not problems, "\n".join(dict.fromkeys(problems))


def test_the_check_names_a_variable_the_command_does_not_read() -> None:
    container = Container(
        where="docker-compose.yml service generator",
        argv=("etsygen", "run", "generator"),
        given=(Given("DATABASE_URL", True, "environment"), Given("OPENAI_API_KEY", True, "environment")),
    )
    assert check(container) == [
        "OPENAI_API_KEY (environment) is given to docker-compose.yml service generator "
        "(`etsygen run generator`), which does not read it",
        "REDIS_URL (RedisSettings) is required by docker-compose.yml service generator "
        "(`etsygen run generator`) but not provided",
        "KAFKA_BOOTSTRAP_SERVERS (KafkaSettings) is required by docker-compose.yml service generator "
        "(`etsygen run generator`) but not provided",
    ]


@pytest.mark.parametrize(
    ("value", "provided"),
    [
        ("x", True),
        ("", False),
        (None, False),
        ("${A:-}", False),
        ("${A}", False),
        ("${A:-b}", True),
        ("${A:?set A}", True),
    ],
)
def test_compose_interpolation_decides_whether_a_value_is_provided(value: str | None, provided: bool) -> None:
    assert compose_provides(value) is provided
