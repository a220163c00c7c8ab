#!/usr/bin/env bash
# The e2e suite against a real Kubernetes control plane with the real OCM policy propagator downstream
# (`make e2e-real`):
#   1. builds kube-apiserver, etcd and kubectl (hack/kube/build.sh), OCM's governance-policy-propagator
#      and its CRDs (hack/ocm/build.sh), the operator and the suite;
#   2. starts etcd + kube-apiserver on loopback (hack/kube/apiserver.sh: RBAC on, no nodes);
#   3. installs OCM's CRDs and starts the view agent (e2e/src/bin/view-agent.rs, as admin: installs the
#      minimal ManagedClusterView CRD, which OCM's CRDs here lack, registers the managed clusters of
#      e2e/tables/e2e.yaml and of the example hub as joined, and answers views from those tables, never
#      e2e-silent's), then the chart with `helm install` (its CRDs, RBAC, Deployment, Service,
#      ConfigMap: every rendered object must be accepted; the Deployment never gets a Pod);
#   4. checks the chart's RBAC with `kubectl auth can-i --as` (hack/rbac-check.sh);
#   5. runs the propagator (as admin) and the operator as a local process authenticated as the chart's
#      ServiceAccount (a token from `kubectl create token`), so the chart's RBAC is what it gets;
#   6. runs the suite of e2e/ (E2E_OCM_PROPAGATOR=1 turns on the tests that need the propagator) and
#      fails on any `forbidden` answer or Secret value in the operator's log.
# Needs go, cargo, python3, openssl, npm (for helm) and promtool; everything else is built or fetched.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=hack/lib/view-agent.sh
source hack/lib/view-agent.sh

namespace=ramen-system
release=ramen-hub-operator
state="$PWD/.local/e2e-real"
target="${CARGO_TARGET_DIR:-$PWD/target}"

