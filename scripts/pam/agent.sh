# Sourced by scripts/pam-bench.sh and scripts/pam-valgrind.sh (which define fail): a scratch
# directory and a `mamori-agent run --only auth` rooted in it, both removed on exit.
# Usage: pam_scratch NAME; pam_start_agent BIN (sets AGENT_SOCKET).
pam_scratch() {
  WORK="$(mktemp -d "/tmp/mamori-$1-XXXXXX")"
  AGENT_PID=""
  trap pam_cleanup EXIT
}

pam_cleanup() {
  set +e
  if [ -n "$AGENT_PID" ]; then kill "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null; fi
  rm -rf "$WORK"
}

pam_start_agent() {
  "$1/mamori-agent" run --root "$WORK/agent" --only auth >"$WORK/agent.log" 2>&1 &
  AGENT_PID=$!
  AGENT_SOCKET="$WORK/agent/run/mamori/pam.sock"
  for _ in $(seq 400); do [ -S "$AGENT_SOCKET" ] && break; sleep 0.05; done
  [ -S "$AGENT_SOCKET" ] || fail "the agent did not start: $(cat "$WORK/agent.log")"
  mkdir -p "$WORK/pam.d"
}
