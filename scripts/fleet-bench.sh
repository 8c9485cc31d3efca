#!/usr/bin/env bash
# Fleet query benchmark (run by `make bench` after collector-bench.sh, or alone): on SQLite and on
# PostgreSQL (a throwaway durable cluster from scripts/pg-test-server.sh), a collector holding
# FLEET hosts (default 100,000) with CHECKS checks each (default 20, FAIL_RATE 5 % failing),
# then the live queries an administrator runs:
#   mamorictl fleet summary                      (per organisation, hosts by state)
#   mamorictl fleet hosts --failing CHECK        (every host failing one check, with since)
# Each is timed RUNS times (default 7): end to end (the mamorictl process, HTTPS, the query, the
# JSON) and server-side (the collector's own request histogram, from /metrics); medians and means.
# The fleet is written by mamori-fleet-seed (BENCHMARK ONLY: the rows ingest would write for one
# complete posture report per host, checked by FleetReportTests) instead of enrolling 100,000
# hosts one by one. Prints a Markdown section; --update-doc splices it into docs/benchmarks.md.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${MAMORI_BIN_DIR:-$ROOT/.build/release}"
FLEET="${FLEET_BENCH_HOSTS:-100000}"
CHECKS="${FLEET_BENCH_CHECKS:-20}"
FAIL_RATE="${FLEET_BENCH_FAIL_RATE:-0.05}"
RUNS="${FLEET_BENCH_RUNS:-7}"
CHECK="${FLEET_BENCH_CHECK:-media.rules-enforcing}"
WORK="${FLEET_BENCH_DIR:-/tmp/mamori-fleet-bench}"

fail() { echo "fleet-bench: FAIL: $*" >&2; exit 1; }
log() { echo "fleet-bench: $*" >&2; }
for tool in mamori-collector mamorictl mamori-fleet-seed; do [ -x "$BIN/$tool" ] || fail "$BIN/$tool missing (swift build -c release --product $tool)"; done

server_pid=""
pg_dir="$WORK/pg"
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  [ -d "$pg_dir" ] && bash "$ROOT/scripts/pg-test-server.sh" stop "$pg_dir" >/dev/null 2>&1 || true
}
trap cleanup EXIT
rm -rf "$WORK"
mkdir -p "$WORK"

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# metric ROUTE sum|count: the collector's request-duration histogram for one route.
metric() {
  curl -s --cacert "$ca" -H "Authorization: Bearer $(head -n 1 "$WORK/metrics-token")" "$url/metrics" | awk -v r="route=\"$1\"" -v s="_$2" 'index($0, r) && $1 ~ s"({|$)" {print $2}' | head -n 1
}

# time_command NAME ROUTE ARGS...: RUNS end-to-end runs; sets e2e_ms, server_ms, rows.
time_command() {
  local name=$1 route=$2; shift 2
  local times=() before_sum before_count
  "$BIN/mamorictl" "$@" --format json >"$WORK/$engine-$name.json" 2>"$WORK/$engine-$name.err" || [ $? -eq 3 ] \
    || fail "$name ($engine): $(cat "$WORK/$engine-$name.err")"   # warm-up; exit 3 is "something is not compliant"
  before_sum=$(metric "$route" sum); before_count=$(metric "$route" count)
  for _ in $(seq "$RUNS"); do
    local t0 t1
    t0=$(now)
    "$BIN/mamorictl" "$@" --format json >"$WORK/$engine-$name.json" 2>/dev/null || [ $? -eq 3 ] || fail "$name ($engine) failed"
    t1=$(now)
    times+=("$(echo "($t1 - $t0) * 1000" | bc -l)")
  done
  e2e_ms=$(printf '%s\n' "${times[@]}" | median)
  # The same command as an administrator reads it (--format table), end to end only.
  times=()
  for _ in $(seq "$RUNS"); do
    local t0 t1
    t0=$(now)
    "$BIN/mamorictl" "$@" --format table >"$WORK/$engine-$name.txt" 2>/dev/null || [ $? -eq 3 ] || fail "$name ($engine, table) failed"
    t1=$(now)
    times+=("$(echo "($t1 - $t0) * 1000" | bc -l)")
  done
  table_ms=$(printf '%s\n' "${times[@]}" | median)
  server_ms=$(echo "($(metric "$route" sum) - $before_sum) / ($(metric "$route" count) - $before_count) * 1000" | bc -l)
  rows=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d.get("hosts", d.get("organisations", []))))' "$WORK/$engine-$name.json")
}

