#!/usr/bin/env bash
# Runs the operator on this machine against the embedded API server (no cluster needed):
# starts test-apiserver, installs the CRDs, applies the example hub in examples/hub/, starts the view
# agent (e2e/src/bin/view-agent.rs: plays OCM for the example's managed clusters dr1 and dr2 from
# examples/hub/managed-clusters/views.yaml — registers them as joined ManagedClusters and answers the
# operator's ManagedClusterViews), runs hub-operator, and prints what it did, the DRPolicy's peer classes
# included. Keeps running until Ctrl-C. Needs cargo and kubectl.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=hack/lib/view-agent.sh
source hack/lib/view-agent.sh

command -v kubectl >/dev/null || { echo "run-local needs kubectl on PATH" >&2; exit 1; }

state=".local"
mkdir -p "$state"
kubeconfig="$PWD/$state/kubeconfig"
target="${CARGO_TARGET_DIR:-$PWD/target}"
health="${HEALTH_ADDRESS:-127.0.0.1:8081}"
metrics="${METRICS_ADDRESS:-127.0.0.1:9289}"

echo "building test-apiserver, hub-operator and view-agent..."
cargo build --quiet -p test-apiserver -p hub-operator
cargo build --quiet -p e2e --bin view-agent

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

rm -f "$kubeconfig"
"$target/debug/test-apiserver" --listen 127.0.0.1:0 --kubeconfig-out "$kubeconfig" \
  >"$state/apiserver.url" 2>"$state/apiserver.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$state/apiserver.url" ] && break; sleep 0.1; done
[ -s "$state/apiserver.url" ] || { echo "test-apiserver did not start; see $state/apiserver.log" >&2; exit 1; }
export KUBECONFIG="$kubeconfig"
echo "test-apiserver at $(cat "$state/apiserver.url")"

kubectl apply --server-side -f charts/ramen-hub-operator/crds/ -f hack/crds/ocm/ >/dev/null
kubectl wait --for condition=established --timeout=30s crd --all >/dev/null
kubectl apply -f examples/hub/ >/dev/null
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
for cluster in dr1 dr2; do
  kubectl patch drcluster "$cluster" --subresource=status --type=merge -p \
    "{\"status\":{\"conditions\":[{\"type\":\"Validated\",\"status\":\"True\",\"reason\":\"Succeeded\",\"message\":\"Validated the cluster\",\"lastTransitionTime\":\"$now\"}]}}" >/dev/null
done
echo "example hub applied (examples/hub/)"

# OCM's side: dr1 and dr2 join the hub (the operator's ManagedCluster gate needs that) and answer views.
"$target/debug/view-agent" --kubeconfig "$kubeconfig" --table examples/hub/managed-clusters/views.yaml \
  >"$state/view-agent.log" 2>&1 &
view_agent=$!
pids+=("$view_agent")
wait_view_agent "$view_agent" "$state/view-agent.log" || exit 1
echo "view agent answering for dr1 and dr2 (examples/hub/managed-clusters/views.yaml)"

POD_NAMESPACE=ramen-system "$target/debug/hub-operator" run --leader-elect=false \
  --health-probe-bind-address "$health" --metrics-bind-address "$metrics" --log-format text \
  >"$state/operator.log" 2>&1 &
pids+=($!)
kubectl wait drpolicy/dr-policy --for=condition=Validated --timeout=60s >/dev/null
kubectl wait drpolicy/dr-policy --for=condition=SecretsDistributed --timeout=60s >/dev/null || true
if ! kubectl wait drpolicy/dr-policy --for=condition=PeerClassesComputed --timeout=60s >/dev/null; then
  echo "peer classes not computed within 60s: see PeerClassesComputed below, $state/operator.log and $state/view-agent.log" >&2
fi

echo
kubectl get drpolicies
echo
kubectl get drpolicy dr-policy -o jsonpath='{range .status.conditions[*]}{.type}={.status} {.reason}: {.message}{"\n"}{end}'
echo
for side in async sync; do
  echo "$side peer classes:"
  peers=$(kubectl get drpolicy dr-policy -o jsonpath='{range .status.'"$side"'.peerClasses[*]}  {.storageClassName}: storageID={.storageID} clusterIDs={.clusterIDs} replicationID={.replicationID}{"\n"}{end}')
  echo "${peers:-  (none)}"
done
echo
kubectl -n ramen-system get policies.policy.open-cluster-management.io,placementrules.apps.open-cluster-management.io,placementbindings.policy.open-cluster-management.io
cat <<MSG

The operator is running (log: $state/operator.log; view agent: $state/view-agent.log;
metrics: http://$metrics/metrics). Poke at it from another terminal:
  kubectl --kubeconfig $kubeconfig get drpolicies
  kubectl --kubeconfig $kubeconfig get drpolicy dr-policy -o jsonpath='{.status.async.peerClasses}'
  kubectl --kubeconfig $kubeconfig get managedclusterviews.view.open-cluster-management.io -A
  kubectl --kubeconfig $kubeconfig -n ramen-system get placementrules.apps.open-cluster-management.io -o yaml
Ctrl-C stops everything.
MSG
wait
