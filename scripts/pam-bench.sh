#!/usr/bin/env bash
# Second-factor benchmark (root; run by `make bench` from scripts/bench.sh, or alone with
# --update-doc to replace just its section of docs/benchmarks.md, after `make pam` and
# `swift build -c release --product mamori-agent` and `... --product mamorictl`: one product per call). One C harness
# (scripts/pam/pam_bench_harness.c) drives the real libpam under pam_wrapper — a private PAM
# configuration directory, so /etc/pam.d is never touched — through three services in the same run:
#   pam_mamori.so (this build) asking a running `mamori-agent run --only auth` (release build),
#   pam_oath.so (Debian libpam-oath) with a root-owned usersfile,
#   pam_google_authenticator.so (Debian libpam-google-authenticator) with a root-owned secret file.
# All three hold the same HOTP token (RFC 4226, a fresh random secret) and every attempt presents
# the token's next code, so every attempt is a real acceptance that must advance and persist the
# counter (each module's replay protection). Runs once with every module's state on the root file
# system and once on tmpfs. Prints a Markdown section on stdout.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${MAMORI_BIN_DIR:-$ROOT/.build/release}"
MODULE="${MAMORI_PAM_MODULE:-$ROOT/build/pam_mamori.so}"
ATTEMPTS="${PAM_BENCH_ATTEMPTS:-1000}"
RUNS="${PAM_BENCH_RUNS:-5}"
LIBDIR=/usr/lib/x86_64-linux-gnu
WRAPPER="$LIBDIR/libpam_wrapper.so"
SECURITY=/lib/x86_64-linux-gnu/security
MODULES=(mamori oath google)
STORES=(disk tmpfs)

fail() { echo "pam-bench: FAIL: $*" >&2; exit 1; }
log() { echo "pam-bench: $*" >&2; }
[ "$(id -u)" -eq 0 ] || fail "needs root (the modules' state files are root-owned)"
for tool in cc python3; do command -v "$tool" >/dev/null || fail "$tool missing: run make deps"; done
for file in "$WRAPPER" "$SECURITY/pam_oath.so" "$SECURITY/pam_google_authenticator.so" "$MODULE" "$BIN/mamori-agent" "$BIN/mamorictl"; do
  [ -e "$file" ] || fail "$file missing (make deps; make pam; swift build -c release)"
done

source "$ROOT/scripts/pam/agent.sh"
pam_scratch pam-bench
mkdir -p "$ROOT/build"

cc -O2 -Wall -Wextra -Werror -o "$WORK/harness" "$ROOT/scripts/pam/pam_bench_harness.c" -lpam
secret_hex=$(head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n')
secret_b32=$(python3 -c 'import base64,sys; print(base64.b32encode(bytes.fromhex(sys.argv[1])).decode())' "$secret_hex")
secret_b64=$(python3 -c 'import base64,sys; print(base64.b64encode(bytes.fromhex(sys.argv[1])).decode())' "$secret_hex")

# One store per kind of storage: each holds its own agent, the three modules' state files and
# PAM configuration. "disk" is the machine's root file system (what a terminal has); "tmpfs" makes
# every fsync free, leaving the cost of the code paths themselves.
prepare_store() { # DIR
  local dir=$1
  # pam_mamori: the agent with its own root, the token imported as a PSKC HOTP key for root.
  pam_start_agent "$BIN" "$dir"
  pam_import_hotp "$BIN" "$dir" "$secret_b64"
  echo "auth required $MODULE socket=$AGENT_SOCKET" >"$dir/pam.d/bench-mamori"
  # pam_oath: its usersfile format (type, user, PIN "-" for none, hex secret); counter from 0.
  install -m 0600 /dev/null "$dir/users.oath"
  echo "HOTP root - $secret_hex" >"$dir/users.oath"
  echo "auth required pam_oath.so usersfile=$dir/users.oath window=3 digits=6" >"$dir/pam.d/bench-oath"
  # pam_google_authenticator: a root-owned secret file read as root (user=root); HOTP counter
  # from 1. No RATE_LIMIT line (rate limiting off, so it never refuses a valid code).
  install -m 0600 /dev/null "$dir/google"
  printf '%s\n" HOTP_COUNTER 1\n" WINDOW_SIZE 3\n' "$secret_b32" >"$dir/google"
  chmod 0400 "$dir/google"
  echo "auth required pam_google_authenticator.so secret=$dir/google user=root" >"$dir/pam.d/bench-google"
}

declare -A store_dir
pam_scratch_in "$ROOT/build" pam-bench-disk
store_dir[disk]=$SCRATCH
pam_scratch_in /dev/shm pam-bench-tmpfs
store_dir[tmpfs]=$SCRATCH
[ "$(stat -f -c %T "${store_dir[tmpfs]}")" = tmpfs ] || fail "/dev/shm is not a tmpfs"
disk_fs=$(df -T "${store_dir[disk]}" | awk 'NR == 2 {print $2}')
for store in "${STORES[@]}"; do prepare_store "${store_dir[$store]}"; done

first_counter() { case "$1" in google) echo 1 ;; *) echo 0 ;; esac; }
field() { tr ' ' '\n' <<<"$1" | grep "^$2=" | cut -d= -f2; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

attempt_run() { # STORE MODULE RUN
  local key="$1-$2" dir=${store_dir[$1]} line
  python3 "$ROOT/scripts/pam/hotp_codes.py" "$secret_hex" "${next_counter[$key]}" "$ATTEMPTS" >"$WORK/codes"
  next_counter[$key]=$(( ${next_counter[$key]} + ATTEMPTS ))
  line=$(LD_PRELOAD="$WRAPPER" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$dir/pam.d" \
    "$WORK/harness" "bench-$2" root "$WORK/codes" "$ATTEMPTS" 2>>"$WORK/harness.log") \
    || fail "$1 $2, run $3: $line"
  log "$1 run $3 $2: $line"
  results[$key]+="$line"$'\n'
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A next_counter results
for store in "${STORES[@]}"; do
  for module in "${MODULES[@]}"; do next_counter[$store-$module]=$(first_counter "$module"); done
done
for run in $(seq "$RUNS"); do
  # Rotate the order each run, so no module always goes first (cold caches) or last.
  for store in "${STORES[@]}"; do
    for i in 0 1 2; do attempt_run "$store" "${MODULES[$(( (i + run) % 3 ))]}" "$run"; done
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

stat() { # key field -> median over runs
  printf '%s' "${results[$1]}" | while read -r line; do [ -n "$line" ] && field "$line" "$2"; done | median
}
worst() { printf '%s' "${results[$1]}" | while read -r line; do [ -n "$line" ] && field "$line" "$2"; done | sort -n | tail -1; }
ms() { printf '%.2f' "$(echo "$1 / 1000" | bc -l)"; }
declare -A ops p50 p99 p99max
for store in "${STORES[@]}"; do
  for module in "${MODULES[@]}"; do
    key=$store-$module
    ops[$key]=$(stat "$key" ops_per_s); p50[$key]=$(stat "$key" p50_us)
    p99[$key]=$(stat "$key" p99_us); p99max[$key]=$(worst "$key" p99_us)
  done
done
ratio() { printf '%.2f' "$(echo "${ops[$1-mamori]} / ${ops[$1-$2]}" | bc -l)"; }
name() {
  case "$1" in
    mamori) echo "\`pam_mamori.so\` + \`mamori-agent\`" ;;
    oath) echo "\`pam_oath.so\` (libpam-oath $(dpkg-query -W -f='${Version}' libpam-oath))" ;;
    google) echo "\`pam_google_authenticator.so\` (libpam-google-authenticator $(dpkg-query -W -f='${Version}' libpam-google-authenticator))" ;;
  esac
}
rows() {
  for store in "${STORES[@]}"; do
    for module in "${MODULES[@]}"; do
      key=$store-$module
      echo "| $store | $(name "$module") | $(printf '%.0f' "${ops[$key]}") | $(ms "${p50[$key]}") | $(ms "${p99[$key]}") | $(ms "${p99max[$key]}") |"
    done
  done
}
cpu=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)

