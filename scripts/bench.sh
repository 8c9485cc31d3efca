#!/usr/bin/env bash
# make bench: release build, then
#  1. verify throughput on a 1,000,000-record journal, side by side with sha256sum over the
#     same segment files in the same run (5 runs each, medians, ratio);
#  2. durable append rate and latency: fdatasync per record, and group commit in batches;
#  3. the media guard: attach -> BLKROSET latency and the mount race (scripts/media-bench.sh, root),
#     and beside it the real-kernel hot-plug figure the real-terminal stage left in build/terminal;
#  4. the second factor: pam_mamori vs pam_oath vs pam_google_authenticator (scripts/pam-bench.sh);
#  5. the collector: sustained verified ingest and a 100,000-terminal fleet on SQLite and
#     PostgreSQL (scripts/collector-bench.sh);
#  6. fleet queries: `fleet summary` and `fleet hosts --failing` over 100,000 hosts x 20 checks
#     on SQLite and PostgreSQL (scripts/fleet-bench.sh);
#  7. the idle agent with every service on, beside usbguard-daemon: RSS and CPU over 60 s
#     (scripts/agent-bench.sh).
# Writes the results into docs/benchmarks.md (machine and date included).
set -euo pipefail
cd "$(dirname "$0")/.."
RECORDS=${BENCH_RECORDS:-1000000}
RUNS=${BENCH_RUNS:-5}
work=build/bench
# The executables as packaged (`make release`: the Swift runtime linked statically, in .build-deb),
# and the benchmark tools built there with the same flags, so no build alternates flags.
make -s release pam bench-tools >/dev/null
bin=.build-deb/release
rm -rf "$work"
mkdir -p "$work"

echo "generating $RECORDS records..."
$bin/mamorictl journal generate "$work/j" --records "$RECORDS" --seed 7 >/dev/null
segments=("$work"/j/journal/*.log)
bytes=$(cat "${segments[@]}" | wc -c)

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

verify_times=()
sha_times=()
for _ in $(seq "$RUNS"); do
  cat "${segments[@]}" >/dev/null   # same page-cache state for both tools
  t0=$(now); $bin/mamorictl journal verify "$work/j/journal" --k0 "$work/j/k0" --host-key "$work/j/host.pub" >/dev/null; t1=$(now)
  verify_times+=("$(echo "$t1 - $t0" | bc -l)")
  t0=$(now); sha256sum "${segments[@]}" >/dev/null; t1=$(now)
  sha_times+=("$(echo "$t1 - $t0" | bc -l)")
done
verify_median=$(printf '%s\n' "${verify_times[@]}" | median)
sha_median=$(printf '%s\n' "${sha_times[@]}" | median)
ratio=$(echo "$verify_median / $sha_median" | bc -l)
rate=$(echo "$RECORDS / $verify_median" | bc -l)

echo "durable appends..."
append_single=$($bin/mamori-bench append "$work/a1" --records 2000 --batch 1)
append_group=$($bin/mamori-bench append "$work/a32" --records 64000 --batch 32)
append_group256=$($bin/mamori-bench append "$work/a256" --records 128000 --batch 256)
append_concurrent=$($bin/mamori-bench append-concurrent "$work/ac" --records 64000 --producers 64)
field() { tr ' ' '\n' <<<"$1" | grep "^$2=" | cut -d= -f2; }

cpu=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)
fs=$(df -T "$work" | awk 'NR==2 {print $2 " on " $1}')
today=$(date -u +%Y-%m-%d)
fmt() { printf '%.3f' "$1"; }

cat > docs/benchmarks.md <<MD
# Benchmarks

Measured by \`make bench\` (scripts/bench.sh); this file is rewritten on every run.

- Date: $today
- Machine: $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB, $cpu; $(uname -sr); journal on $fs
- Build: \`make release\` (release, the Swift runtime linked statically, as packaged), Swift $(swift --version 2>&1 | sed -n 's/.*Swift version \([0-9.]*\).*/\1/p' | head -1)

## Journal verification vs sha256sum (the hashing limit)

A generated journal of $RECORDS records ($bytes bytes, $((${#segments[@]})) segment(s)) verified
from genesis: parse, SHA-256 record hash, chain link, HMAC under each epoch's key, Ed25519
checkpoint signatures. \`sha256sum\` reads and hashes the same files in the same run. $RUNS runs
each, page cache warm for both.

| tool | median seconds | records/s |
|---|---|---|
| \`mamorictl journal verify\` | $(fmt "$verify_median") | $(printf '%.0f' "$rate") |
| \`sha256sum\` over the same segments | $(fmt "$sha_median") | — |

Ratio verify / sha256sum: **$(printf '%.2f' "$ratio")×** (goal: within 3×).
All runs (s): verify ${verify_times[*]}; sha256sum ${sha_times[*]}.

## Durable appends (fdatasync before the receipt)

| mode | records | records/s | p50 latency (µs) | p99 latency (µs) |
|---|---|---|---|---|
| one fdatasync per record | $(field "$append_single" records) | $(field "$append_single" records_per_s) | $(field "$append_single" p50_us) | $(field "$append_single" p99_us) |
| group commit, 32 per sync | $(field "$append_group" records) | $(field "$append_group" records_per_s) | $(field "$append_group" p50_us) | $(field "$append_group" p99_us) |
| group commit, 256 per sync | $(field "$append_group256" records) | $(field "$append_group256" records_per_s) | $(field "$append_group256" p50_us) | $(field "$append_group256" p99_us) |
| 64 concurrent producers through \`JournalWriter\` (group commit of whatever queued during the last sync) | $(field "$append_concurrent" records) | $(field "$append_concurrent" records_per_s) | $(field "$append_concurrent" p50_us) | $(field "$append_concurrent" p99_us) |

Latency is per append call (one batch, or for the concurrent row one awaited record); a record's
acknowledgement always waits for its batch's sync.
MD
MAMORI_BIN_DIR="$PWD/$bin" bash scripts/media-bench.sh >> docs/benchmarks.md
echo >> docs/benchmarks.md
# The same path on a real kernel's USB stack: the real-terminal stage's latency scenario (run by
# make test and make terminal-test) leaves its section in build/terminal/attach-latency.md.
if [ -f build/terminal/attach-latency.md ]; then
  cat build/terminal/attach-latency.md >> docs/benchmarks.md
else
  echo "## Removable media on a real kernel: hot-plug → BLKROSET (real-terminal stage)" >> docs/benchmarks.md
  echo >> docs/benchmarks.md
  echo "Not measured in this run: \`make terminal-test\` (or \`make test\`) writes build/terminal/attach-latency.md." >> docs/benchmarks.md
fi
echo >> docs/benchmarks.md
MAMORI_BIN_DIR="$PWD/$bin" bash scripts/pam-bench.sh >> docs/benchmarks.md
echo >> docs/benchmarks.md
MAMORI_BIN_DIR="$PWD/$bin" bash scripts/pam-flood-bench.sh >> docs/benchmarks.md
MAMORI_BIN_DIR="$PWD/$bin" bash scripts/collector-bench.sh >> docs/benchmarks.md
MAMORI_BIN_DIR="$PWD/$bin" bash scripts/fleet-bench.sh >> docs/benchmarks.md
echo >> docs/benchmarks.md
swift build --product mamorictl >/dev/null
swift build --product mamori-collector >/dev/null
MAMORI_BIN_DIR="$PWD/$bin" bash scripts/agent-bench.sh >> docs/benchmarks.md
cat docs/benchmarks.md
