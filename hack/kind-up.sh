#!/usr/bin/env bash
# Creates the kind cluster for the operator (idempotent) and installs what the operator needs from a hub
# besides its own chart: the minimal OCM CRDs of hack/crds/ocm/ — governance (Policy, PlacementBinding,
# PlacementRule), plus ManagedCluster and ManagedClusterView, which OCM's registration and view add-on
# would serve (on kind, e2e/src/bin/view-agent.rs plays both). Then `make image kind-load deploy` runs
# the operator in it.
# Env: KIND_CLUSTER (default ramen-hub), KIND_NODE_IMAGE (optional kindest/node image).
set -euo pipefail
cd "$(dirname "$0")/.."

cluster="${KIND_CLUSTER:-ramen-hub}"
context="kind-${cluster}"

die() { printf 'kind-up: error: %s\n' "$*" >&2; exit 1; }

command -v kind >/dev/null 2>&1 ||
  die "kind is not installed (https://kind.sigs.k8s.io; e.g. 'go install sigs.k8s.io/kind@latest')"
command -v kubectl >/dev/null 2>&1 || die "kubectl is not installed"

if kind get clusters 2>/dev/null | grep -qx -- "${cluster}"; then
  echo "kind cluster ${cluster} exists"
else
  args=(create cluster --name "${cluster}" --wait 120s)
  if [[ -n "${KIND_NODE_IMAGE:-}" ]]; then
    args+=(--image "${KIND_NODE_IMAGE}")
  fi
  kind "${args[@]}" || die "kind create cluster ${cluster} failed (is the container engine running?)"
fi

kubectl --context "${context}" wait --for=condition=Ready nodes --all --timeout=120s >/dev/null ||
  die "the nodes of ${cluster} did not become Ready"
kubectl --context "${context}" apply --server-side -f hack/crds/ocm/ >/dev/null ||
  die "installing the OCM CRDs of hack/crds/ocm/ failed"
kubectl --context "${context}" wait --for=condition=Established --timeout=60s \
  crd/policies.policy.open-cluster-management.io \
  crd/placementbindings.policy.open-cluster-management.io \
  crd/placementrules.apps.open-cluster-management.io >/dev/null ||
  die "the OCM CRDs did not become Established"

echo "kind cluster ${cluster} is ready (context ${context}, OCM CRDs installed)"