section() {
cat <<MD
## Second factor: pam_mamori vs pam_oath vs pam_google_authenticator

Measured by \`scripts/pam-bench.sh\` on $(date -u +%Y-%m-%d), $(nproc) cores, $cpu, $(uname -sr); load
average (1, 5, 15 min) $load_before before and $load_after after (other work on the machine shows here).
One process (\`scripts/pam/pam_bench_harness.c\`, linked with \`-lpam\`) runs the real libpam under
pam_wrapper; each attempt is \`pam_start\` + \`pam_authenticate\` + \`pam_end\`, as a login does, with a
conversation function answering the prompt. The three modules hold the same HOTP token (RFC 4226,
6 digits, a fresh random secret) and every attempt presents the token's next code (computed by
\`scripts/pam/hotp_codes.py\`), so every attempt is a real acceptance that must advance and store the
counter — each module's replay protection — rather than a cheap rejection. pam_mamori asks the
release build of \`mamori-agent run --only auth\` over its Unix socket; per attempt the agent
syncs once: the journal record of the outcome, which carries the user's new verifier state (the
user's state file is overwritten in place and not synced; after a crash the agent rebuilds
it from the journal before serving). pam_oath rewrites its usersfile and pam_google_authenticator its secret file
(\`user=root\`, no \`RATE_LIMIT\`, so it never refuses a valid code), each with one fsync per
attempt (counted with strace). Why HOTP: a TOTP code is valid once per 30-second step, so a
throughput run of TOTP acceptances is impossible without faking the clock; the TOTP and HOTP paths
differ only in how the moving factor is chosen. Each module's state lives once on the root file
system ($disk_fs here, "disk": what a terminal has) and once on tmpfs (every fsync free: the cost of
the code paths themselves), each store with its own agent. $RUNS runs of $ATTEMPTS attempts per
module and store, the module order rotated each run; no attempt failed (the harness fails the
benchmark otherwise).

| state on | module | authentications/s (median of runs) | p50 latency (ms) | p99 latency (ms, median of runs) | worst run's p99 (ms) |
|---|---|---|---|---|---|
$(rows)

Ratio pam_mamori / pam_oath: **$(ratio disk oath)×** on disk, **$(ratio tmpfs oath)×** on tmpfs;
pam_mamori / pam_google_authenticator: **$(ratio disk google)×** on disk, **$(ratio tmpfs google)×** on tmpfs
(goal: at least 1× both, p99 under 5 ms).

Reading the table: on disk every module waits for the file system's journal commit, and the
commit time of this machine's disk sets the figures. Each module waits for one sync per attempt:
pam_oath and pam_google_authenticator for their rewritten file, pam_mamori for the journal record
that carries the new state (so an accepted code can never be accepted again, even after a crash,
and no answer is given that is not on record). On tmpfs what is left is the code path: pam_oath
is in-process; pam_mamori adds a Unix-socket round trip to the agent and a hand-over to a
connection thread there (reused from one login to the next), whose scheduling shows in p99 on a
busy machine.
MD
}

if [ "${1:-}" = "--update-doc" ]; then
  # Replace this section of docs/benchmarks.md (or append it), leaving the others as they are.
  section >"$WORK/section.md"
  python3 "$ROOT/scripts/bench_splice.py" "$ROOT/docs/benchmarks.md" "$WORK/section.md" "## Second factor: "
  log "docs/benchmarks.md updated"
else
  section
fi
