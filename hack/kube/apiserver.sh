#!/usr/bin/env bash
# Runs a real Kubernetes control plane (etcd + kube-apiserver, no kubelet, no controllers: what
# controller-runtime's envtest runs) on loopback for the real-hub test tier, built by hack/kube/build.sh.
#
#   hack/kube/apiserver.sh --kubeconfig FILE [--env-file FILE] [--audit] [-- COMMAND [ARGS...]]
#
# Starts etcd and kube-apiserver on random free loopback ports with a temporary data directory,
# RBAC authorization, a certificate authority, a service-account issuer and signing key (so
# `kubectl create token` works) and an admin client certificate (group system:masters), writes a
# kubeconfig for the admin to FILE, and then either runs COMMAND (with KUBECONFIG=FILE, KUBE_BIN_DIR
# holding kubectl, KUBE_APISERVER_URL, KUBE_APISERVER_LOG_DIR (the servers' logs), KUBE_APISERVER_RESTART
# and, with --audit, KUBE_APISERVER_AUDIT_LOG exported; the exit status is COMMAND's) or, without a
# command, waits for SIGINT/SIGTERM. COMMAND finds the matching kubectl first on PATH. Either way both
# servers are stopped and the data directory removed on exit.
#
# KUBE_APISERVER_RESTART [GRACE] is an executable that restarts kube-apiserver (etcd keeps the data):
# it stops it (SIGTERM, SIGKILL after GRACE seconds, default 10; 0 kills at once, like a crash; a
# graceful stop waits for open watches, so it often takes the whole grace), starts it again with the
# same arguments on the same port, waits until /readyz answers ok, prints one line with how long the
# server was down and exits 0 (non-zero with the tail of the log when the server does not come back).
# A request kube-apiserver committed to etcd but had not yet written to the audit log when it was
# killed is missing from the audit log.
#
# Options: --env-file FILE  once the control plane is ready, write the variables above (KUBECONFIG as an
#                           absolute path) to FILE as shell-sourceable KEY=value lines (values quoted
#                           with printf %q, so plain paths and URLs stay unquoted), atomically (FILE.tmp,
#                           then mv); FILE is removed at start and on exit
#          --audit          audit every request at level Metadata (no request or response bodies) to
#                           KUBE_APISERVER_AUDIT_LOG, one JSON event a line, written before the response
# Env: KUBE_BIN_DIR   use these binaries instead of building (kube-apiserver, etcd, kubectl)
#      KUBE_KEEP_DIR  keep the temporary directory (logs, certificates) after exit, for debugging
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

log() { printf 'kube-apiserver.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

kubeconfig="" env_file="" audit=0
while [ $# -gt 0 ]; do
  case "$1" in
    --kubeconfig) kubeconfig="${2:?--kubeconfig needs a path}"; shift 2 ;;
    --env-file) env_file="${2:?--env-file needs a path}"; shift 2 ;;
    --audit) audit=1; shift ;;
    --) shift; break ;;
    *) die "unknown argument '$1' (usage: apiserver.sh --kubeconfig FILE [--env-file FILE] [--audit] [-- COMMAND ...])" ;;
  esac
done
[ -n "$kubeconfig" ] || die "--kubeconfig FILE is required"
# A reader polling for the env file must never see one left over from an earlier run.
[ -z "$env_file" ] || rm -f "$env_file" "$env_file.tmp"
command -v openssl >/dev/null || die "openssl is needed to make the certificates"
command -v python3 >/dev/null || die "python3 is needed to pick free ports"

bin="${KUBE_BIN_DIR:-$(bash "$here/build.sh")}"
for b in kube-apiserver etcd kubectl; do [ -x "$bin/$b" ] || die "$bin/$b is missing"; done

work="$(mktemp -d "${TMPDIR:-/tmp}/ramen-kube.XXXXXX")"
etcd_pid="" sleeper=""
# kube-apiserver is not this shell's child (the generated start script runs it, so that
# restart-kube-apiserver can replace it); its current pid is in this file.
pid_file="$work/kube-apiserver.pid"

# Whether a process runs (a zombie does not: a restarted kube-apiserver's parent has exited).
alive() {
  local state
  state="$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null)" || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}
