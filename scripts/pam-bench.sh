#!/usr/bin/env bash
# Second-factor benchmark (root; run by `make bench` from scripts/bench.sh, or alone with
# --update-doc to replace just its section of docs/benchmarks.md, after `make pam` and
# `swift build -c release --product mamori-agent --product mamorictl`). One C harness
# (scripts/pam/pam_bench_harness.c) drives the real libpam under pam_wrapper — a private PAM
# configuration directory, so /etc/pam.d is never touched — through three services in the same run:
#   pam_mamori.so (this build) asking a running `mamori-agent run --only auth` (release build),
#   pam_oath.so (Debian libpam-oath) with a root-owned usersfile,
#   pam_google_authenticator.so (Debian libpam-google-authenticator) with a root-owned secret file.
# All three hold the same HOTP token (RFC 4226, a fresh random secret) and every attempt presents
# the token's next code, so every attempt is a real acceptance that must advance and persist the
# counter (each module's replay protection). Prints a Markdown section on stdout.
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

fail() { echo "pam-bench: FAIL: $*" >&2; exit 1; }
log() { echo "pam-bench: $*" >&2; }
[ "$(id -u)" -eq 0 ] || fail "needs root (the modules' state files are root-owned)"
for tool in cc python3; do command -v "$tool" >/dev/null || fail "$tool missing: run make deps"; done
for file in "$WRAPPER" "$SECURITY/pam_oath.so" "$SECURITY/pam_google_authenticator.so" "$MODULE" "$BIN/mamori-agent" "$BIN/mamorictl"; do
  [ -e "$file" ] || fail "$file missing (make deps; make pam; swift build -c release)"
done

source "$ROOT/scripts/pam/agent.sh"
pam_scratch pam-bench

