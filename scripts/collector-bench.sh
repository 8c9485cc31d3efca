#!/usr/bin/env bash
# Collector benchmark (run by `make bench` after scripts/bench.sh, or alone). For SQLite and for
# PostgreSQL (a throwaway cluster from scripts/pg-test-server.sh), on this machine, with the
# collector and the load generator both running here (release builds, loopback HTTPS):
#  1. sustained verified ingest: 50 terminals sending 1,000-record batches back to back;
#  2. a fleet of FLEET terminals (default 100,000), each sending a 10-record batch every 300 s:
#     ~FLEET/300 requests/s, run for FLEET_SECONDS, p50/p99 request latency.
# Prints a Markdown section on stdout (progress on stderr); --update-doc replaces just its section
# of docs/benchmarks.md instead.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${MAMORI_BIN_DIR:-$ROOT/.build/release}"
FLEET="${COLLECTOR_BENCH_FLEET:-100000}"
FLEET_SECONDS="${COLLECTOR_BENCH_FLEET_SECONDS:-300}"
SUSTAIN_SECONDS="${COLLECTOR_BENCH_SUSTAIN_SECONDS:-20}"
WORK="${COLLECTOR_BENCH_DIR:-/tmp/mamori-collector-bench}"

fail() { echo "collector-bench: FAIL: $*" >&2; exit 1; }
log() { echo "collector-bench: $*" >&2; }
for tool in mamori-collector mamori-loadgen; do [ -x "$BIN/$tool" ] || fail "$BIN/$tool missing (swift build -c release)"; done

server_pid=""
pg_dir="$WORK/pg"
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  [ -d "$pg_dir" ] && bash "$ROOT/scripts/pg-test-server.sh" stop "$pg_dir" >/dev/null 2>&1 || true
}
trap cleanup EXIT
rm -rf "$WORK"
mkdir -p "$WORK"

# start_collector ENGINE RUN: a fresh collector (and for postgres a fresh cluster) for one run;
# sets url, ca, token_file.
start_collector() {
  local engine=$1 run="$1-$2" data="$WORK/$1-$2/data" database=()
  if [ "$engine" = postgres ]; then
    # A fresh cluster with PostgreSQL's durable defaults (fsync on), not the tests' fsync=off.
    # Logging only: checkpoints and autovacuum runs go to the server log kept in $WORK.
    database=(--database "$(MAMORI_PG_DURABLE=1 MAMORI_PG_OPTIONS="-c log_checkpoints=on -c log_autovacuum_min_duration=0" bash "$ROOT/scripts/pg-test-server.sh" start "$pg_dir" | tail -n 1)")
  fi
  "$BIN/mamori-collector" init --data "$data" "${database[@]}" > "$WORK/$run.init" 2>"$WORK/$run.init.log" \
    || fail "init ($run): $(cat "$WORK/$run.init.log")"
  tail -n 1 "$WORK/$run.init" > "$WORK/$run.token"
  "$BIN/mamori-collector" serve --data "$data" "${database[@]}" --listen 127.0.0.1:0 --rate-per-host 100000 \
    > "$WORK/$run.serve.log" 2>&1 &
  server_pid=$!
  local port=""
  for _ in $(seq 200); do
    port=$(grep -o 'address=127.0.0.1:[0-9]*' "$WORK/$run.serve.log" | head -n 1 | cut -d: -f2 || true)
    [ -n "$port" ] && break
    sleep 0.05
  done
  [ -n "$port" ] || fail "the collector ($run) did not start: $(cat "$WORK/$run.serve.log")"
  url="https://127.0.0.1:$port"
  ca="$data/tls/ca.pem"
  token_file="$WORK/$run.token"
}

stop_collector() {
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
  cp "$pg_dir/server.log" "$WORK/${1:-run}.postgres.log" 2>/dev/null || true
  bash "$ROOT/scripts/pg-test-server.sh" stop "$pg_dir" >/dev/null 2>&1 || true
}

loadgen() { "$BIN/mamori-loadgen" --server "$url" --ca "$ca" --token "@$token_file" --format json "$@"; }
field() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); v=d
for k in sys.argv[2].split("."): v=v[k]
print(v)' "$1" "$2"; }
ms() { python3 -c 'import sys; print(f"{int(sys.argv[1])/1000:.1f}")' "$1"; }

# slowest_seconds CSV: the three seconds of the fleet run with the slowest requests, to line up
# against the PostgreSQL log's checkpoints and autovacuum runs (kept in $WORK).
slowest_seconds() {
  python3 - "$1" <<'PY'
import collections, sys
seconds = collections.defaultdict(list)
for line in open(sys.argv[1]).read().splitlines()[1:]:
    start, latency = map(float, line.split(","))
    seconds[int(start)].append(latency)
worst = sorted(seconds.items(), key=lambda kv: -max(kv[1]))[:3]
print(", ".join(f"t = {s} s (max {max(v):.0f} ms)" for s, v in sorted(worst)))
PY
}

