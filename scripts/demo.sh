#!/usr/bin/env bash
# The main job on the embedded default: write a terminal's journal, verify it, then show that a
# tampered copy, a deleted record, a re-sealed record and a truncated copy are each caught.
set -euo pipefail
cd "$(dirname "$0")/.."
ctl=.build/debug/mamorictl
demo=build/demo
rm -rf "$demo"
mkdir -p "$demo"

step() { printf '\n== %s\n' "$*"; }
expect_fail() {
  # Runs a verification that must fail with exit 1 and must name the expected kind.
  local kind=$1; shift
  set +e
  out=$("$@")
  status=$?
  set -e
  echo "$out"
  if [ "$status" -ne 1 ] || ! grep -q "NOT VALID: $kind" <<<"$out"; then
    echo "demo: expected exit 1 and '$kind', got exit $status" >&2
    exit 1
  fi
}

step "1. A terminal writes 5,000 events into its journal (epoch key evolves every 200 records)"
$ctl journal generate "$demo/pc" --records 5000 --epoch-records 200 --seed 2026
$ctl journal show "$demo/pc/journal" --from 4995

step "2. The collector's view: verify with K0 and the host key"
$ctl journal verify "$demo/pc/journal" --k0 "$demo/pc/k0" --host-key "$demo/pc/host.pub"
head=$($ctl journal verify "$demo/pc/journal" --k0 "$demo/pc/k0" --host-key "$demo/pc/host.pub" --format json \
  | /usr/bin/python3 -c 'import json,sys; h=json.load(sys.stdin)["head"]; print("%d:%s" % (h["seq"], h["hash"]))')
echo "collector keeps head $head"

copy() { rm -rf "$demo/$1"; cp -r "$demo/pc" "$demo/$1"; seg=$(ls "$demo/$1/journal/"*.log | head -1); }

step "3. Someone edits record 1234 (read-only -> read-write) in a copy"
copy edited
sed -i '1235s/"decision":"[a-z-]*"/"decision":"read-write"/' "$seg"
expect_fail modified $ctl journal verify "$demo/edited/journal" --k0 "$demo/pc/k0" --host-key "$demo/pc/host.pub"

step "4. Someone deletes record 2500"
copy deleted
sed -i '2501d' "$seg"
expect_fail deleted $ctl journal verify "$demo/deleted/journal" --k0 "$demo/pc/k0" --host-key "$demo/pc/host.pub"

step "5. Someone swaps records 3000 and 3001"
copy swapped
sed -i -n '3001{h;n;G;p;d};p' "$seg"
expect_fail reordered $ctl journal verify "$demo/swapped/journal" --k0 "$demo/pc/k0" --host-key "$demo/pc/host.pub"

step "6. Someone cuts the last 100 records: only the collector's head shows it"
copy truncated
head -n -100 "$seg" > "$seg.tmp" && mv "$seg.tmp" "$seg"
$ctl journal verify "$demo/truncated/journal" --k0 "$demo/pc/k0" --host-key "$demo/pc/host.pub" | head -2
expect_fail truncated $ctl journal verify "$demo/truncated/journal" --k0 "$demo/pc/k0" --host-key "$demo/pc/host.pub" --expect-head "$head"

step "Demo complete: the untouched journal verifies; every tampered copy was caught with its seq and kind."
