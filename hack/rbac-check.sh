#!/usr/bin/env bash
# Checks what the chart's RBAC lets the operator's ServiceAccount do, on the cluster of the current
# kubeconfig, with `kubectl auth can-i --as`: everything the operator needs is allowed, and what it has
# no business doing is denied (above all: no Secret outside its namespace, no Secret `get` at all).
#
# Usage: hack/rbac-check.sh NAMESPACE SERVICEACCOUNT [CONFIGMAP]
# Run by `make e2e-real` (and `make e2e` on kind) after `helm install`; fails listing every mismatch.
set -euo pipefail

namespace="${1:?usage: rbac-check.sh NAMESPACE SERVICEACCOUNT [CONFIGMAP]}"
account="${2:?usage: rbac-check.sh NAMESPACE SERVICEACCOUNT [CONFIGMAP]}"
configmap="${3:-ramen-hub-operator-config}"
kubectl="${KUBECTL:-kubectl}"
as="system:serviceaccount:$namespace:$account"

failures=0
checked=0
# expect yes|no VERB RESOURCE [kubectl auth can-i flags...]
expect() {
  local want="$1"
  shift
  local got
  got="$("$kubectl" auth can-i --as "$as" "$@" 2>/dev/null || true)"
  got="${got%%$'\n'*}"
  checked=$((checked + 1))
  if [ "$got" != "$want" ]; then
    printf 'rbac-check: %s may %s: want %s, got %s\n' "$as" "$*" "$want" "${got:-an error}" >&2
    failures=$((failures + 1))
  fi
}

# What the operator does (crates/hub-operator, crates/secret-propagator); `make e2e-local` checks the
# chart's rules against the operator's actual requests (hack/rbac-usage.py), this against a real RBAC
# authorizer.
lease="${LEASE_NAME:-hub.ramendr.openshift.io}"
expect yes list secrets -n "$namespace"
expect yes watch secrets -n "$namespace"
expect yes patch secrets -n "$namespace"
expect yes get "configmaps/$configmap" -n "$namespace"
expect yes watch "configmaps/$configmap" -n "$namespace"
expect yes patch "configmaps/$configmap" -n "$namespace"
expect yes list drpolicies.ramendr.openshift.io
expect yes watch drpolicies.ramendr.openshift.io
expect yes patch drpolicies.ramendr.openshift.io
expect yes patch drpolicies.ramendr.openshift.io --subresource status
expect yes list drclusters.ramendr.openshift.io
expect yes watch drclusters.ramendr.openshift.io
expect yes list drplacementcontrols.ramendr.openshift.io --all-namespaces
expect yes watch drplacementcontrols.ramendr.openshift.io --all-namespaces
for kind in policies.policy.open-cluster-management.io placementbindings.policy.open-cluster-management.io \
  placementrules.apps.open-cluster-management.io; do
  expect yes create "$kind" -n "$namespace"
  expect yes patch "$kind" -n "$namespace"
  expect yes delete "$kind" -n "$namespace"
  expect yes list "$kind" -n "$namespace"
  expect yes watch "$kind" -n "$namespace"
  expect no get "$kind" -n "$namespace"
  expect no create "$kind" -n default
done
expect yes list managedclusters.cluster.open-cluster-management.io
expect yes watch managedclusters.cluster.open-cluster-management.io
expect yes watch managedclusterviews.view.open-cluster-management.io --all-namespaces
for verb in get create update delete; do
  expect yes "$verb" managedclusterviews.view.open-cluster-management.io -n east
done
expect yes get namespaces/ramen-ops
expect yes create namespaces
expect yes create leases.coordination.k8s.io -n "$namespace"
expect yes get "leases.coordination.k8s.io/$lease" -n "$namespace"
expect yes update "leases.coordination.k8s.io/$lease" -n "$namespace"
expect yes create events.events.k8s.io -n default
expect yes patch events.events.k8s.io -n default
# The authenticated /metrics endpoint: TokenReviews and SubjectAccessReviews.
expect yes create tokenreviews.authentication.k8s.io
expect yes create subjectaccessreviews.authorization.k8s.io

# What it has no business doing.
expect no get secrets -n "$namespace"
expect no list secrets -n kube-system
expect no list secrets --all-namespaces
expect no get secrets -n default
expect no patch secrets -n default
expect no create secrets -n "$namespace"
expect no delete secrets -n "$namespace"
expect no get configmaps/some-other-config -n "$namespace"
expect no list configmaps -n kube-system
expect no create drpolicies.ramendr.openshift.io
expect no delete drpolicies.ramendr.openshift.io
expect no patch drclusters.ramendr.openshift.io
expect no patch drplacementcontrols.ramendr.openshift.io --all-namespaces
expect no create deployments.apps -n "$namespace"
expect no create serviceaccounts/token -n "$namespace"
expect no create rolebindings.rbac.authorization.k8s.io -n "$namespace"
expect no create clusterroles.rbac.authorization.k8s.io
expect no create policies.policy.open-cluster-management.io -n kube-system
expect no patch managedclusters.cluster.open-cluster-management.io
expect no patch managedclusters.cluster.open-cluster-management.io --subresource status
expect no delete namespaces
expect no update namespaces
# Grants dropped because the operator does not use them (reads come from the watch caches; status is
# one merge patch; no owner references, so no finalizers subresource; Events are events.k8s.io only,
# about cluster-scoped DRPolicies, so in `default` only; the Lease is updated, never patched).
expect no get drpolicies.ramendr.openshift.io
expect no update drpolicies.ramendr.openshift.io --subresource status
expect no get drpolicies.ramendr.openshift.io --subresource status
expect no update drpolicies.ramendr.openshift.io --subresource finalizers
expect no get drclusters.ramendr.openshift.io
expect no get drplacementcontrols.ramendr.openshift.io -n default
expect no get managedclusters.cluster.open-cluster-management.io
expect no create events -n "$namespace"
expect no create events -n default
expect no create events.events.k8s.io -n "$namespace"
expect no patch "leases.coordination.k8s.io/$lease" -n "$namespace"
expect no get leases.coordination.k8s.io/another-lease -n "$namespace"
# The metrics reader ClusterRole is for Prometheus; the chart binds it to nobody.
expect no get /metrics
expect no '*' '*'

if [ "$failures" -gt 0 ]; then
  echo "rbac-check: $failures of $checked checks failed" >&2
  exit 1
fi
echo "rbac-check: $checked checks passed for $as"