declare -A sustained fleet slowest
for engine in ${COLLECTOR_BENCH_ENGINES:-sqlite postgres}; do
  log "$engine: sustained ingest, 50 terminals x 1000-record batches for ${SUSTAIN_SECONDS}s"
  start_collector "$engine" sustained
  sustained[$engine]=$(loadgen --hosts 50 --records-per-batch 1000 --interval 0 --concurrency 8 --duration "$SUSTAIN_SECONDS" \
    | tee "$WORK/$engine-sustained.json") || fail "sustained run ($engine) reported errors: $(cat "$WORK/$engine-sustained.json")"
  stop_collector
  log "$engine: fleet of $FLEET terminals, 10 records every 300 s, for ${FLEET_SECONDS}s"
  start_collector "$engine" fleet
  fleet[$engine]=$(loadgen --hosts "$FLEET" --records-per-batch 10 --interval "${COLLECTOR_BENCH_INTERVAL:-300}" --duration "$FLEET_SECONDS" \
    --latency-log "$WORK/$engine-fleet-latency.csv" | tee "$WORK/$engine-fleet.json") \
    || fail "fleet run ($engine) reported errors: $(cat "$WORK/$engine-fleet.json")"
  stop_collector "$engine-fleet"
  slowest[$engine]=$(slowest_seconds "$WORK/$engine-fleet-latency.csv")
  log "$engine: slowest seconds of the fleet run: ${slowest[$engine]}"
done

# verdict ENGINE NAME: which goals this run met.
verdict() {
  python3 - "${sustained[$1]}" "${fleet[$1]}" "$2" <<'PY'
import json, sys
s, f, name = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
ingest = "met" if s["records_per_second"] >= 50000 else "NOT met"
p99 = f["latency_us"]["p99"] / 1000
fleet = "met" if p99 < 100 and f["unexpected"] == 0 else "NOT met"
print(f"{name}: ingest goal {ingest}, fleet goal {fleet} (p99 {p99:.1f} ms).", end="")
PY
}

section() {
cat <<MD

## Collector: verified ingest and a 100,000-terminal fleet

The collector (\`mamori-collector serve\`, release build) and the load generator
(\`mamori-loadgen\`) on this same machine, over loopback HTTPS (TLS 1.3, keep-alive). Every batch
is verified in full (chain, MAC under the epoch key, checkpoint signatures) before it is stored
and a signed receipt is returned; every request is signed by its host key and checked against
replay. PostgreSQL is Debian's server with its default durability settings (fsync and synchronous
commit on), a fresh cluster started by \`scripts/pg-test-server.sh\` with \`MAMORI_PG_DURABLE=1\`.

| engine | sustained ingest (50 terminals, 1,000-record batches) | fleet: terminals | fleet: requests/s | p50 ms | p99 ms | max ms |
|---|---|---|---|---|---|---|
| SQLite | $(field "${sustained[sqlite]}" records_per_second) records/s | $FLEET | $(field "${fleet[sqlite]}" requests_per_second) | $(ms "$(field "${fleet[sqlite]}" latency_us.p50)") | $(ms "$(field "${fleet[sqlite]}" latency_us.p99)") | $(ms "$(field "${fleet[sqlite]}" latency_us.max)") |
| PostgreSQL | $(field "${sustained[postgres]}" records_per_second) records/s | $FLEET | $(field "${fleet[postgres]}" requests_per_second) | $(ms "$(field "${fleet[postgres]}" latency_us.p50)") | $(ms "$(field "${fleet[postgres]}" latency_us.p99)") | $(ms "$(field "${fleet[postgres]}" latency_us.max)") |

Goals: ≥ 50,000 verified records/s; the 100,000-terminal fleet (one 10-record batch per terminal
every 5 minutes, ≈ 333 requests/s) held with p99 < 100 ms. $(verdict sqlite SQLite) $(verdict postgres PostgreSQL) The fleet run lasts ${FLEET_SECONDS} s
(300 s is one full reporting interval: every terminal sends its batch once) after all $FLEET
terminals are enrolled (SQLite: $(field "${fleet[sqlite]}" enrol_ms) ms, PostgreSQL:
$(field "${fleet[postgres]}" enrol_ms) ms for the enrolments). Nothing is paused or tuned for the
run: PostgreSQL's autovacuum and checkpoints happen during it as they would in service. Slowest
seconds — SQLite: ${slowest[sqlite]}; PostgreSQL: ${slowest[postgres]}. Sustained-ingest
latency (8 requests in flight): SQLite p50 $(ms "$(field "${sustained[sqlite]}" latency_us.p50)") ms /
p99 $(ms "$(field "${sustained[sqlite]}" latency_us.p99)") ms, PostgreSQL p50
$(ms "$(field "${sustained[postgres]}" latency_us.p50)") ms / p99 $(ms "$(field "${sustained[postgres]}" latency_us.p99)") ms.

Anchors (published figures, not run here): Fleet sizes 1,000 hosts per 0.5-vCPU task; Wazuh's
all-in-one server covers about 100 endpoints; Crosby–Wallach's tamper-evident log reached
10,500 events/s per core.
MD
}

# The section compares both engines: a run of one engine (COLLECTOR_BENCH_ENGINES) prints its
# figures and leaves the document alone.
if [ -z "${fleet[sqlite]:-}" ] || [ -z "${fleet[postgres]:-}" ]; then
  for engine in "${!fleet[@]}"; do
    echo "$engine: sustained ${sustained[$engine]}"
    echo "$engine: fleet ${fleet[$engine]} (slowest seconds: ${slowest[$engine]})"
  done
  [ "${1:-}" != "--update-doc" ] || log "one engine only: docs/benchmarks.md not updated"
  exit 0
fi

if [ "${1:-}" = "--update-doc" ]; then
  section >"$WORK/section.md"
  python3 "$ROOT/scripts/bench_splice.py" "$ROOT/docs/benchmarks.md" "$WORK/section.md" "## Collector: "
  log "docs/benchmarks.md updated"
else
  section
fi
