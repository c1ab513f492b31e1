"""Offline checks of Etsy-Gen's deployment files, run by scripts/k8s-validate.sh.

Two commands:

``k8s LABEL=FILE ...``
    Each FILE is the output of ``kubectl kustomize`` for one overlay (optionally with components). Every
    resource is validated against the Kubernetes OpenAPI schemas shipped inside the ``kubernetes-validate``
    package (strict: unknown fields fail; an unknown kind/apiVersion fails; the one custom resource shipped,
    a Prometheus Operator PrometheusRule, against its own strict schema), then against the house rules:
    non-root, read-only root filesystem with an emptyDir /tmp, no privilege escalation, all capabilities
    dropped, RuntimeDefault seccomp, startup/liveness/readiness probes on the health endpoints, requests and
    limits, autoscaling within the partition count, disruption budgets, references that resolve, Secrets
    that hold placeholders only, and Kafka durability (kafka_durability.py). Custom resources (KafkaTopic,
    ...) are validated against vendored schemas and rules instead (crds.py: a table of known kinds).

``configs ROOT``
    docker-compose.yml, deploy/prometheus, deploy/grafana and deploy/otel agree with each other and with the
    service ports (gateway 8000, scraper 8101, analyzer 8102, generator 8103); the alert rules have their
    runbook entries and the PrometheusRule of components/prometheus-rules says what alerts.yml says.

Needs PyYAML and kubernetes-validate (which brings jsonschema); no network, no cluster.
"""

# A command-line checker: printing findings is its job (T201), and one `if` + append per rule reads clearer
# than comprehensions (PERF401).
# ruff: noqa: T201, PERF401
from __future__ import annotations

import argparse
import base64
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import crds  # siblings of this script (run as deploy/validate/validate.py)
import kafka_durability
import yaml

NAMESPACE = "etsygen"
SERVICES = {"gateway": 8000, "scraper": 8101, "analyzer": 8102, "generator": 8103}
TOPIC_PARTITIONS_DEFAULT = 6
PLACEHOLDER_MARK = "CHANGE-ME"
CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "PriorityClass",
    "StorageClass",
    "PersistentVolume",
    "CustomResourceDefinition",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
}
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}


