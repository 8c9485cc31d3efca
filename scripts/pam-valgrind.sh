#!/usr/bin/env bash
# make test: build/pam_mamori.so loaded and unloaded again and again in one process under valgrind
# memcheck (scripts/pam/pam_dlopen_cycle.c: dlopen, one authentication through the real libpam
# against a running agent, pam_end, dlclose). Runs SMALL and LARGE cycles and fails unless
#   - every authentication reached the agent and got its answer (PAM_AUTH_ERR for a user who is
#     not enrolled — a full request/response round trip),
#   - "definitely lost" is at most BOUND bytes in both runs, and
#   - LARGE cycles lose at most GROWTH bytes more than SMALL cycles (no per-load leak).
# The Swift runtime linked into the module allocates global state when it is loaded that it never
# frees; the module is linked with -z nodelete (Makefile) so it is loaded once per process.
# Never skips: a missing tool is a failure.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${MAMORI_BIN_DIR:-$ROOT/.build/debug}"
MODULE="${MAMORI_PAM_MODULE:-$ROOT/build/pam_mamori.so}"
SMALL="${PAM_VALGRIND_SMALL:-10}"
LARGE="${PAM_VALGRIND_LARGE:-200}"
BOUND=1024
GROWTH=256
PAM_AUTH_ERR=7

fail() { echo "pam-valgrind: FAIL: $*" >&2; exit 1; }
log() { echo "pam-valgrind: $*" >&2; }
for tool in cc valgrind; do command -v "$tool" >/dev/null || fail "$tool missing: run make deps"; done
[ -f "$MODULE" ] || fail "$MODULE missing: run make pam"
[ -x "$BIN/mamori-agent" ] || fail "$BIN/mamori-agent missing: run swift build"

source "$ROOT/scripts/pam/agent.sh"
pam_scratch pam-valgrind

cc -g -O1 -Wall -Wextra -Werror -o "$WORK/cycle" "$ROOT/scripts/pam/pam_dlopen_cycle.c" -lpam -ldl
pam_start_agent "$BIN" "$WORK"
echo "auth required $MODULE socket=$AGENT_SOCKET" >"$WORK/pam.d/mamori-valgrind"

definitely_lost() { # cycles -> bytes definitely lost
  local cycles=$1 report="$WORK/valgrind-$1.log" out="$WORK/cycle-$1.out"
  valgrind --leak-check=full --log-file="$report" \
    "$WORK/cycle" "$MODULE" "$WORK/pam.d" mamori-valgrind notenrolled "$cycles" >"$out" \
    || fail "$cycles cycles: the cycle program failed: $(cat "$out" "$report")"
  grep -qx "pam_code=$PAM_AUTH_ERR count=$cycles" "$out" \
    || fail "$cycles cycles: expected $cycles answers PAM_AUTH_ERR from the agent, got: $(tr '\n' ' ' <"$out")"
  local line
  line=$(grep "definitely lost:" "$report" || echo "definitely lost: 0 bytes") # no leak summary line when nothing leaked
  line=${line##*definitely lost: }
  line=${line%% bytes*}
  echo "${line//,/}"
}

small=$(definitely_lost "$SMALL")
large=$(definitely_lost "$LARGE")
log "definitely lost: $small bytes after $SMALL cycles, $large bytes after $LARGE cycles (bound $BOUND, growth bound $GROWTH)"
[ "$small" -le "$BOUND" ] || fail "$small bytes definitely lost after $SMALL cycles (bound $BOUND): $(grep -A8 "definitely lost in" "$WORK/valgrind-$SMALL.log" | head -40)"
[ "$large" -le "$BOUND" ] || fail "$large bytes definitely lost after $LARGE cycles (bound $BOUND)"
[ $((large - small)) -le "$GROWTH" ] || fail "the leak grows with the number of loads: $small -> $large bytes"
echo "pam-valgrind: ok ($SMALL and $LARGE load/authenticate/unload cycles; definitely lost $small and $large bytes)"
