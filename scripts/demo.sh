#!/usr/bin/env bash
# The main job on the embedded default: write a terminal's journal, verify it, show that edited,
# deleted, swapped and truncated copies are each caught; sign the shipped profile and show which
# terminals accept it and which copies are refused; then the fleet (scripts/demo-fleet.sh): a
# collector on SQLite, three simulated terminals of two organisations enrolled with one-time
# tokens, two USB sticks plugged in (one blocked, one allow-listed), a real PAM login with the
# second factor, one terminal's compliance broken, and `mamorictl fleet` showing it all.
set -euo pipefail
cd "$(dirname "$0")/.."
ctl=.build/debug/mamorictl
demo=build/demo
# A fixed "now" inside the shipped profiles' validity (they expire at the end of the fiscal year).
NOW=2026-12-01T09:00:00Z
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

step "7. The administrator creates keys and signs the standard profile for the personal-number zone"
$ctl keys init --dir "$demo/keys" --now "$NOW"
$ctl profile lint profiles/mynumber-standard.yaml profiles/mynumber-strict.yaml profiles/assembly.yaml
$ctl profile sign profiles/mynumber-standard.yaml --key "$demo/keys/signing.key" --out "$demo/standard.signed" --now "$NOW"

step "8. A terminal of 区長部局 that runs version 0 accepts it"
$ctl profile verify "$demo/standard.signed" --root "$demo/keys/root.pub" --now "$NOW" --scope 区長部局 --current-version 0

step "9. ...but refuses a replay (same version), another organisation's terminal, and a copy edited after signing"
expect_reject() {
  local code=$1; shift
  set +e; out=$("$@"); status=$?; set -e
  echo "$out"
  if [ "$status" -ne 1 ] || ! grep -q "REJECTED: $code" <<<"$out"; then
    echo "demo: expected exit 1 and '$code', got exit $status" >&2; exit 1
  fi
}
expect_reject version-not-newer $ctl profile verify "$demo/standard.signed" --root "$demo/keys/root.pub" --now "$NOW" --scope 区長部局 --current-version 1
expect_reject out-of-scope $ctl profile verify "$demo/standard.signed" --root "$demo/keys/root.pub" --now "$NOW" --scope 区議会
sed 's/read-only/read-write/' "$demo/standard.signed" > "$demo/edited.signed"
set +e; $ctl profile verify "$demo/edited.signed" --root "$demo/keys/root.pub" --now "$NOW" --scope 区長部局; status=$?; set -e
[ "$status" -eq 1 ] || { echo "demo: an edited profile was not rejected" >&2; exit 1; }

bash scripts/demo-fleet.sh "$demo"
