#!/usr/bin/env bash
# Deletes the kind cluster created by hack/kind-up.sh; nothing to do when it does not exist.
# Env: KIND_CLUSTER (default ramen-hub).
set -euo pipefail

cluster="${KIND_CLUSTER:-ramen-hub}"

if ! command -v kind >/dev/null 2>&1; then
  printf 'kind-down: error: kind is not installed\n' >&2
  exit 1
fi

if kind get clusters 2>/dev/null | grep -qx -- "${cluster}"; then
  kind delete cluster --name "${cluster}"
else
  echo "kind cluster ${cluster} does not exist: nothing to delete"
fi
