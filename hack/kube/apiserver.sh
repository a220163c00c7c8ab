#!/usr/bin/env bash
# Runs a real Kubernetes control plane (etcd + kube-apiserver, no kubelet, no controllers: what
# controller-runtime's envtest runs) on loopback for the real-hub test tier, built by hack/kube/build.sh.
#
#   hack/kube/apiserver.sh --kubeconfig FILE [-- COMMAND [ARGS...]]
#
# Starts etcd and kube-apiserver on random free loopback ports with a temporary data directory,
# RBAC authorization, a certificate authority, a service-account issuer and signing key (so
# `kubectl create token` works) and an admin client certificate (group system:masters), writes a
# kubeconfig for the admin to FILE, and then either runs COMMAND (with KUBECONFIG=FILE, KUBE_BIN_DIR
# holding kubectl, KUBE_APISERVER_URL and KUBE_APISERVER_LOG_DIR (the servers' logs) exported; the exit
# status is COMMAND's) or, without a command,
# waits for SIGINT/SIGTERM. COMMAND finds the matching kubectl first on PATH. Either way both servers are stopped and the data directory removed on exit.
#
# Env: KUBE_BIN_DIR   use these binaries instead of building (kube-apiserver, etcd, kubectl)
#      KUBE_KEEP_DIR  keep the temporary directory (logs, certificates) after exit, for debugging
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

log() { printf 'kube-apiserver.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

kubeconfig=""
while [ $# -gt 0 ]; do
  case "$1" in
    --kubeconfig) kubeconfig="${2:?--kubeconfig needs a path}"; shift 2 ;;
    --) shift; break ;;
    *) die "unknown argument '$1' (usage: apiserver.sh --kubeconfig FILE [-- COMMAND ...])" ;;
  esac
done
[ -n "$kubeconfig" ] || die "--kubeconfig FILE is required"
command -v openssl >/dev/null || die "openssl is needed to make the certificates"
command -v python3 >/dev/null || die "python3 is needed to pick free ports"

bin="${KUBE_BIN_DIR:-$(bash "$here/build.sh")}"
for b in kube-apiserver etcd kubectl; do [ -x "$bin/$b" ] || die "$bin/$b is missing"; done

work="$(mktemp -d "${TMPDIR:-/tmp}/ramen-kube.XXXXXX")"
pids=()
# shellcheck disable=SC2317  # called through the EXIT trap
stop() {
  local status=$? i pid
  # kube-apiserver first (it still talks to etcd while it shuts down), then etcd.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    pid="${pids[$i]}"
    kill "$pid" 2>/dev/null || continue
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ -n "${KUBE_KEEP_DIR:-}" ]; then log "kept $work"; else rm -rf "$work"; fi
  exit "$status"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}
read -r etcd_port peer_port api_port < <(free_ports 3)

# Certificates: one CA signs the serving certificate (127.0.0.1, localhost) and the admin's client
# certificate; a separate RSA key signs service-account tokens.
pki="$work/pki"
mkdir -p "$pki"
(
  cd "$pki"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=ramen-test-ca" \
    -keyout ca.key -out ca.crt 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" -keyout serving.key -out serving.csr 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >serving.ext
  openssl x509 -req -in serving.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
    -extfile serving.ext -out serving.crt 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/O=system:masters/CN=admin" -keyout admin.key -out admin.csr 2>/dev/null
  printf 'extendedKeyUsage=clientAuth\n' >admin.ext
  openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
    -extfile admin.ext -out admin.crt 2>/dev/null
  openssl genrsa -out sa.key 2048 2>/dev/null
  openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
) || die "making the certificates failed"

"$bin/etcd" --name ramen-test --data-dir "$work/etcd" \
  --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-cluster "ramen-test=http://127.0.0.1:$peer_port" \
  --unsafe-no-fsync --log-level warn >"$work/etcd.log" 2>&1 &
pids+=($!)

"$bin/kube-apiserver" \
  --etcd-servers "http://127.0.0.1:$etcd_port" \
  --bind-address 127.0.0.1 --secure-port "$api_port" \
  --tls-cert-file "$pki/serving.crt" --tls-private-key-file "$pki/serving.key" \
  --client-ca-file "$pki/ca.crt" \
  --authorization-mode RBAC \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
  --service-cluster-ip-range 10.0.0.0/24 \
  --allow-privileged=true \
  --cert-dir "$work/cert-dir" \
  >"$work/kube-apiserver.log" 2>&1 &
pids+=($!)

url="https://127.0.0.1:$api_port"
mkdir -p "$(dirname "$kubeconfig")"
: >"$kubeconfig"
export KUBECONFIG="$kubeconfig"
"$bin/kubectl" config set-cluster ramen-test --server "$url" \
  --certificate-authority "$pki/ca.crt" --embed-certs >/dev/null
"$bin/kubectl" config set-credentials admin \
  --client-certificate "$pki/admin.crt" --client-key "$pki/admin.key" --embed-certs >/dev/null
"$bin/kubectl" config set-context ramen-test --cluster ramen-test --user admin --namespace default >/dev/null
"$bin/kubectl" config use-context ramen-test >/dev/null

# Ready when /readyz answers ok and the bootstrap namespaces exist (the apiserver creates them).
start=$SECONDS
until "$bin/kubectl" get --raw /readyz >/dev/null 2>&1 && "$bin/kubectl" get namespace default >/dev/null 2>&1; do
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || {
      tail -20 "$work/etcd.log" "$work/kube-apiserver.log" >&2
      die "etcd or kube-apiserver exited"
    }
  done
  [ $((SECONDS - start)) -lt 120 ] || { tail -20 "$work/kube-apiserver.log" >&2; die "kube-apiserver not ready after 120 s"; }
  sleep 0.5
done
log "kube-apiserver $("$bin/kubectl" version -o json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["serverVersion"]["gitVersion"])') ready at $url in $((SECONDS - start)) s (logs: $work)"

# The command sees the kubectl that matches the server first on PATH.
export KUBE_BIN_DIR="$bin" KUBE_APISERVER_URL="$url" KUBE_APISERVER_LOG_DIR="$work" PATH="$bin:$PATH"
if [ $# -gt 0 ]; then
  "$@"
else
  log "running until interrupted; KUBECONFIG=$kubeconfig"
  while :; do
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || die "a server exited (logs: $work)"; done
    sleep 1
  done
fi
