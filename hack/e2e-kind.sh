#!/usr/bin/env bash
# The e2e suite on kind: creates the cluster (hack/kind-up.sh), builds the image and loads it, installs
# the chart, starts the view agent on this machine (e2e/src/bin/view-agent.rs: plays OCM's managed
# clusters from e2e/tables/e2e.yaml, e2e-silent never answering), runs the suite of e2e/ against it, and
# deletes the cluster (KEEP_CLUSTER=1 keeps it; it is always kept when the suite fails, for debugging).
# Needs docker, kind, kubectl, promtool, curl and cargo.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=hack/lib/view-agent.sh
source hack/lib/view-agent.sh

die() { printf 'e2e: error: %s\n' "$*" >&2; exit 1; }
for tool in docker kind kubectl promtool cargo curl; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done

cluster="${KIND_CLUSTER:-ramen-hub}"
image="${IMAGE:-ramen-hub-operator:dev}"
namespace="${CHART_NAMESPACE:-ramen-system}"
release="${CHART_RELEASE:-ramen-hub-operator}"
state="$PWD/.local/e2e-kind"
target="${CARGO_TARGET_DIR:-$PWD/target}"
mkdir -p "$state"

cargo build --quiet -p e2e --bin view-agent
make kind-up KIND_CLUSTER="$cluster"
make image IMAGE="$image"
make kind-load IMAGE="$image" KIND_CLUSTER="$cluster"
kubectl config use-context "kind-$cluster" >/dev/null
make deploy IMAGE="$image" CHART_NAMESPACE="$namespace" CHART_RELEASE="$release"
kind get kubeconfig --name "$cluster" >"$state/kubeconfig"
bash hack/rbac-check.sh "$namespace" \
  "$(kubectl -n "$namespace" get deployment "$release" -o jsonpath='{.spec.template.spec.serviceAccountName}')"

pids=()
# shellcheck disable=SC2317  # called through the EXIT trap
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

# The managed clusters: the agent registers every cluster of the table as a joined ManagedCluster and
# answers the operator's ManagedClusterViews until killed. A process of its own: each test of the suite
# runs in its own runtime, so an agent spawned by a test would stop with it.
"$target/debug/view-agent" --kubeconfig "$state/kubeconfig" --table e2e/tables/e2e.yaml \
  --never-answer e2e-silent >"$state/view-agent.log" 2>&1 &
view_agent=$!
pids+=("$view_agent")
wait_view_agent "$view_agent" "$state/view-agent.log" || die "the view agent did not start"

# The chart serves /metrics over HTTPS to callers the API server authorizes (metricsSecurity.enabled):
# the suite scrapes it as a ServiceAccount bound to the chart's metrics-reader ClusterRole.
kubectl -n "$namespace" create serviceaccount e2e-metrics-scraper --dry-run=client -o yaml | kubectl apply -f -
kubectl create clusterrolebinding e2e-metrics-scraper --clusterrole "$release-metrics-reader" \
  --serviceaccount "$namespace:e2e-metrics-scraper" --dry-run=client -o yaml | kubectl apply -f -
E2E_METRICS_TOKEN="$(kubectl -n "$namespace" create token e2e-metrics-scraper)"
export E2E_METRICS_TOKEN
metrics_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
kubectl --context "kind-$cluster" -n "$namespace" port-forward "service/$release-metrics" \
  "$metrics_port:metrics" >"$state/port-forward.log" 2>&1 &
pids+=($!)
sleep 2

status=0
E2E_KUBECONFIG="$state/kubeconfig" E2E_NAMESPACE="$namespace" \
  E2E_METRICS_URL="https://127.0.0.1:$metrics_port/metrics" \
  cargo test --quiet -p e2e -- --test-threads=1 || status=$?

if ! kill -0 "$view_agent" 2>/dev/null; then
  echo "e2e: the view agent exited early:" >&2
  tail -20 "$state/view-agent.log" >&2
  status=1
fi
kubectl --context "kind-$cluster" -n "$namespace" logs "deployment/$release" >"$state/operator.log" || true
if grep -q -e e2e-access-key-0b7c -e e2e-secret-key-4f1d "$state/operator.log"; then
  echo "e2e: a secret value appears in the operator log" >&2
  status=1
fi

if [ "$status" -ne 0 ]; then
  echo "e2e: FAILED; the cluster $cluster is kept (make kind-down KIND_CLUSTER=$cluster deletes it)" >&2
  exit "$status"
fi
if [ "${KEEP_CLUSTER:-0}" != 1 ]; then
  make kind-down KIND_CLUSTER="$cluster"
fi
echo "e2e: passed"
