#!/usr/bin/env bash
# Builds kube-apiserver, etcd and kubectl from their Go modules (pinned in hack/kube/go.mod) into
# $HOME/.cache/ramen-hub-operator/kube/<kubernetes version>/ and prints that directory.
#
# Test tooling only: the real API server tier of the tests (`make e2e-real`, the differential
# conformance tests). Idempotent: when the binaries exist and were built from the same go.mod/go.sum
# (a stamp file records their hash), nothing is rebuilt. Needs Go >= the version go.mod names and the
# Go module proxy; the Go build cache (`go env GOCACHE`) makes a rebuild fast.
#
# Usage: hack/kube/build.sh    prints the directory on stdout, progress on stderr
# Env:   KUBE_CACHE_DIR        parent of the versioned directory (default $HOME/.cache/ramen-hub-operator/kube)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

log() { printf 'kube-build: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

command -v go >/dev/null || die "go is not installed (the real API server tier builds kube-apiserver and etcd from source)"

version="$(cd "$here" && GOFLAGS=-mod=readonly go list -m -f '{{.Version}}' k8s.io/kubernetes)" ||
  die "cannot read the pinned k8s.io/kubernetes version from $here/go.mod"
dir="${KUBE_CACHE_DIR:-$HOME/.cache/ramen-hub-operator/kube}/$version"
stamp="$dir/.stamp"
want="$(cat "$here/go.mod" "$here/go.sum" | sha256sum | cut -d' ' -f1)"

binaries=(kube-apiserver etcd kubectl)
complete=1
for b in "${binaries[@]}"; do [ -x "$dir/$b" ] || complete=0; done
if [ "$complete" = 1 ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  printf '%s\n' "$dir"
  exit 0
fi

mkdir -p "$dir"
declare -A package=(
  [kube-apiserver]=k8s.io/kubernetes/cmd/kube-apiserver
  [kubectl]=k8s.io/kubernetes/cmd/kubectl
  [etcd]=go.etcd.io/etcd/server/v3
)
# Stamp the version as Kubernetes' own build does (hack/lib/version.sh), so /version, `kubectl version`
# and Helm's kubeVersion checks see the real version instead of v0.0.0-master.
minor="${version#v*.}"; minor="${minor%%.*}"; major="${version#v}"; major="${major%%.*}"
ldflags="-s"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done
start=$SECONDS
for b in "${binaries[@]}"; do
  log "building $b ($version) from ${package[$b]}"
  # Through a temporary name so a concurrent run never sees a half-written binary.
  (cd "$here" && CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath -ldflags="$ldflags" \
    -o "$dir/$b.tmp.$$" "${package[$b]}") || die "go build ${package[$b]} failed"
  mv -f "$dir/$b.tmp.$$" "$dir/$b"
done
printf '%s\n' "$want" >"$stamp"
log "built ${binaries[*]} in $((SECONDS - start)) s into $dir"
printf '%s\n' "$dir"
