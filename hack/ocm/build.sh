#!/usr/bin/env bash
# Builds OCM's governance-policy-propagator (pinned in hack/ocm/go.mod) and gathers the OCM CRDs it and
# the real-hub tests need, from the same pinned modules, into
# $HOME/.cache/ramen-hub-operator/ocm/<propagator version>/ (binary `governance-policy-propagator`,
# CRDs under `crds/`), and prints that directory.
#
# Test tooling only (`make e2e-real`). Idempotent: nothing is rebuilt when the binary exists and was
# built from the same go.mod/go.sum (a stamp file records their hash).
#
# Usage: hack/ocm/build.sh    prints the directory on stdout, progress on stderr
# Env:   OCM_CACHE_DIR        parent of the versioned directory (default $HOME/.cache/ramen-hub-operator/ocm)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

log() { printf 'ocm-build: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

command -v go >/dev/null || die "go is not installed (the real-hub tier builds OCM's propagator from source)"
export GOFLAGS=-mod=readonly

propagator=open-cluster-management.io/governance-policy-propagator
version="$(cd "$here" && go list -m -f '{{.Version}}' "$propagator")" ||
  die "cannot read the pinned $propagator version from $here/go.mod"
dir="${OCM_CACHE_DIR:-$HOME/.cache/ramen-hub-operator/ocm}/$version"
stamp="$dir/.stamp"
want="$(cat "$here/go.mod" "$here/go.sum" | sha256sum | cut -d' ' -f1)"

if [ -x "$dir/governance-policy-propagator" ] && [ -d "$dir/crds" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  printf '%s\n' "$dir"
  exit 0
fi

mkdir -p "$dir"
start=$SECONDS
log "building governance-policy-propagator $version"
(cd "$here" && CGO_ENABLED=0 go build -trimpath -ldflags=-s -o "$dir/governance-policy-propagator.tmp.$$" "$propagator") ||
  die "go build $propagator failed"
mv -f "$dir/governance-policy-propagator.tmp.$$" "$dir/governance-policy-propagator"

# The CRDs, each from the module that owns it, at the version the propagator is built with.
module_dir() { (cd "$here" && go mod download "$1" && go list -m -f '{{.Dir}}' "$1"); }
prop_dir="$(module_dir "$propagator")"
api_dir="$(module_dir open-cluster-management.io/api)"
sub_dir="$(module_dir open-cluster-management.io/multicloud-operators-subscription)"
rm -rf "$dir/crds"
mkdir -p "$dir/crds"
for crd in \
  "$prop_dir/deploy/crds/policy.open-cluster-management.io_policies.yaml" \
  "$prop_dir/deploy/crds/policy.open-cluster-management.io_placementbindings.yaml" \
  "$prop_dir/deploy/crds/policy.open-cluster-management.io_policysets.yaml" \
  "$prop_dir/deploy/crds/policy.open-cluster-management.io_policyautomations.yaml" \
  "$prop_dir/deploy/crds/external/tower.ansible.com_joblaunch_crd.yaml" \
  "$api_dir/cluster/v1/0000_00_clusters.open-cluster-management.io_managedclusters.crd.yaml" \
  "$api_dir/cluster/v1beta1/0000_02_clusters.open-cluster-management.io_placements.crd.yaml" \
  "$api_dir/cluster/v1beta1/0000_03_clusters.open-cluster-management.io_placementdecisions.crd.yaml" \
  "$sub_dir/deploy/hub-common/apps.open-cluster-management.io_placementrules_crd.yaml"; do
  [ -f "$crd" ] || die "$crd is missing from its module"
  install -m 0644 "$crd" "$dir/crds/$(basename "$crd")"
done
printf '%s\n' "$want" >"$stamp"
log "built governance-policy-propagator and gathered $(find "$dir/crds" -name '*.yaml' | wc -l) CRDs in $((SECONDS - start)) s into $dir"
printf '%s\n' "$dir"