class Report:
    """Collects problems of one build; printing is left to the caller."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def error(self, where: str, message: str) -> None:
        self.errors.append(f"{where}: {message}")

    def warn(self, where: str, message: str) -> None:
        self.warnings.append(f"{where}: {message}")


def kn(doc: dict[str, Any]) -> str:
    return f"{doc.get('kind', '?')}/{(doc.get('metadata') or {}).get('name', '?')}"


def dig(obj: Any, *path: str | int, default: Any = None) -> Any:
    for key in path:
        if isinstance(obj, dict) and isinstance(key, str):
            obj = obj.get(key)
        elif isinstance(obj, list) and isinstance(key, int) and -len(obj) <= key < len(obj):
            obj = obj[key]
        else:
            return default
        if obj is None:
            return default
    return obj


# --- Kubernetes ---------------------------------------------------------------------------------------------


# Custom resources are not in the Kubernetes OpenAPI schemas, so kubernetes-validate rejects them as unknown
# kinds. The ones Etsy-Gen ships are accepted explicitly, each against its own strict schema (a subset of its
# CRD: the fields used here, unknown ones fail) and house rules; any other unknown kind still fails.
_DURATION = "^([0-9]+(ms|s|m|h|d|w|y))+$"
_STRINGS = {"type": "object", "additionalProperties": {"type": "string"}}
PROMETHEUS_RULE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "PrometheusRule"},
        "metadata": {
            "type": "object",
            "required": ["name"],
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "namespace": {"type": "string"},
                "labels": _STRINGS,
                "annotations": _STRINGS,
            },
        },
        "spec": {
            "type": "object",
            "required": ["groups"],
            "additionalProperties": False,
            "properties": {
                "groups": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["name", "rules"],
                        "additionalProperties": False,
                        "properties": {
                            "name": {"type": "string", "minLength": 1},
                            "interval": {"type": "string", "pattern": _DURATION},
                            "rules": {
                                "type": "array",
                                "minItems": 1,
                                "items": {
                                    "type": "object",
                                    "required": ["expr"],
                                    "additionalProperties": False,
                                    "properties": {
                                        "alert": {"type": "string", "minLength": 1},
                                        "record": {"type": "string", "minLength": 1},
                                        "expr": {"type": "string", "minLength": 1},
                                        "for": {"type": "string", "pattern": _DURATION},
                                        "keep_firing_for": {"type": "string", "pattern": _DURATION},
                                        "labels": _STRINGS,
                                        "annotations": _STRINGS,
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}
CUSTOM_KINDS: dict[tuple[str, str], dict[str, Any]] = {
    ("monitoring.coreos.com/v1", "PrometheusRule"): PROMETHEUS_RULE_SCHEMA,
}
SEVERITIES = {"warning", "critical"}
RUNBOOK = "docs/operations.md#"


def alert_rule_problems(groups: list[dict[str, Any]]) -> list[str]:
    """House rules of alerting rules: a ``for:``, a severity, a summary, a description and a runbook."""
    problems = []
    for group in groups:
        for rule in group.get("rules") or []:
            name = rule.get("alert")
            if name is None:
                continue
            if not rule.get("for"):
                problems.append(f"alert {name}: needs `for:`")
            if dig(rule, "labels", "severity") not in SEVERITIES:
                problems.append(f"alert {name}: labels.severity must be one of {sorted(SEVERITIES)}")
            for key in ("summary", "description"):
                if not dig(rule, "annotations", key):
                    problems.append(f"alert {name}: annotations.{key} is required")
            if dig(rule, "annotations", "runbook_url") != f"{RUNBOOK}{name.lower()}":
                problems.append(f"alert {name}: annotations.runbook_url must be {RUNBOOK}{name.lower()}")
    return problems


def custom_check(doc: dict[str, Any], schema: dict[str, Any], report: Report) -> None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    for error in sorted(validator.iter_errors(doc), key=lambda e: list(e.path)):
        path = ".".join(str(p) for p in error.path) or "<root>"
        report.error(kn(doc), f"schema ({doc.get('kind')}, strict): {path}: {error.message}")
    if doc.get("kind") == "PrometheusRule":
        for problem in alert_rule_problems(dig(doc, "spec", "groups", default=[])):
            report.error(kn(doc), problem)


def schema_check(docs: list[dict[str, Any]], version: str, report: Report) -> None:
    import kubernetes_validate
    from kubernetes_validate import utils as kv

    for doc in docs:
        crd = crds.crd_of(doc)
        if crd is not None:
            for problem in crds.schema_problems(doc, crd):
                report.error(kn(doc), problem)
            continue
        custom = CUSTOM_KINDS.get((doc.get("apiVersion", ""), doc.get("kind", "")))
        if custom is not None:
            custom_check(doc, custom, report)
            continue
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kv.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path) or "<root>"
            report.error(kn(doc), f"schema (Kubernetes {exc.version}, strict): {path}: {exc.message}")
        except kv.SchemaNotFoundError as exc:
            report.error(kn(doc), f"unknown kind/apiVersion: {exc.message}")
        except kv.VersionNotSupportedError:
            report.error(kn(doc), f"kubernetes-validate has no schemas for Kubernetes {version}")


def pod_template(doc: dict[str, Any]) -> dict[str, Any] | None:
    kind = doc.get("kind")
    template: dict[str, Any] | None = None
    if kind in {"Deployment", "StatefulSet", "DaemonSet", "Job"}:
        template = dig(doc, "spec", "template")
    elif kind == "CronJob":
        template = dig(doc, "spec", "jobTemplate", "spec", "template")
    return template


def containers_of(pod_spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from pod_spec.get("initContainers") or []
    yield from pod_spec.get("containers") or []


def selector_matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    if not selector:
        return False
    match_labels = selector.get("matchLabels") or {}
    if any(labels.get(k) != v for k, v in match_labels.items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if (op == "In" and labels.get(key) not in values) or (op == "NotIn" and labels.get(key) in values):
            return False
        if (op == "Exists" and key not in labels) or (op == "DoesNotExist" and key in labels):
            return False
    return bool(match_labels or selector.get("matchExpressions"))


def etsygen_service_of(container: dict[str, Any]) -> str | None:
    """The service a container runs (`etsygen run <service>`), if any."""
    argv = list(container.get("command") or []) + list(container.get("args") or [])
    if len(argv) >= 3 and argv[0] == "etsygen" and argv[1] == "run":
        return str(argv[2])
    return None


def check_security(where: str, pod_spec: dict[str, Any], report: Report) -> None:
    pod_sc = pod_spec.get("securityContext") or {}
    if pod_spec.get("automountServiceAccountToken") is not False:
        report.error(where, "automountServiceAccountToken must be false (no process talks to the API)")
    if pod_spec.get("hostNetwork") or pod_spec.get("hostPID") or pod_spec.get("hostIPC"):
        report.error(where, "host namespaces are not allowed")
    emptydirs = {v["name"] for v in pod_spec.get("volumes") or [] if "emptyDir" in v}
    for c in containers_of(pod_spec):
        cw = f"{where} container {c.get('name')}"
        sc = c.get("securityContext") or {}
        non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
        if non_root is not True:
            report.error(cw, "runAsNonRoot must be true (container or pod securityContext)")
        if sc.get("runAsUser", pod_sc.get("runAsUser")) == 0:
            report.error(cw, "runAsUser must not be 0")
        if sc.get("allowPrivilegeEscalation") is not False:
            report.error(cw, "securityContext.allowPrivilegeEscalation must be false")
        if sc.get("privileged") is True:
            report.error(cw, "privileged containers are not allowed")
        if sc.get("readOnlyRootFilesystem") is not True:
            report.error(cw, "securityContext.readOnlyRootFilesystem must be true")
        drops = [str(d).upper() for d in dig(sc, "capabilities", "drop", default=[])]
        if "ALL" not in drops:
            report.error(cw, "securityContext.capabilities.drop must contain ALL")
        if dig(sc, "capabilities", "add"):
            report.error(cw, "no capabilities may be added")
        seccomp = dig(sc, "seccompProfile", "type") or dig(pod_sc, "seccompProfile", "type")
        if seccomp not in {"RuntimeDefault", "Localhost"}:
            report.error(cw, "seccompProfile.type must be RuntimeDefault (container or pod)")
        scratch = "/tmp"  # noqa: S108 - a mount path in a manifest, not a file this script opens
        tmp = [m for m in c.get("volumeMounts") or [] if m.get("mountPath") == scratch]
        if not tmp or tmp[0].get("name") not in emptydirs:
            report.error(cw, "needs an emptyDir volume mounted at /tmp (the root filesystem is read-only)")
        check_resources(cw, c, report)
        image = str(c.get("image") or "")
        tag = image.rsplit("/", 1)[-1].partition(":")[2] if "@" not in image else "digest"
        if not tag or tag == "latest":
            report.error(cw, f"image {image!r} must be pinned to a tag or digest (not latest)")


def parse_quantity(value: Any) -> float:
    text = str(value)
    units = {
        "Ki": 2**10,
        "Mi": 2**20,
        "Gi": 2**30,
        "Ti": 2**40,
        "k": 1e3,
        "M": 1e6,
        "G": 1e9,
        "T": 1e12,
        "m": 1e-3,
    }
    for suffix, factor in sorted(units.items(), key=lambda kv: -len(kv[0])):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


def check_resources(where: str, container: dict[str, Any], report: Report) -> None:
    res = container.get("resources") or {}
    for part in ("requests", "limits"):
        for resource in ("cpu", "memory"):
            if dig(res, part, resource) is None:
                report.error(where, f"resources.{part}.{resource} is required")
    for resource in ("cpu", "memory"):
        req, lim = dig(res, "requests", resource), dig(res, "limits", resource)
        if req is not None and lim is not None and parse_quantity(req) > parse_quantity(lim):
            report.error(where, f"resources.requests.{resource} ({req}) exceeds the limit ({lim})")


def probe_target(probe: dict[str, Any] | None) -> tuple[str | None, Any]:
    if not probe:
        return None, None
    if "httpGet" in probe:
        return probe["httpGet"].get("path"), probe["httpGet"].get("port")
    if "tcpSocket" in probe:
        return "<tcp>", probe["tcpSocket"].get("port")
    if "grpc" in probe:
        return "<grpc>", probe["grpc"].get("port")
    return "<exec>", None


def check_probes(where: str, pod_spec: dict[str, Any], report: Report) -> None:
    for c in pod_spec.get("containers") or []:
        cw = f"{where} container {c.get('name')}"
        ports = {p.get("name"): p.get("containerPort") for p in c.get("ports") or []}
        for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
            probe = c.get(kind)
            if not probe:
                report.error(cw, f"{kind} is required")
                continue
            _, port = probe_target(probe)
            if isinstance(port, str) and port not in ports:
                report.error(cw, f"{kind} uses port {port!r}, which the container does not declare")
        service = etsygen_service_of(c)
        if service is None:
            continue
        expected = SERVICES.get(service)
        if expected is None:
            report.error(cw, f"runs unknown service {service!r}")
            continue
        if ports.get("http") != expected:
            report.error(cw, f"{service} must declare containerPort {expected} named http")
        env = {e["name"]: e.get("value") for e in c.get("env") or [] if "name" in e}
        if env.get("SERVICE_PORT") != str(expected):
            report.error(cw, f"env SERVICE_PORT must be {expected!r}")
        wanted = {
            "startupProbe": "/health/live",
            "livenessProbe": "/health/live",
            "readinessProbe": "/health/ready",
        }
        for kind, path in wanted.items():
            got, port = probe_target(c.get(kind))
            if got is not None and got != path:
                report.error(cw, f"{kind} must GET {path} (got {got})")
            if got is not None and port not in ("http", expected):
                report.error(cw, f"{kind} must target the http port ({expected})")


def check_references(
    where: str, pod_spec: dict[str, Any], names: dict[str, set[str]], secrets_external: bool, report: Report
) -> None:
    def need(kind: str, name: str | None, optional: bool = False) -> None:
        if not name or name in names.get(kind, set()) or optional:
            return
        if kind == "Secret" and secrets_external:
            report.warn("Secret", f"{name!r} is not in this build; create it out of band before deploying")
        else:
            report.error(where, f"references {kind} {name!r}, which is not in the build")

    sa = pod_spec.get("serviceAccountName")
    if not sa:
        report.error(where, "serviceAccountName must be set (its own ServiceAccount, not default)")
    else:
        need("ServiceAccount", sa)
    for c in containers_of(pod_spec):
        for src in c.get("envFrom") or []:
            if "configMapRef" in src:
                need("ConfigMap", src["configMapRef"].get("name"), src["configMapRef"].get("optional", False))
            if "secretRef" in src:
                need("Secret", src["secretRef"].get("name"), src["secretRef"].get("optional", False))
        for env in c.get("env") or []:
            ref = dig(env, "valueFrom", "secretKeyRef")
            if ref:
                need("Secret", ref.get("name"), ref.get("optional", False))
            ref = dig(env, "valueFrom", "configMapKeyRef")
            if ref:
                need("ConfigMap", ref.get("name"), ref.get("optional", False))
    for vol in pod_spec.get("volumes") or []:
        if "configMap" in vol:
            need("ConfigMap", vol["configMap"].get("name"), vol["configMap"].get("optional", False))
        if "secret" in vol:
            need("Secret", vol["secret"].get("secretName"), vol["secret"].get("optional", False))


def check_kafka(docs: list[dict[str, Any]], facts: crds.Facts, report: Report) -> None:
    """Durability of the topics declared in the build and of the services' own Kafka settings.

    The rules' problems name their resource already, so they are recorded as they are.
    """
    for doc in docs:
        crd = crds.crd_of(doc)
        if crd is not None:
            report.errors += crds.rule_problems(doc, crd, facts)
        if doc.get("kind") == "ConfigMap":
            report.errors += kafka_durability.config_map_problems(
                kn(doc), doc.get("data") or {}, facts.single_broker
            )
        template = pod_template(doc)
        for c in containers_of(dig(template, "spec", default={})) if template else []:
            env = {e["name"]: e.get("value") for e in c.get("env") or [] if "value" in e}
            report.errors += kafka_durability.acks_problems(f"{kn(doc)} container {c.get('name')}", env)


def check_build(
    label: str, docs: list[dict[str, Any]], version: str, secrets_external: bool, single_broker: bool = False
) -> Report:
    report = Report(label)
    schema_check(docs, version, report)

    names: dict[str, set[str]] = {}
    seen: set[tuple[str, str]] = set()
    for doc in docs:
        meta = doc.get("metadata") or {}
        key = (doc.get("kind", ""), meta.get("name", ""))
        if key in seen:
            report.error(kn(doc), "defined twice")
        seen.add(key)
        names.setdefault(doc.get("kind", ""), set()).add(meta.get("name", ""))
        if doc.get("kind") not in CLUSTER_SCOPED and meta.get("namespace") != NAMESPACE:
            report.error(kn(doc), f"must be in namespace {NAMESPACE!r} (got {meta.get('namespace')!r})")

    by_kind: dict[str, list[dict[str, Any]]] = {}
    for doc in docs:
        by_kind.setdefault(doc.get("kind", ""), []).append(doc)

    ns = [d for d in by_kind.get("Namespace", []) if d["metadata"]["name"] == NAMESPACE]
    if not ns:
        report.error("Namespace", f"namespace {NAMESPACE!r} is not part of the build")
    elif dig(ns[0], "metadata", "labels", "pod-security.kubernetes.io/enforce") != "restricted":
        report.error(kn(ns[0]), "should enforce the restricted Pod Security Standard")

    # Partition count: the autoscaling ceiling of every consumer group.
    partitions = TOPIC_PARTITIONS_DEFAULT
    for cm in by_kind.get("ConfigMap", []):
        value = dig(cm, "data", "KAFKA_PARTITIONS")
        if value is not None and cm["metadata"]["name"].startswith("etsygen-config"):
            partitions = int(value)

    check_kafka(docs, crds.Facts(partitions=partitions, single_broker=single_broker), report)

    deployments = {d["metadata"]["name"]: d for d in by_kind.get("Deployment", [])}
    for doc in docs:
        template = pod_template(doc)
        if doc.get("kind") in WORKLOAD_KINDS and template is None:
            report.error(kn(doc), "has no pod template")
        if template is None:
            continue
        pod_spec = template.get("spec") or {}
        check_security(kn(doc), pod_spec, report)
        check_references(kn(doc), pod_spec, names, secrets_external, report)
        if doc["kind"] == "Deployment":
            check_probes(kn(doc), pod_spec, report)
            labels = dig(template, "metadata", "labels", default={})
            if not selector_matches(dig(doc, "spec", "selector"), labels):
                report.error(kn(doc), "spec.selector does not match the pod template labels")
        if doc["kind"] in {"Job", "CronJob"} and pod_spec.get("restartPolicy") not in {"Never", "OnFailure"}:
            report.error(kn(doc), "restartPolicy must be Never or OnFailure")

    for service, port in SERVICES.items():
        for kind in ("Deployment", "Service", "ServiceAccount", "PodDisruptionBudget"):
            if service not in names.get(kind, set()):
                report.error(
                    f"{kind}/{service}",
                    "missing (every service has Deployment, Service, ServiceAccount and PodDisruptionBudget)",
                )
        dep = deployments.get(service)
        if dep is not None:
            ran = {
                etsygen_service_of(c) for c in dig(dep, "spec", "template", "spec", "containers", default=[])
            }
            if service not in ran:
                report.error(kn(dep), f"must run `etsygen run {service}`")
            if dig(dep, "spec", "template", "metadata", "annotations", "prometheus.io/port") != str(port):
                report.error(kn(dep), f"pod annotation prometheus.io/port must be {port!r}")

    for svc in by_kind.get("Service", []):
        targets = [
            d
            for d in deployments.values()
            if selector_matches(
                {"matchLabels": dig(svc, "spec", "selector", default={})},
                dig(d, "spec", "template", "metadata", "labels", default={}),
            )
        ]
        if not targets:
            report.error(kn(svc), "selector matches no Deployment's pods")
            continue
        port_names = {
            p.get("name")
            for c in dig(targets[0], "spec", "template", "spec", "containers", default=[])
            for p in c.get("ports") or []
        }
        for p in dig(svc, "spec", "ports", default=[]):
            if isinstance(p.get("targetPort"), str) and p["targetPort"] not in port_names:
                report.error(
                    kn(svc), f"targetPort {p['targetPort']!r} is not a named port of {kn(targets[0])}"
                )

    hpa_targets = set()
    for hpa in by_kind.get("HorizontalPodAutoscaler", []):
        ref = dig(hpa, "spec", "scaleTargetRef", default={})
        hpa_targets.add(ref.get("name"))
        if ref.get("kind") != "Deployment" or ref.get("name") not in deployments:
            report.error(kn(hpa), f"scaleTargetRef {ref} is not a Deployment in the build")
        lo, hi = dig(hpa, "spec", "minReplicas", default=1), dig(hpa, "spec", "maxReplicas", default=0)
        if hi > partitions:
            report.error(
                kn(hpa), f"maxReplicas {hi} exceeds the partition count {partitions}: extra consumers idle"
            )
        if lo > hi:
            report.error(kn(hpa), f"minReplicas {lo} > maxReplicas {hi}")
    for name, dep in deployments.items():
        replicas = dig(dep, "spec", "replicas")
        if name in hpa_targets and replicas is not None:
            report.warn(kn(dep), "sets spec.replicas although an HPA owns the count (each apply resets it)")
        if replicas is not None and replicas > partitions and name in SERVICES:
            report.error(kn(dep), f"replicas {replicas} exceeds the partition count {partitions}")

    for pdb in by_kind.get("PodDisruptionBudget", []):
        selector = dig(pdb, "spec", "selector")
        if not any(
            selector_matches(selector, dig(d, "spec", "template", "metadata", "labels", default={}))
            for d in deployments.values()
        ):
            report.error(kn(pdb), "selector matches no Deployment's pods")

    jobs = by_kind.get("Job", [])
    if not any(dig(j, "spec", "template", "spec", "containers", 0, "args") == ["migrate"] for j in jobs):
        report.error("Job", "a migration Job running `etsygen migrate` is required")
    crons = by_kind.get("CronJob", [])
    if not any(
        dig(c, "spec", "jobTemplate", "spec", "template", "spec", "containers", 0, "args")
        == ["retention", "run"]
        for c in crons
    ):
        report.error("CronJob", "a retention CronJob running `etsygen retention run` is required")

    for secret in by_kind.get("Secret", []):
        values = {
            k: base64.b64decode(v).decode("utf-8", "replace") for k, v in (secret.get("data") or {}).items()
        }
        values.update(secret.get("stringData") or {})
        for key, value in values.items():
            if PLACEHOLDER_MARK not in value:
                report.error(
                    kn(secret),
                    f"key {key} does not look like a placeholder (must contain "
                    f"{PLACEHOLDER_MARK}); real credentials never go into the repository",
                )

    policies = by_kind.get("NetworkPolicy", [])
    if policies:
        deny = [
            p
            for p in policies
            if dig(p, "spec", "podSelector") == {}
            and set(dig(p, "spec", "policyTypes", default=[])) == {"Ingress", "Egress"}
            and not dig(p, "spec", "ingress")
            and not dig(p, "spec", "egress")
        ]
        if not deny:
            report.error("NetworkPolicy", "network policies need a default deny of Ingress and Egress")
        dns = any(
            53
            in [
                p.get("port")
                for rule in dig(p, "spec", "egress", default=[])
                for p in rule.get("ports") or []
            ]
            for p in policies
        )
        if not dns:
            report.error("NetworkPolicy", "no policy allows DNS egress (port 53)")
    return report


def load_docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def cmd_k8s(args: argparse.Namespace) -> int:
    failed = False
    for spec in args.builds:
        label, _, file = spec.partition("=")
        docs = load_docs(Path(file))
        external = any(label == p or label.startswith(p + "+") for p in args.external_secrets)
        single = any(label == p or label.startswith(p + "+") for p in args.single_broker)
        report = check_build(label, docs, args.kubernetes_version, external, single)
        kinds: dict[str, int] = {}
        for d in docs:
            kinds[d.get("kind", "?")] = kinds.get(d.get("kind", "?"), 0) + 1
        summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
        status = "FAIL" if report.errors else "ok"
        print(f"[{status}] {label}: {len(docs)} resources ({summary})")
        for w in dict.fromkeys(report.warnings):  # once each, in order
            print(f"    warning: {w}")
        for e in report.errors:
            print(f"    error: {e}")
        failed = failed or bool(report.errors)
    return 1 if failed else 0


# --- compose, Prometheus, Grafana, OpenTelemetry ------------------------------------------------------------


def check_configs(root: Path) -> list[str]:
    errors: list[str] = []
    compose = yaml.safe_load((root / "docker-compose.yml").read_text())
    services = compose.get("services") or {}

    # Every Etsy-Gen service: command, port, readiness healthcheck, start-order conditions.
    for name, port in SERVICES.items():
        svc = services.get(name)
        if svc is None:
            errors.append(f"docker-compose.yml: service {name} is missing")
            continue
        if svc.get("command") != ["etsygen", "run", name]:
            errors.append(f"docker-compose.yml: {name} must run `etsygen run {name}`")
        env = svc.get("environment") or {}
        if str(env.get("SERVICE_PORT")) != str(port):
            errors.append(f"docker-compose.yml: {name} SERVICE_PORT must be {port}")
        test = " ".join(dig(svc, "healthcheck", "test", default=[]))
        if f":{port}/health/ready" not in test:
            errors.append(f"docker-compose.yml: {name} healthcheck must probe :{port}/health/ready")
        for var in (
            "DATABASE_URL",
            "REDIS_URL",
            "KAFKA_BOOTSTRAP_SERVERS",
            "LOG_LEVEL",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
        ):
            if var not in env:
                errors.append(f"docker-compose.yml: {name} lacks {var}")
        deps = svc.get("depends_on") or {}
        for dep, condition in (
            ("postgres", "service_healthy"),
            ("redis", "service_healthy"),
            ("kafka", "service_healthy"),
            ("kafka-init", "service_completed_successfully"),
            ("migrate", "service_completed_successfully"),
        ):
            if dig(deps, dep, "condition") != condition:
                errors.append(f"docker-compose.yml: {name} must depend on {dep} with condition {condition}")
    errors += kafka_durability.compose_problems(compose, root)
    simulator = services.get("etsy-simulator") or {}
    all_interfaces = "0.0.0.0"  # noqa: S104 - the value expected in a compose file, not a bind
    if simulator and all_interfaces not in (simulator.get("command") or []):
        errors.append(
            "docker-compose.yml: etsy-simulator must bind --host 0.0.0.0 (its default is 127.0.0.1)"
        )
    scraper_url = str(dig(services, "scraper", "environment", "ETSY_BASE_URL", default=""))
    if "etsy-simulator:8200" not in scraper_url:
        errors.append(
            "docker-compose.yml: scraper ETSY_BASE_URL should default to http://etsy-simulator:8200"
        )
    for extra in (
        "postgres",
        "redis",
        "kafka",
        "prometheus",
        "grafana",
        "otel-collector",
        "jaeger",
        "etsy-simulator",
    ):
        if extra not in services:
            errors.append(f"docker-compose.yml: service {extra} is missing")
    for name, svc in services.items():
        for dep in svc.get("depends_on") or {}:
            if dep not in services:
                errors.append(f"docker-compose.yml: {name} depends on unknown service {dep}")
        for vol in svc.get("volumes") or []:
            source = str(vol).split(":", 1)[0]
            if source.startswith("./") and not (root / source).exists():
                errors.append(f"docker-compose.yml: {name} mounts {source}, which does not exist")

    # Prometheus scrapes every service on its own port, and only hosts compose defines.
    prom = yaml.safe_load((root / "deploy/prometheus/prometheus.yml").read_text())
    jobs = [j["job_name"] for j in prom.get("scrape_configs") or []]
    if len(jobs) != len(set(jobs)):
        errors.append("prometheus.yml: duplicate job_name")
    targets = {
        t
        for j in prom.get("scrape_configs") or []
        for sc in j.get("static_configs") or []
        for t in sc.get("targets") or []
    }
    for name, port in SERVICES.items():
        if f"{name}:{port}" not in targets:
            errors.append(f"prometheus.yml: no scrape target {name}:{port}")
    for job in prom.get("scrape_configs") or []:
        for sc in job.get("static_configs") or []:
            if "service" in (sc.get("labels") or {}):
                errors.append(
                    f"prometheus.yml: job {job['job_name']} sets a `service` target label, which clashes "
                    "with the `service` label every etsygen_* metric carries"
                )
    for target in targets:
        host = target.split(":", 1)[0]
        if host != "localhost" and host not in services:
            errors.append(f"prometheus.yml: target {target} is not a compose service")

    # Alert rules: compose's Prometheus loads alerts.yml; the Kubernetes PrometheusRule says the same.
    if "alerts.yml" not in (prom.get("rule_files") or []):
        errors.append("prometheus.yml: rule_files must load alerts.yml")
    alerts = yaml.safe_load((root / "deploy/prometheus/alerts.yml").read_text())
    errors.extend(f"alerts.yml: {p}" for p in alert_rule_problems(alerts.get("groups") or []))
    rule_path = root / "deploy/k8s/components/prometheus-rules/prometheus-rule.yaml"
    if dig(yaml.safe_load(rule_path.read_text()), "spec", "groups") != alerts.get("groups"):
        errors.append(
            "components/prometheus-rules/prometheus-rule.yaml differs from deploy/prometheus/alerts.yml: "
            "run `uv run etsygen metrics rules`"
        )
    runbook = (root / "docs/operations.md").read_text()
    for group in alerts.get("groups") or []:
        for rule in group.get("rules") or []:
            if "alert" in rule and f"\n### {rule['alert']}\n" not in runbook:
                errors.append(f"docs/operations.md: no runbook entry `### {rule['alert']}`")
    mounts = [str(v) for v in dig(services, "prometheus", "volumes", default=[])]
    if not any(m.startswith("./deploy/prometheus/alerts.yml:") for m in mounts):
        errors.append("docker-compose.yml: prometheus must mount ./deploy/prometheus/alerts.yml")

    # Grafana: data sources with fixed uids; the dashboard only uses known ones.
    ds = yaml.safe_load((root / "deploy/grafana/provisioning/datasources/datasources.yaml").read_text())
    uids = {d.get("uid") for d in ds.get("datasources") or []}
    if "prometheus" not in uids:
        errors.append("grafana datasources: a Prometheus data source with uid 'prometheus' is required")
    providers = yaml.safe_load((root / "deploy/grafana/provisioning/dashboards/dashboards.yaml").read_text())
    paths = {dig(p, "options", "path") for p in providers.get("providers") or []}
    mounts = {
        str(v).split(":")[1]
        for v in dig(services, "grafana", "volumes", default=[])
        if str(v).startswith("./")
    }
    if not paths <= mounts:
        errors.append(f"grafana: dashboard provider paths {paths} are not mounted in compose ({mounts})")
    dash_dir = root / "deploy/grafana/dashboards"
    dashboards = sorted(dash_dir.glob("*.json"))
    if not dashboards:
        errors.append("grafana: no dashboard JSON in deploy/grafana/dashboards")
    for path in dashboards:
        try:
            dash = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            errors.append(f"{path.name}: invalid JSON: {exc}")
            continue
        if not dash.get("uid") or not dash.get("title"):
            errors.append(f"{path.name}: uid and title are required")
        ids = [p.get("id") for p in dash.get("panels") or []]
        if len(ids) != len(set(ids)):
            errors.append(f"{path.name}: duplicate panel ids")
        variables = {f"${{{v['name']}}}" for v in dig(dash, "templating", "list", default=[])}
        for panel in dash.get("panels") or []:
            if panel.get("type") == "row":
                continue
            uid = dig(panel, "datasource", "uid")
            if uid not in uids | variables:
                errors.append(f"{path.name}: panel {panel.get('title')!r} uses unknown data source {uid!r}")
            for target in panel.get("targets") or []:
                if not str(target.get("expr") or "").strip():
                    errors.append(f"{path.name}: panel {panel.get('title')!r} has an empty query")
            if (dig(panel, "gridPos", "x", default=0) + dig(panel, "gridPos", "w", default=0)) > 24:
                errors.append(f"{path.name}: panel {panel.get('title')!r} is wider than the grid")

    # OpenTelemetry collector: pipelines use only defined components; compose and k8s copies agree.
    copies = [
        root / "deploy/otel/collector.yaml",
        root / "deploy/k8s/components/otel-collector/collector.yaml",
    ]
    bodies = []
    for path in copies:
        text = path.read_text()
        cfg = yaml.safe_load(text)
        bodies.append(text[text.index("\nextensions:") :] if "\nextensions:" in text else text)
        for pipeline, spec in (dig(cfg, "service", "pipelines", default={})).items():
            for section in ("receivers", "processors", "exporters"):
                for component in spec.get(section) or []:
                    if component not in (cfg.get(section) or {}):
                        errors.append(
                            f"{path.relative_to(root)}: pipeline {pipeline} uses undefined {section[:-1]} "
                            f"{component}"
                        )
        for ext in dig(cfg, "service", "extensions", default=[]):
            if ext not in (cfg.get("extensions") or {}):
                errors.append(f"{path.relative_to(root)}: undefined extension {ext}")
    if len(set(bodies)) != 1:
        errors.append(
            "deploy/otel/collector.yaml and components/otel-collector/collector.yaml differ below their "
            "headers; keep them in step"
        )
    return errors


def cmd_configs(args: argparse.Namespace) -> int:
    errors = check_configs(Path(args.root))
    for e in errors:
        print(f"    error: {e}")
    print(f"[{'FAIL' if errors else 'ok'}] compose, prometheus, grafana and otel configs")
    return 1 if errors else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    k8s = sub.add_parser("k8s", help="validate kustomize builds")
    k8s.add_argument("builds", nargs="+", metavar="LABEL=FILE")
    k8s.add_argument("--kubernetes-version", default="1.32.0")
    k8s.add_argument(
        "--external-secrets",
        action="append",
        default=[],
        metavar="LABEL",
        help="builds (label or label+components) whose Secrets are created out of band",
    )
    k8s.add_argument(
        "--single-broker",
        action="append",
        default=[],
        metavar="LABEL",
        help="builds (label or label+components) meant for one Kafka broker (replication 1 allowed)",
    )
    k8s.set_defaults(func=cmd_k8s)
    configs = sub.add_parser("configs", help="validate compose/prometheus/grafana/otel files")
    configs.add_argument("root")
    configs.set_defaults(func=cmd_configs)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