die() { printf 'e2e-real: error: %s\n' "$*" >&2; exit 1; }
step() { printf 'e2e-real: %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

if [ "${1:-}" != --inside ]; then
  for tool in go cargo python3 openssl npm; do command -v "$tool" >/dev/null || die "$tool is not installed"; done
  command -v promtool >/dev/null || die "promtool is not installed (Debian package 'prometheus')"
  rm -rf "$state"
  mkdir -p "$state"
  step "building kube-apiserver, etcd and kubectl"
  KUBE_BIN_DIR="$(bash hack/kube/build.sh)"
  step "building the OCM propagator"
  OCM_DIR="$(bash hack/ocm/build.sh)"
  step "building helm, the operator and the suite"
  HELM="$(bash hack/install-helm.sh)"
  cargo build --quiet -p hub-operator
  cargo build --quiet -p e2e --bin view-agent
  cargo test --quiet -p e2e --no-run
  export KUBE_BIN_DIR OCM_DIR HELM
  step "starting the control plane"
  exec bash hack/kube/apiserver.sh --kubeconfig "$state/admin.kubeconfig" -- bash "$0" --inside
fi

# Inside: KUBECONFIG is the admin's, KUBE_BIN_DIR holds the matching kubectl.
export PATH="$KUBE_BIN_DIR:$PATH"
pids=()
# shellcheck disable=SC2317  # called through the EXIT trap
cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  cp -r "$KUBE_APISERVER_LOG_DIR"/*.log "$state/" 2>/dev/null || true
  exit "$status"
}
trap cleanup EXIT

step "installing OCM's CRDs ($OCM_DIR/crds)"
kubectl apply --server-side -f "$OCM_DIR/crds/" >/dev/null
kubectl wait --for condition=established --timeout=60s crd --all >/dev/null

# The managed clusters: the agent answers views until killed. A process of its own: each test of the
# suite runs in its own runtime, so an agent spawned by a test would stop with it. The example hub's
# table too: e2e/tests/ocm.rs applies the example hub, whose clusters dr1 and dr2 must have joined.
# Started before the chart's RBAC check, which needs the ManagedClusterView CRD the agent installs.
step "starting the view agent"
"$target/debug/view-agent" --kubeconfig "$KUBECONFIG" --table e2e/tables/e2e.yaml \
  --table examples/hub/managed-clusters/views.yaml --never-answer e2e-silent >"$state/view-agent.log" 2>&1 &
view_agent=$!
pids+=("$view_agent")
wait_view_agent "$view_agent" "$state/view-agent.log" || die "the view agent did not start"

step "helm install $release (the Deployment gets no Pod: there is no node)"
"$HELM" install "$release" charts/ramen-hub-operator --namespace "$namespace" --create-namespace \
  --set image.tag=e2e-real >"$state/helm.log"
kubectl wait --for condition=established --timeout=60s crd --all >/dev/null
kubectl -n "$namespace" get deployment,serviceaccount,role,rolebinding,configmap,service \
  -l "app.kubernetes.io/instance=$release" >"$state/chart-objects.txt"
kubectl get clusterrole,clusterrolebinding -l "app.kubernetes.io/instance=$release" >>"$state/chart-objects.txt"

step "checking the chart's RBAC"
account="$(kubectl -n "$namespace" get deployment "$release" -o jsonpath='{.spec.template.spec.serviceAccountName}')"
[ -n "$account" ] || die "the chart's Deployment names no ServiceAccount"
bash hack/rbac-check.sh "$namespace" "$account"

# The operator's credential: a token of the chart's ServiceAccount and the cluster's CA, nothing else.
token="$(kubectl -n "$namespace" create token "$account" --duration 2h)"
server="$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')"
kubectl config view --minify --raw -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' |
  base64 -d >"$state/ca.crt"
operator_kubeconfig="$state/operator.kubeconfig"
: >"$operator_kubeconfig"
chmod 600 "$operator_kubeconfig"
KUBECONFIG="$operator_kubeconfig" kubectl config set-cluster hub --server "$server" \
  --certificate-authority "$state/ca.crt" --embed-certs >/dev/null
KUBECONFIG="$operator_kubeconfig" kubectl config set-credentials operator --token "$token" >/dev/null
KUBECONFIG="$operator_kubeconfig" kubectl config set-context operator --cluster hub --user operator >/dev/null
KUBECONFIG="$operator_kubeconfig" kubectl config use-context operator >/dev/null
[ "$(KUBECONFIG="$operator_kubeconfig" kubectl auth whoami -o jsonpath='{.status.userInfo.username}')" = \
  "system:serviceaccount:$namespace:$account" ] || die "the operator's kubeconfig is not the ServiceAccount's"

step "starting the OCM propagator"
WATCH_NAMESPACE="" "$OCM_DIR/governance-policy-propagator" --leader-elect=false --enable-webhooks=false \
  --metrics-bind-address "127.0.0.1:$(free_port)" --health-probe-bind-address "127.0.0.1:$(free_port)" \
  >"$state/propagator.log" 2>&1 &
pids+=($!)

step "starting the operator as system:serviceaccount:$namespace:$account"
health_port=$(free_port)
metrics_port=$(free_port)
KUBECONFIG="$operator_kubeconfig" POD_NAMESPACE="$namespace" POD_NAME=e2e-real-operator LOG_FORMAT=json \
  RUST_LOG=info "$target/debug/hub-operator" run \
  --health-probe-bind-address "127.0.0.1:$health_port" \
  --metrics-bind-address "127.0.0.1:$metrics_port" \
  >"$state/operator.log" 2>&1 &
operator=$!
pids+=("$operator")

step "running the suite (logs: $state)"
status=0
E2E_KUBECONFIG="$KUBECONFIG" E2E_NAMESPACE="$namespace" \
  E2E_METRICS_URL="http://127.0.0.1:$metrics_port/metrics" \
  E2E_OPERATOR_LOG="$state/operator.log" E2E_OCM_PROPAGATOR=1 \
  cargo test --quiet --no-fail-fast -p e2e -- --test-threads=1 || status=$?

kill -0 "$operator" 2>/dev/null || { echo "e2e-real: the operator exited early"; status=1; }
kill -0 "$view_agent" 2>/dev/null || { echo "e2e-real: the view agent exited early:"; tail -20 "$state/view-agent.log"; status=1; }
if grep -i -q forbidden "$state/operator.log"; then
  echo "e2e-real: the API server refused the operator something (forbidden):" >&2
  grep -i forbidden "$state/operator.log" | sed -n 1,5p >&2
  status=1
fi
if grep -q -e e2e-access-key-0b7c -e e2e-secret-key-4f1d -e e2e-rotated-access-7a1e -e e2e-rotated-secret-93c2 \
  "$state/operator.log"; then
  echo "e2e-real: a secret value appears in the operator log" >&2
  status=1
fi
if [ "$status" -ne 0 ]; then
  echo "e2e-real: FAILED; last operator log lines:"
  tail -30 "$state/operator.log"
  exit "$status"
fi
step "passed"