# Whether kube-apiserver runs, or restart-kube-apiserver is replacing it.
apiserver_alive() {
  local pid
  pid="$(cat "$pid_file" 2>/dev/null)" || return 1
  alive "$pid" || [ -d "$work/restarting" ] || [ "$(cat "$pid_file" 2>/dev/null)" != "$pid" ]
}
# shellcheck disable=SC2317  # called through the EXIT trap
halt() {
  kill "$1" 2>/dev/null || return 0
  for _ in $(seq 100); do alive "$1" || break; sleep 0.1; done
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  # A restarted kube-apiserver is not this shell's child: wait until it is gone before etcd stops.
  for _ in $(seq 50); do alive "$1" || break; sleep 0.1; done
}
# shellcheck disable=SC2317  # called through the EXIT trap
stop() {
  local status=$? pid
  [ -z "$sleeper" ] || kill "$sleeper" 2>/dev/null || true
  # A restart-kube-apiserver running now sees this after it writes the new pid and stops its server.
  touch "$work/stopping" 2>/dev/null || true
  # kube-apiserver first (it still talks to etcd while it shuts down), then etcd.
  pid="$(cat "$pid_file" 2>/dev/null || true)"
  [ -z "$pid" ] || halt "$pid"
  [ -z "$etcd_pid" ] || halt "$etcd_pid"
  if [ -n "${KUBE_KEEP_DIR:-}" ]; then
    log "kept $work"
  else
    rm -rf "$work"
    [ -z "$env_file" ] || rm -f "$env_file" "$env_file.tmp"
  fi
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
etcd_pid=$!

apiserver_args=(
  --etcd-servers "http://127.0.0.1:$etcd_port"
  --bind-address 127.0.0.1 --secure-port "$api_port"
  --tls-cert-file "$pki/serving.crt" --tls-private-key-file "$pki/serving.key"
  --client-ca-file "$pki/ca.crt"
  --authorization-mode RBAC
  --service-account-issuer https://kubernetes.default.svc.cluster.local
  --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key"
  --service-cluster-ip-range 10.0.0.0/24
  --allow-privileged=true
  --cert-dir "$work/cert-dir"
)
audit_log=""
if [ "$audit" = 1 ]; then
  # Metadata: who did what to which object, with the status; never request or response bodies.
  audit_log="$work/audit.log"
  cat >"$work/audit-policy.yaml" <<'EOF'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
EOF
  # Blocking: an event is written before the response is sent. A restarted kube-apiserver appends to
  # the same file; it rotates only past --audit-log-maxsize MB (0 would mean lumberjack's default of
  # 100 MB), far more than a test run writes.
  apiserver_args+=(
    --audit-policy-file "$work/audit-policy.yaml"
    --audit-log-path "$audit_log" --audit-log-format json --audit-log-mode blocking
    --audit-log-maxsize 10240 --audit-log-maxbackup 0 --audit-log-maxage 0
  )
fi

url="https://127.0.0.1:$api_port"
mkdir -p "$(dirname "$kubeconfig")"
kubeconfig_abs="$(cd "$(dirname "$kubeconfig")" && pwd)/$(basename "$kubeconfig")"

# kube-apiserver's command line lives in a generated script, so that the first start and
# restart-kube-apiserver run it the same way: in the background, detached from the caller's stdio,
# appending to the same log, its pid written (atomically) to $pid_file.
{
  printf '#!/usr/bin/env bash\n# Generated by hack/kube/apiserver.sh: starts kube-apiserver in the background.\n'
  printf 'set -euo pipefail\n'
  printf 'work=%q\n' "$work"
  printf 'cmd=('
  printf ' %q' "$bin/kube-apiserver" "${apiserver_args[@]}"
  printf ' )\n'
  cat <<'EOF'
"${cmd[@]}" </dev/null >>"$work/kube-apiserver.log" 2>&1 &
pid=$!
{ printf '%s\n' "$pid" >"$work/kube-apiserver.pid.tmp" && mv -f "$work/kube-apiserver.pid.tmp" "$work/kube-apiserver.pid"; } ||
  { kill "$pid" 2>/dev/null; exit 1; }
EOF
} >"$work/start-kube-apiserver"
chmod +x "$work/start-kube-apiserver"

restart="$work/restart-kube-apiserver"
{
  printf '#!/usr/bin/env bash\n'
  printf '# Generated by hack/kube/apiserver.sh: restarts kube-apiserver (same arguments, port, certificates\n'
  printf '# and etcd), waits until /readyz answers ok and prints how long it was down.\n'
  printf '# Usage: restart-kube-apiserver [GRACE]: seconds between SIGTERM and SIGKILL (default 10; 0 kills\n'
  printf '# at once, like a crash). A graceful stop waits for open watches, so it often takes the whole grace.\n'
  printf 'set -euo pipefail\n'
  printf 'work=%q kubectl=%q kubeconfig=%q port=%q\n' "$work" "$bin/kubectl" "$kubeconfig_abs" "$api_port"
  cat <<'EOF'
log() { printf 'restart-kube-apiserver: %s\n' "$*" >&2; }
fail() { log "error: $*"; tail -20 "$work/kube-apiserver.log" >&2 || true; exit 1; }
alive() {
  local state
  state="$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null)" || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}
# One restart at a time; apiserver.sh's watchdog tolerates a dead kube-apiserver while this exists.
mkdir "$work/restarting" 2>/dev/null || { log "error: another restart is running, or $work is gone"; exit 1; }
trap 'rmdir "$work/restarting" 2>/dev/null || true' EXIT
[ ! -e "$work/stopping" ] || { log "error: apiserver.sh is stopping"; exit 1; }

grace="${1:-10}"
[[ "$grace" =~ ^[0-9]+$ ]] || { log "error: GRACE must be a whole number of seconds, not '$grace'"; exit 2; }
old="$(cat "$work/kube-apiserver.pid")"
down=$EPOCHREALTIME
signal=TERM
[ "$grace" != 0 ] || signal=KILL
if kill -s "$signal" "$old" 2>/dev/null; then
  for _ in $(seq $((grace * 10))); do alive "$old" || break; sleep 0.1; done
  if alive "$old"; then
    [ "$grace" = 0 ] || log "kube-apiserver (pid $old) still runs $grace s after SIGTERM, killing it"
    kill -9 "$old" 2>/dev/null || true
    while alive "$old"; do sleep 0.1; done
  fi
fi
# A killed Go process shows as a zombie while its other threads still exit and hold its listener:
# the port is free once nothing accepts a connection on it.
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
  sleep 0.1
done
stopped=$EPOCHREALTIME
bash "$work/start-kube-apiserver" || fail "starting kube-apiserver failed"
new="$(cat "$work/kube-apiserver.pid")"
# apiserver.sh marks "stopping" before it reads the pid file: either it stops the new server or we do.
if [ -e "$work/stopping" ]; then kill "$new" 2>/dev/null || true; log "error: apiserver.sh is stopping"; exit 1; fi

start=$SECONDS
until [ "$("$kubectl" --kubeconfig "$kubeconfig" get --raw /readyz 2>/dev/null)" = ok ]; do
  alive "$new" || fail "kube-apiserver (pid $new) exited"
  [ $((SECONDS - start)) -lt 120 ] || fail "kube-apiserver (pid $new) not ready after 120 s"
  sleep 0.1
done
up=$EPOCHREALTIME
ms() { local us=$((${2//[.,]/} - ${1//[.,]/})); printf '%d.%03d' $((us / 1000000)) $((us / 1000 % 1000)); }
printf 'restarted kube-apiserver (pid %s -> %s): down %s s (stopping took %s s)\n' \
  "$old" "$new" "$(ms "$down" "$up")" "$(ms "$down" "$stopped")"
EOF
} >"$restart"
chmod +x "$restart"

bash "$work/start-kube-apiserver"

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
  if ! { alive "$etcd_pid" && apiserver_alive; }; then
    tail -20 "$work/etcd.log" "$work/kube-apiserver.log" >&2
    die "etcd or kube-apiserver exited"
  fi
  [ $((SECONDS - start)) -lt 120 ] || { tail -20 "$work/kube-apiserver.log" >&2; die "kube-apiserver not ready after 120 s"; }
  sleep 0.5
done
log "kube-apiserver $("$bin/kubectl" version -o json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["serverVersion"]["gitVersion"])') ready at $url in $((SECONDS - start)) s (logs: $work)"

# The command sees the kubectl that matches the server first on PATH.
export KUBE_BIN_DIR="$bin" KUBE_APISERVER_URL="$url" KUBE_APISERVER_LOG_DIR="$work" PATH="$bin:$PATH"
export KUBE_APISERVER_RESTART="$restart"
[ -z "$audit_log" ] || export KUBE_APISERVER_AUDIT_LOG="$audit_log"
if [ -n "$env_file" ]; then
  {
    printf 'KUBECONFIG=%q\n' "$kubeconfig_abs"
    printf 'KUBE_BIN_DIR=%q\n' "$bin"
    printf 'KUBE_APISERVER_URL=%q\n' "$url"
    printf 'KUBE_APISERVER_LOG_DIR=%q\n' "$work"
    printf 'KUBE_APISERVER_RESTART=%q\n' "$restart"
    [ -z "$audit_log" ] || printf 'KUBE_APISERVER_AUDIT_LOG=%q\n' "$audit_log"
  } >"$env_file.tmp"
  mv -f "$env_file.tmp" "$env_file"
fi
if [ $# -gt 0 ]; then
  "$@"
else
  log "running until interrupted; KUBECONFIG=$kubeconfig"
  while :; do
    alive "$etcd_pid" || die "etcd exited (logs: $work)"
    apiserver_alive || die "kube-apiserver exited (logs: $work)"
    # In the background, so that SIGTERM/SIGINT interrupt the wait at once.
    sleep 1 &
    sleeper=$!
    wait "$sleeper"
  done
fi
