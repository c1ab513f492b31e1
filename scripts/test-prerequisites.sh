#!/usr/bin/env bash
# What `make test` needs beyond the Python environment: Debian's Chromium for the browser tests and
# promtool (Debian's `prometheus` package) for the alert-rule tests. Installs what is missing when this user
# can install packages (root, or passwordless sudo); otherwise stops at once with the one command to run.
# CHROMIUM_PATH names another Chromium; PROMTOOL_PATH another promtool.
set -euo pipefail

# kubectl (with its bundled kustomize) builds deploy/k8s for tests/deploy; Debian's kubernetes-client is too
# old for kustomize components, so it is not installed from here.
if ! command -v kubectl >/dev/null 2>&1; then
  echo "make test: kubectl (1.27 or newer) is needed to build deploy/k8s; install it from" >&2
  echo "  https://kubernetes.io/docs/tasks/tools/ and re-run" >&2
  exit 2
fi

missing=()
if [[ -z "${CHROMIUM_PATH:-}" ]] && ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  missing+=(chromium)
fi
if [[ -z "${PROMTOOL_PATH:-}" ]] && ! command -v promtool >/dev/null 2>&1; then
  missing+=(prometheus)
fi
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "make test: missing ${missing[*]} and this machine has no apt-get." >&2
  echo "  Install Chromium and promtool with your package manager, or set CHROMIUM_PATH and PROMTOOL_PATH." >&2
  exit 2
fi

if [[ $(id -u) -eq 0 ]]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  echo "make test: the browser and alert-rule tests need Debian packages that are not installed: ${missing[*]}" >&2
  echo "  run:  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 2
fi

echo "make test: installing ${missing[*]} (Debian packages: apt-get install ${missing[*]})"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's prometheus package starts a server on :9090 when installed; the tests only need promtool.
if [[ " ${missing[*]} " == *" prometheus "* ]]; then
  "${sudo[@]}" pkill -x prometheus 2>/dev/null || true
fi
echo "make test: installed ${missing[*]}"