cc -O2 -Wall -Wextra -Werror -o "$WORK/harness" "$ROOT/scripts/pam/pam_bench_harness.c" -lpam
secret_hex=$(head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n')
secret_b32=$(python3 -c 'import base64,sys; print(base64.b32encode(bytes.fromhex(sys.argv[1])).decode())' "$secret_hex")
secret_b64=$(python3 -c 'import base64,sys; print(base64.b64encode(bytes.fromhex(sys.argv[1])).decode())' "$secret_hex")

# pam_mamori: the agent with its own root, the token imported as a PSKC HOTP key for root.
pam_start_agent "$BIN"
cat >"$WORK/token.pskc" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc"><KeyPackage>
  <DeviceInfo><SerialNo>bench</SerialNo></DeviceInfo>
  <Key Id="1" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp">
    <AlgorithmParameters><ResponseFormat Length="6" Encoding="DECIMAL"/></AlgorithmParameters>
    <Data><Secret><PlainValue>$secret_b64</PlainValue></Secret><Counter><PlainValue>0</PlainValue></Counter></Data>
  </Key>
</KeyPackage></KeyContainer>
XML
"$BIN/mamorictl" mfa import-pskc "$WORK/token.pskc" --root "$WORK/agent" --user bench=root >/dev/null
echo "auth required $MODULE socket=$AGENT_SOCKET" >"$WORK/pam.d/bench-mamori"

# pam_oath: its usersfile format (type, user, PIN "-" for none, hex secret); counter from 0.
install -m 0600 /dev/null "$WORK/users.oath"
echo "HOTP root - $secret_hex" >"$WORK/users.oath"
echo "auth required pam_oath.so usersfile=$WORK/users.oath window=3 digits=6" >"$WORK/pam.d/bench-oath"

# pam_google_authenticator: a root-owned secret file read as root (user=root); HOTP counter from 1.
# No RATE_LIMIT line (rate limiting off, so it never refuses a valid code).
install -m 0600 /dev/null "$WORK/google"
printf '%s\n" HOTP_COUNTER 1\n" WINDOW_SIZE 3\n' "$secret_b32" >"$WORK/google"
chmod 0400 "$WORK/google"
echo "auth required pam_google_authenticator.so secret=$WORK/google user=root" >"$WORK/pam.d/bench-google"

first_counter() { case "$1" in google) echo 1 ;; *) echo 0 ;; esac; }
field() { tr ' ' '\n' <<<"$1" | grep "^$2=" | cut -d= -f2; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

declare -A next_counter results
for module in "${MODULES[@]}"; do next_counter[$module]=$(first_counter "$module"); done
for run in $(seq "$RUNS"); do
  # Rotate the order each run, so no module always goes first (cold caches) or last.
  for i in 0 1 2; do
    module=${MODULES[$(( (i + run) % 3 ))]}
    python3 "$ROOT/scripts/pam/hotp_codes.py" "$secret_hex" "${next_counter[$module]}" "$ATTEMPTS" >"$WORK/codes"
    next_counter[$module]=$(( ${next_counter[$module]} + ATTEMPTS ))
    line=$(LD_PRELOAD="$WRAPPER" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$WORK/pam.d" \
      "$WORK/harness" "bench-$module" root "$WORK/codes" "$ATTEMPTS" 2>>"$WORK/harness.log") \
      || fail "$module, run $run: $line"
    log "run $run $module: $line"
    results[$module]+="$line"$'\n'
  done
done

stat() { # module field -> median over runs
  printf '%s' "${results[$1]}" | while read -r line; do [ -n "$line" ] && field "$line" "$2"; done | median
}
worst() { printf '%s' "${results[$1]}" | while read -r line; do [ -n "$line" ] && field "$line" "$2"; done | sort -n | tail -1; }
ms() { printf '%.2f' "$(echo "$1 / 1000" | bc -l)"; }
declare -A ops p50 p99 p99max
for module in "${MODULES[@]}"; do
  ops[$module]=$(stat "$module" ops_per_s); p50[$module]=$(stat "$module" p50_us)
  p99[$module]=$(stat "$module" p99_us); p99max[$module]=$(worst "$module" p99_us)
done
ratio() { printf '%.2f' "$(echo "${ops[mamori]} / ${ops[$1]}" | bc -l)"; }
row() { echo "| $2 | $(printf '%.0f' "${ops[$1]}") | $(ms "${p50[$1]}") | $(ms "${p99[$1]}") | $(ms "${p99max[$1]}") |"; }
cpu=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)

section() {
cat <<MD
## Second factor: pam_mamori vs pam_oath vs pam_google_authenticator

Measured by \`scripts/pam-bench.sh\` on $(date -u +%Y-%m-%d), $(nproc) cores, $cpu, $(uname -sr).
One process (\`scripts/pam/pam_bench_harness.c\`, linked with \`-lpam\`) runs the real libpam under
pam_wrapper; each attempt is \`pam_start\` + \`pam_authenticate\` + \`pam_end\`, as a login does, with a
conversation function answering the prompt. The three modules hold the same HOTP token (RFC 4226,
6 digits, a fresh random secret) and every attempt presents the token's next code (computed by
\`scripts/pam/hotp_codes.py\`), so every attempt is a real acceptance that must advance and store the
counter — each module's replay protection — rather than a cheap rejection. pam_mamori asks the
release build of \`mamori-agent run --only auth\` over its Unix socket; the agent also writes a
journal record (fdatasync) for every outcome and fsyncs the user's state file. pam_oath rewrites
its usersfile; pam_google_authenticator rewrites its secret file (\`user=root\`, no \`RATE_LIMIT\`, so
it never refuses a valid code). Why HOTP: a TOTP code is valid once per 30-second step, so a
throughput run of TOTP acceptances is impossible without faking the clock; the TOTP and HOTP paths
differ only in how the moving factor is chosen. $RUNS runs of $ATTEMPTS attempts per module, the
module order rotated each run; no attempt failed (the harness fails the benchmark otherwise).

| module | authentications/s (median of runs) | p50 latency (ms) | p99 latency (ms, median of runs) | worst run's p99 (ms) |
|---|---|---|---|---|
$(row mamori "\`pam_mamori.so\` + \`mamori-agent\`")
$(row oath "\`pam_oath.so\` (libpam-oath $(dpkg-query -W -f='${Version}' libpam-oath))")
$(row google "\`pam_google_authenticator.so\` (libpam-google-authenticator $(dpkg-query -W -f='${Version}' libpam-google-authenticator))")

Ratio pam_mamori / pam_oath: **$(ratio oath)×**; pam_mamori / pam_google_authenticator: **$(ratio google)×**
(goal: at least 1× both, p99 under 5 ms).
MD
}

if [ "${1:-}" = "--update-doc" ]; then
  # Replace this section of docs/benchmarks.md (or append it), leaving the others as they are.
  section >"$WORK/section.md"
  python3 - "$ROOT/docs/benchmarks.md" "$WORK/section.md" <<'PY'
import sys
doc_path, section_path = sys.argv[1], sys.argv[2]
lines = open(doc_path, encoding="utf-8").read().splitlines(keepends=True)
section = open(section_path, encoding="utf-8").read()
heading = "## Second factor: "
start = next((i for i, line in enumerate(lines) if line.startswith(heading)), None)
if start is None:
    text = "".join(lines).rstrip("\n") + "\n\n" + section
else:
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    rest = "".join(lines[end:])
    text = "".join(lines[:start]) + section + ("\n" + rest if rest else "")
open(doc_path, "w", encoding="utf-8").write(text)
PY
  log "docs/benchmarks.md updated"
else
  section
fi
