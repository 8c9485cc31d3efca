#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the collector's tests (the same suite runs on SQLite and on
# a real PostgreSQL server). Built from Debian's postgresql package (scripts/install-deps.sh).
#
#   pg-test-server.sh start [DIR]     initdb and start a cluster in DIR; print its URL
#   pg-test-server.sh url [DIR]       print the URL of the cluster running in DIR
#   pg-test-server.sh stop [DIR]      stop it and delete DIR
#   pg-test-server.sh run -- CMD...   start one in a fresh directory, run CMD with
#                                     MAMORI_TEST_POSTGRES_URL, MAMORI_TEST_POSTGRES_SOCKET_DIR and
#                                     MAMORI_REQUIRE_POSTGRES=1 in its
#                                     environment, stop the server whatever CMD did, exit with CMD's status
#
# DIR defaults to $MAMORI_PG_DIR or /tmp/mamori-pg-test. The server listens on 127.0.0.1 at a free
# port (password login, role `mamori` with CREATEDB so each test can make its own database) and
# on a unix socket in DIR (trust, for this script). fsync is off: the data is thrown away
# (MAMORI_PG_DURABLE=1 keeps PostgreSQL's durable defaults, for benchmarks).
# If PostgreSQL cannot start this exits non-zero with the server log: tests fail, never skip.
set -euo pipefail

fail() { echo "pg-test-server: FAIL: $*" >&2; exit 1; }

PG_BIN="${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}"
[ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/pg_ctl" ] \
  || fail "PostgreSQL server binaries not found under /usr/lib/postgresql: run scripts/install-deps.sh"
command -v psql >/dev/null || fail "psql missing: run scripts/install-deps.sh"
command -v python3 >/dev/null || fail "python3 missing (used to find a free port)"

# initdb refuses to run as root, so as root the cluster belongs to the `postgres` user.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

is_running() { [ -f "$1/data/postmaster.pid" ] && as_owner "$PG_BIN/pg_ctl" -D "$1/data" status >/dev/null 2>&1; }

start() {
  local dir="$1"
  if is_running "$dir" && [ -s "$dir/url" ]; then cat "$dir/url"; return 0; fi
  rm -rf "$dir"
  mkdir -p "$dir"
  chmod 700 "$dir"
  [ "$(id -u)" -ne 0 ] || chown postgres: "$dir"
  local password port attempt
  password="$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  as_owner "$PG_BIN/initdb" -D "$dir/data" -U postgres -E UTF8 --no-locale \
    --auth-local=trust --auth-host=scram-sha-256 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; fail "initdb failed in $dir"; }
  local durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  [ "${MAMORI_PG_DURABLE:-0}" != 1 ] || durability=""
  # A free port can be taken between the probe and the bind (other worktrees test too): retry.
  for attempt in 1 2 3; do
    port="$(free_port)"
    if as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir \
            $durability -c max_connections=300 ${MAMORI_PG_OPTIONS:-}" \
        start >/dev/null; then
      break
    fi
    [ "$attempt" -lt 3 ] || { cat "$dir/server.log" >&2 || true; fail "PostgreSQL did not start (log above)"; }
  done
  as_owner psql -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d postgres \
    -c "CREATE ROLE mamori LOGIN CREATEDB PASSWORD '$password'" \
    -c "CREATE DATABASE mamori_test OWNER mamori" >/dev/null \
    || fail "could not create the test role and database"
  (umask 077; echo "postgres://mamori:$password@127.0.0.1:$port/mamori_test?sslmode=disable" >"$dir/url")
  cat "$dir/url"
}

stop() {
  local dir="$1"
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null \
      || echo "pg-test-server: warning: pg_ctl stop failed in $dir" >&2
  fi
  rm -rf "$dir"
}

run() {
  [ "${1:-}" = "--" ] && shift
  [ $# -gt 0 ] || fail "run needs a command: pg-test-server.sh run -- CMD..."
  local url status
  RUN_DIR="$(mktemp -d /tmp/mamori-pg.XXXXXX)"
  trap 'stop "$RUN_DIR"' EXIT
  url="$(start "$RUN_DIR")" || exit 1
  echo "pg-test-server: PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') at ${url%%:*}://mamori:***@${url#*@}"
  set +e
  MAMORI_TEST_POSTGRES_URL="$url" MAMORI_TEST_POSTGRES_SOCKET_DIR="$RUN_DIR" MAMORI_REQUIRE_POSTGRES=1 "$@"
  status=$?
  set -e
  return "$status"
}

command="${1:-}"
[ $# -gt 0 ] && shift
case "$command" in
  start) start "${1:-${MAMORI_PG_DIR:-/tmp/mamori-pg-test}}" ;;
  url)
    dir="${1:-${MAMORI_PG_DIR:-/tmp/mamori-pg-test}}"
    is_running "$dir" && [ -s "$dir/url" ] || fail "no test server running in $dir (pg-test-server.sh start)"
    cat "$dir/url" ;;
  stop) stop "${1:-${MAMORI_PG_DIR:-/tmp/mamori-pg-test}}" ;;
  run) run "$@" ;;
  *) echo "usage: pg-test-server.sh start|url|stop [DIR] | run -- CMD..." >&2; exit 2 ;;
esac
