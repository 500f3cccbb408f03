#!/usr/bin/env bash
# Checks the systemd unit, Dockerfile and Kubernetes manifests (see
# check_manifests.py), then `systemd-analyze verify` on the unit when
# systemd-analyze exists, and `kubectl kustomize` on both Kubernetes
# directories when kubectl does (each skipped otherwise: not project dependencies).
# Usage: deploy/tests/check_manifests.sh PATH/TO/ccrouterd
set -euo pipefail
ccrouterd=${1:?usage: check_manifests.sh PATH/TO/ccrouterd}
deploy=$(cd "$(dirname "$0")/.." && pwd)

/usr/bin/python3 "$deploy/tests/check_manifests.py" --ccrouterd "$ccrouterd" --deploy-dir "$deploy"

if command -v systemd-analyze >/dev/null; then
  echo "== systemd-analyze verify deploy/systemd/ccrouterd.service"
  # verify insists the ExecStart binary exists: point it at the one under test.
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  sed "s|/usr/local/bin/ccrouterd|$(realpath "$ccrouterd")|g" \
    "$deploy/systemd/ccrouterd.service" > "$tmp/ccrouterd.service"
  out=$(systemd-analyze verify "$tmp/ccrouterd.service" 2>&1) || { echo "$out" >&2; exit 1; }
  # verify exits 0 on some warnings (unknown keys): treat any output about the unit as failure.
  if grep -q "ccrouterd.service" <<<"$out"; then echo "$out" >&2; exit 1; fi
  echo "systemd-analyze verify: OK"
else
  echo "check_manifests: SKIP systemd-analyze verify (systemd-analyze not installed)"
fi

# The cluster overlay is a kustomize patch of deploy/k8s: render both when
# kubectl is there (skipped otherwise: not a project dependency).
if command -v kubectl >/dev/null; then
  for dir in k8s k8s-cluster; do
    echo "== kubectl kustomize deploy/$dir"
    out=$(kubectl kustomize "$deploy/$dir" 2>&1) || { echo "$out" >&2; exit 1; }
  done
  echo "kubectl kustomize: OK"
else
  echo "check_manifests: SKIP kubectl kustomize (kubectl not installed)"
fi
