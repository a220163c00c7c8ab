# shellcheck shell=bash
# Sourced by the scripts that run the fake OCM view agent (e2e/src/bin/view-agent.rs): make run-local,
# make e2e-local, make e2e-real, make e2e.
#
# wait_view_agent PID LOG: waits (up to 60 s) until the agent started as PID, logging to LOG, answers
# ManagedClusterViews; returns 1 with the log's tail on stderr when it died or did not start.
wait_view_agent() {
  local pid="$1" log="$2"
  for _ in $(seq 600); do
    grep -q 'answering ManagedClusterViews' "$log" && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  grep -q 'answering ManagedClusterViews' "$log" && return 0
  echo "the view agent did not start (log: $log):" >&2
  tail -5 "$log" >&2
  return 1
}
