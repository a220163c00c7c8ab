#!/usr/bin/env bash
# The e2e suite against the embedded API server, with the real operator binary as a separate process:
# starts test-apiserver, installs the CRDs, starts the view agent (e2e/src/bin/view-agent.rs: plays OCM's
# managed clusters from e2e/tables/e2e.yaml, e2e-silent never answering), runs hub-operator (leader
# election on), then the suite of e2e/, then checks the chart's RBAC against the operator's requests
# (hack/rbac-usage.py: the operator talks through test-apiserver's agent proxy, so its requests carry
# their own User-Agent in the server's request log). CI runs this (make e2e-local). Needs cargo,
# kubectl, promtool (Debian package `prometheus`), python3 with PyYAML, and helm (hack/install-helm.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=hack/lib/view-agent.sh
source hack/lib/view-agent.sh

die() { printf 'e2e-local: error: %s\n' "$*" >&2; exit 1; }
command -v kubectl >/dev/null || die "kubectl is not installed"
command -v promtool >/dev/null || die "promtool is not installed (Debian package 'prometheus')"

state="$PWD/.local/e2e"
rm -rf "$state"
mkdir -p "$state"
target="${CARGO_TARGET_DIR:-$PWD/target}"
namespace=ramen-system
# The User-Agent the agent proxy gives the operator's requests in the request log.
operator_agent=e2e-hub-operator

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

echo "e2e-local: building"
cargo build --quiet -p test-apiserver -p hub-operator
cargo build --quiet -p e2e --bin view-agent
cargo test --quiet -p e2e --no-run

pids=()
# shellcheck disable=SC2317  # called through the EXIT trap
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

"$target/debug/test-apiserver" --listen 127.0.0.1:0 --kubeconfig-out "$state/kubeconfig" \
  --request-log "$state/requests.jsonl" \
  --agent-proxy "$operator_agent" --agent-proxy-kubeconfig-out "$state/operator.kubeconfig" \
  >"$state/apiserver.url" 2>"$state/apiserver.log" &
apiserver=$!
pids+=("$apiserver")
for _ in $(seq 100); do [ -s "$state/apiserver.url" ] && break; sleep 0.1; done
[ -s "$state/apiserver.url" ] || die "test-apiserver did not start; see $state/apiserver.log"
export KUBECONFIG="$state/kubeconfig"

# What a hub has before the operator starts: its CRDs (Helm installs them on kind), the OCM CRDs and
# the namespace. The suite sets up the rest.
kubectl apply --server-side -f charts/ramen-hub-operator/crds/ -f hack/crds/ocm/ >/dev/null
kubectl wait --for condition=established --timeout=30s crd --all >/dev/null
kubectl create namespace "$namespace" >/dev/null

# The managed clusters: the agent registers every cluster of the table as a joined ManagedCluster and
# answers the operator's ManagedClusterViews until killed. A process of its own: each test of the suite
# runs in its own runtime, so an agent spawned by a test would stop with it.
"$target/debug/view-agent" --kubeconfig "$KUBECONFIG" --table e2e/tables/e2e.yaml --never-answer e2e-silent \
  >"$state/view-agent.log" 2>&1 &
view_agent=$!
pids+=("$view_agent")
wait_view_agent "$view_agent" "$state/view-agent.log" || die "the view agent did not start"

health_port=$(free_port)
metrics_port=$(free_port)
KUBECONFIG="$state/operator.kubeconfig" POD_NAMESPACE="$namespace" POD_NAME=e2e-operator LOG_FORMAT=json RUST_LOG="${E2E_OPERATOR_RUST_LOG:-info}" \
  "$target/debug/hub-operator" run \
  --health-probe-bind-address "127.0.0.1:$health_port" \
  --metrics-bind-address "127.0.0.1:$metrics_port" \
  >"$state/operator.log" 2>&1 &
operator=$!
pids+=("$operator")

echo "e2e-local: running the suite (logs: $state/operator.log, $state/view-agent.log)"
status=0
E2E_KUBECONFIG="$KUBECONFIG" E2E_NAMESPACE="$namespace" \
  E2E_METRICS_URL="http://127.0.0.1:$metrics_port/metrics" \
  E2E_OPERATOR_LOG="$state/operator.log" \
  cargo test --quiet -p e2e -- --test-threads=1 || status=$?

kill -0 "$operator" 2>/dev/null || { echo "e2e-local: the operator exited early:"; tail -20 "$state/operator.log"; status=1; }
kill -0 "$view_agent" 2>/dev/null || { echo "e2e-local: the view agent exited early:"; tail -20 "$state/view-agent.log"; status=1; }

# The chart's RBAC against the operator's requests: stop the operator (its Lease release is a request
# too) and the server (which writes the last of its request log), then compare.
kill "$operator" 2>/dev/null || true
wait "$operator" 2>/dev/null || true
kill "$apiserver" 2>/dev/null || true
wait "$apiserver" 2>/dev/null || true
if [ "$status" -eq 0 ]; then
  echo "e2e-local: checking the chart's RBAC against the operator's requests ($state/requests.jsonl)"
  if helm_bin="$(bash hack/install-helm.sh)"; then
    HELM="$helm_bin" python3 hack/rbac-usage.py --requests "$state/requests.jsonl" \
      --user-agent "$operator_agent" --namespace "$namespace" || status=$?
  else
    echo "e2e-local: installing helm failed"
    status=1
  fi
fi

if [ "$status" -ne 0 ]; then
  echo "e2e-local: FAILED; last operator log lines:"
  tail -30 "$state/operator.log"
fi
exit "$status"
