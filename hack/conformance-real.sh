#!/usr/bin/env bash
# Differential conformance: the conformance tests of the embedded API server
# (crates/test-apiserver/tests/conformance) against a real kube-apiserver.
#   1. builds kube-apiserver, etcd and kubectl (hack/kube/build.sh; skipped when KUBE_BIN_DIR is set)
#      and the test binary;
#   2. starts etcd + kube-apiserver on loopback (hack/kube/apiserver.sh: no kube-controller-manager);
#   3. runs `cargo test -p test-apiserver --test conformance` with CONFORMANCE_KUBECONFIG set to the
#      admin's kubeconfig and KUBECTL to the matching kubectl. Every test gets its own namespace and
#      CRD group on the shared server; the tests that need test-apiserver's hooks or
#      kube-controller-manager skip themselves with a note.
# Arguments go to the test binary (a test name filter, --nocapture, ...).
# Needs cargo, python3 and openssl, and go unless KUBE_BIN_DIR names built binaries.
set -euo pipefail
cd "$(dirname "$0")/.."

state="$PWD/.local/conformance-real"

die() { printf 'conformance-real: error: %s\n' "$*" >&2; exit 1; }
step() { printf 'conformance-real: %s (%s)\n' "$*" "$(date -u +%H:%M:%S)" >&2; }

if [ "${1:-}" != --inside ]; then
  for tool in cargo python3 openssl; do command -v "$tool" >/dev/null || die "$tool is not installed"; done
  if [ -z "${KUBE_BIN_DIR:-}" ]; then
    step "building kube-apiserver, etcd and kubectl"
    KUBE_BIN_DIR="$(bash hack/kube/build.sh)"
  fi
  export KUBE_BIN_DIR
  rm -rf "$state"
  mkdir -p "$state"
  step "building the conformance tests"
  cargo test --quiet -p test-apiserver --test conformance --no-run
  step "starting the control plane"
  exec bash hack/kube/apiserver.sh --kubeconfig "$state/admin.kubeconfig" -- bash "$0" --inside "$@"
fi
shift

# Inside: KUBECONFIG is the admin's, KUBE_BIN_DIR holds the matching kubectl.
export CONFORMANCE_KUBECONFIG="$KUBECONFIG" KUBECTL="$KUBE_BIN_DIR/kubectl"
# kubectl's discovery cache, kept out of $HOME: every run has a new server and new groups.
export KUBECACHEDIR="$state/kube-cache"
step "running the conformance tests against $KUBE_APISERVER_URL"
start=$SECONDS
status=0
cargo test -p test-apiserver --test conformance -- "$@" || status=$?
if [ "$status" = 0 ]; then
  step "passed in $((SECONDS - start)) s"
else
  cp "$KUBE_APISERVER_LOG_DIR"/*.log "$state/" 2>/dev/null || true
  step "failed in $((SECONDS - start)) s (server logs: $state)"
fi
exit "$status"