declare -A result seed_s
for engine in ${FLEET_BENCH_ENGINES:-sqlite postgres}; do
  data="$WORK/$engine/data" database=()
  if [ "$engine" = postgres ]; then
    database=(--database "$(MAMORI_PG_DURABLE=1 bash "$ROOT/scripts/pg-test-server.sh" start "$pg_dir" | tail -n 1)")
  fi
  "$BIN/mamori-collector" init --data "$data" "${database[@]}" >"$WORK/$engine.init" 2>"$WORK/$engine.init.log" || fail "init: $(cat "$WORK/$engine.init.log")"
  export MAMORI_TOKEN="$(tail -n 1 "$WORK/$engine.init")"
  log "$engine: seeding $FLEET hosts x $CHECKS checks"
  t0=$(now)
  "$BIN/mamori-fleet-seed" --data "$data" "${database[@]}" --hosts "$FLEET" --checks "$CHECKS" --fail-rate "$FAIL_RATE" >/dev/null
  seed_s[$engine]=$(printf '%.0f' "$(echo "$(now) - $t0" | bc -l)")
  if [ "$engine" = postgres ]; then
    # Fresh tables have no planner statistics until autovacuum's first pass; a collector in
    # service has them, so the benchmark gathers them once instead of waiting.
    psql "${database[1]}" -X -q -c "ANALYZE hosts; ANALYZE posture_current; ANALYZE posture_history" || fail "ANALYZE failed"
  fi
  # /metrics answers only the scrape token.
  [ -f "$WORK/metrics-token" ] || { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/metrics-token"; chmod 0600 "$WORK/metrics-token"; }
  "$BIN/mamori-collector" serve --data "$data" "${database[@]}" --listen 127.0.0.1:0 --metrics-token-file "$WORK/metrics-token" \
    >"$WORK/$engine.serve.log" 2>&1 &
  server_pid=$!
  port=""
  for _ in $(seq 200); do
    port=$(grep -o 'address=127.0.0.1:[0-9]*' "$WORK/$engine.serve.log" | head -n 1 | cut -d: -f2 || true)
    [ -n "$port" ] && break
    sleep 0.05
  done
  [ -n "$port" ] || fail "the collector ($engine) did not start: $(cat "$WORK/$engine.serve.log")"
  url="https://127.0.0.1:$port" ca="$data/tls/ca.pem"
  export MAMORI_SERVER="$url" MAMORI_CA="$ca"
  log "$engine: timing fleet summary"
  time_command summary fleet-summary fleet summary
  result[$engine-summary]="$e2e_ms $server_ms $rows $table_ms"
  log "$engine: timing fleet hosts --failing $CHECK"
  time_command failing fleet-hosts fleet hosts --failing "$CHECK"
  result[$engine-failing]="$e2e_ms $server_ms $rows $table_ms"
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
  [ "$engine" = postgres ] && { bash "$ROOT/scripts/pg-test-server.sh" stop "$pg_dir" >/dev/null 2>&1 || true; }
done

cell() { set -- ${result[$1]}; printf '%.0f ms | %.0f ms' "$1" "$2"; }
rows_of() { set -- ${result[$1]}; echo "$3"; }
table_of() { set -- ${result[$1]}; printf '%.0f ms' "$4"; }
load=$(cut -d' ' -f1-3 /proc/loadavg)

# verdict: which of the four queries are under 200 ms end to end, in json and in table format.
verdict() {
  local met=() missed=() key
  for key in sqlite-summary sqlite-failing postgres-summary postgres-failing; do
    set -- ${result[$key]}
    # Both formats: json (scripts) and table (the default an administrator reads).
    if [ "$(echo "$1 < 200 && $4 < 200" | bc -l)" = 1 ]; then met+=("$key"); else missed+=("$key"); fi
  done
  if [ ${#missed[@]} -eq 0 ]; then echo "met on both engines"; else echo "NOT met for ${missed[*]} in this run"; fi
}

section() {
cat <<MD

## Fleet queries: $(python3 -c "print(f'{$FLEET:,}')") hosts × $CHECKS checks, live

\`mamorictl fleet summary\` and \`mamorictl fleet hosts --failing $CHECK\` against a collector
holding $(python3 -c "print(f'{$FLEET:,}')") hosts with $CHECKS posture checks each ($(python3 -c "print(f'{$FAIL_RATE:.0%}')") of checks failing, spread over the six
organisations), the packaged release builds (\`make release\`: the Swift runtime linked statically)
on this machine over loopback HTTPS. No cache: every request reads the database (Fleet refreshes
its policy counts hourly). End to end is the whole \`mamorictl ... --format json\` process (start,
TLS handshake, query, output, exit), median of $RUNS runs after one warm-up; \`hosts --failing\`
writes the collector's JSON as received, taking its exit status from a scan of the host states
(\`FleetReplyScan\`) instead of parsing and re-encoding the whole list. Server-side is the
collector's own request time (its /metrics histogram), mean of the same runs. The table column is
the same command with \`--format table\` (parsed and laid out), median of $RUNS runs. The fleet was written by \`mamori-fleet-seed\` (benchmark only: the rows ingest writes
for one complete report per host; SQLite $(printf '%s' "${seed_s[sqlite]:-?}") s, PostgreSQL $(printf '%s' "${seed_s[postgres]:-?}") s), then PostgreSQL
was ANALYZEd once. Load average at the end of the run: $load (2 cores).

| engine | fleet summary: end to end | server | table | fleet hosts --failing: end to end | server | table | hosts listed |
|---|---|---|---|---|---|---|---|
| SQLite | $(cell sqlite-summary) | $(table_of sqlite-summary) | $(cell sqlite-failing) | $(table_of sqlite-failing) | $(rows_of sqlite-failing) |
| PostgreSQL | $(cell postgres-summary) | $(table_of postgres-summary) | $(cell postgres-failing) | $(table_of postgres-failing) | $(rows_of postgres-failing) |

Goal: < 200 ms each, live: $(verdict). The summary reads one row per host (the per-host roll-up
\`posture_failing\` / \`posture_checks\` kept in the ingest transaction), never the 2,000,000
check rows; \`--failing\` reads the \`(check_id, status)\` index of \`posture_current\`.
MD
}

if [ -z "${result[sqlite-summary]:-}" ] || [ -z "${result[postgres-summary]:-}" ]; then
  for key in "${!result[@]}"; do echo "$key: ${result[$key]} (e2e ms, server ms, rows)"; done
  exit 0
fi
if [ "${1:-}" = "--update-doc" ]; then
  section >"$WORK/section.md"
  python3 "$ROOT/scripts/bench_splice.py" "$ROOT/docs/benchmarks.md" "$WORK/section.md" "## Fleet queries: "
  log "docs/benchmarks.md updated"
else
  section
fi
