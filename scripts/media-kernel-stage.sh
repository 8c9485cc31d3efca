#!/usr/bin/env bash
# Kernel stage of the media guard's tests (run by `make test`; needs root, loop devices and
# systemd-udevd). Starts its own systemd-udevd with the shipped rules under /run/udev/rules.d
# plus a test-only rule that gives this stage's loop devices the identity of a USB stick, then
# proves on real block devices: BLKROSET on disk and partitions at attach, direct writes fail, a
# later mount is read-only, a writable mount made before enforcement is remounted read-only with
# an alert, an allow-listed device stays writable, a one-off grant makes one stick writable until it
# expires (layer 1 at attach, layer 2 when it arrives later and when it ends), and every decision is in a
# verifiable journal.
# A missing tool or privilege is a failure, never a skip. Always detaches and unmounts.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${MAMORI_BIN_DIR:-$ROOT/.build/debug}"
UDEVD=/lib/systemd/systemd-udevd
RULES_DIR=/run/udev/rules.d
SHIPPED_RULE="$ROOT/packaging/udev/72-mamori-media.rules"

fail() { echo "media-kernel-stage: FAIL: $*" >&2; exit 1; }
pass() { echo "media-kernel-stage: ok: $*"; passed=$((passed + 1)); }
passed=0

[ "$(id -u)" -eq 0 ] || fail "needs root (BLKROSET, losetup, mount)"
for tool in flock losetup partx sfdisk mkfs.ext4 mount umount findmnt blockdev udevadm dd; do
  command -v "$tool" >/dev/null || fail "$tool missing: run scripts/install-deps.sh"
done
[ -x "$UDEVD" ] || fail "$UDEVD missing: install the udev package (scripts/install-deps.sh)"
[ -e /dev/loop-control ] || fail "/dev/loop-control missing: no loop devices on this machine"
[ -x "$BIN/mamori-agent" ] && [ -x "$BIN/mamorictl" ] || fail "build first: $BIN/mamori-agent or mamorictl missing"
# One media stage at a time on this machine (worktrees share it): they start udevd and share
# /run/udev/rules.d. Wait for the other one rather than fail.
mkdir -p /run/lock
exec 9>/run/lock/mamori-media-stage.lock
flock -w 900 9 || fail "another media stage has held /run/lock/mamori-media-stage.lock for 15 minutes"
if pgrep -x systemd-udevd >/dev/null; then fail "a systemd-udevd is already running; this stage starts its own"; fi

WORK="$(mktemp -d /tmp/mamori-kernel-XXXXXX)"
LOOPS=()
USED_LOOPS=()
UDEVD_PID=""
WATCH_PID=""
TEST_RULES=("$RULES_DIR/72-mamori-media.rules" "$RULES_DIR/71-mamori-test-loop-identity.rules")

cleanup() {
  set +e
  for mountpoint in $(findmnt -rn -o TARGET | grep "^$WORK/" | sort -r); do
    umount "$mountpoint" 2>/dev/null || umount -l "$mountpoint"
  done
  for loop in "${LOOPS[@]}"; do blockdev --setrw "$loop" 2>/dev/null; losetup -d "$loop" 2>/dev/null; done
  if [ -n "$WATCH_PID" ]; then kill "$WATCH_PID" 2>/dev/null; wait "$WATCH_PID" 2>/dev/null; fi
  if [ -n "$UDEVD_PID" ]; then kill "$UDEVD_PID" 2>/dev/null; wait "$UDEVD_PID" 2>/dev/null; fi
  rm -f "${TEST_RULES[@]}"
  # A helper run for a detach event can land after detach(): leave no loop device read-only.
  for loop in "${USED_LOOPS[@]}"; do blockdev --setrw "$loop" 2>/dev/null; done
  if [ "${KEEP_WORK:-0}" = 1 ]; then echo "media-kernel-stage: kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

start_udevd() {
  "$UDEVD" --resolve-names=never >>"$WORK/udevd.log" 2>&1 9>&- &
  UDEVD_PID=$!
  for _ in $(seq 50); do udevadm control --ping 2>/dev/null && return 0; sleep 0.1; done
  fail "systemd-udevd did not start (see $WORK/udevd.log)"
}

stop_udevd() {
  kill "$UDEVD_PID"; wait "$UDEVD_PID" 2>/dev/null || true; UDEVD_PID=""
}

attach() { # image: sets LOOP to the new loop device (with partitions), remembered for cleanup
  LOOP="$(losetup -f --show -P "$1")"
  LOOPS+=("$LOOP")
  USED_LOOPS+=("$LOOP")
  # This VM's kernel does not scan the table at attach (partscan=1, no partitions): when the
  # nodes do not appear, add them from the table with BLKPG (partx), as a hot-plug would.
  for _ in $(seq 20); do
    [ -b "${LOOP}p2" ] && return 0
    partx -u "$LOOP" 2>/dev/null || true
    sleep 0.1
  done
  fail "no partitions appeared on $LOOP"
}

detach() {
  # BLKROSET outlives the attachment (it belongs to the loop device, not the image): clear it, or
  # the next user of this loop device would get a read-only disk.
  blockdev --setrw "$1" 2>/dev/null || true
  losetup -d "$1"
  local kept=()
  for loop in "${LOOPS[@]}"; do [ "$loop" = "$1" ] || kept+=("$loop"); done
  LOOPS=("${kept[@]}")
}

settle() { udevadm settle --timeout=30 || fail "udev did not settle"; }

make_image() { # path: a 64 MiB disk with two ext4 partitions, made before any rule is active
  truncate -s 64M "$1"
  printf 'label: dos\n,28M,L\n,,L\n' | sfdisk -q "$1"
  attach "$1"
  mkfs.ext4 -q -F "${LOOP}p1"
  mkfs.ext4 -q -F "${LOOP}p2"
  detach "$LOOP"
}

expect_ro() { # device expected(0|1) label
  local got
  got="$(blockdev --getro "$1")"
  [ "$got" = "$2" ] || fail "$3: $1 has ro=$got, expected $2"
}

mount_options() { findmnt -rn -o OPTIONS --target "$1" | cut -d, -f1; }

# --- setup: images, journal, profile, rules --------------------------------------------------
mkdir -p "$WORK/mnt1" "$WORK/mnt2" "$WORK/mnt3"
make_image "$WORK/blocked.img"
make_image "$WORK/allowed.img"

"$BIN/mamori-agent" debug append-loop --journal "$WORK/journal" --keys "$WORK/keys" --create --count 0 >/dev/null
"$BIN/mamori-agent" debug append-loop --journal "$WORK/journal2" --keys "$WORK/keys2" --create --count 0 >/dev/null

cat >"$WORK/profile.yaml" <<PROFILE
name: kernel-stage
version: 1
expires: 2099-01-01
scope:
  organisation: mayor
media:
  mode: enforce
  allow:
    - vendor: "0781"
      product: "5583"
      serial: "$WORK/allowed.img"
      mode: read-write
      reason: kernel stage allow-listed stick
PROFILE

# One-off grants (section 7): this stage's own keys, a host id, and a grants file that starts absent.
"$BIN/mamorictl" keys init --dir "$WORK/gkeys" >/dev/null
GRANT_OPTIONS="--grants $WORK/grants.jsonl --profile-root $WORK/gkeys/root.pub --host-id hst-kernel"
make_image "$WORK/grant.img"
sign_grant() { # out host for [now]: a signed grant for the stick backed by grant.img
  local extra=()
  [ -n "${4:-}" ] && extra=(--now "$4")
  "$BIN/mamorictl" profile grant-device --no-push --out "$1" --host "$2" --serial "$WORK/grant.img" --vendor 0781 --product 5583 \
    --for "$3" --reason "kernel stage take-out" --ref "R8-KERNEL-$2" --key "$WORK/gkeys/signing.key" "${extra[@]}" >/dev/null \
    || fail "could not sign a grant for $2"
}
sign_grant "$WORK/grant-other.json" hst-elsewhere 2h
sign_grant "$WORK/grant-long.json" hst-kernel 2h

mkdir -p "$RULES_DIR"
# Test-only identity: this stage's loop devices look like a SanDisk stick whose serial is the
# backing file, so the allow list can name one of them. Other loop devices are untouched.
cat >"$RULES_DIR/71-mamori-test-loop-identity.rules" <<RULE
SUBSYSTEM=="block", KERNEL=="loop*", ATTRS{loop/backing_file}=="$WORK/*", ENV{ID_BUS}="usb", ENV{ID_VENDOR_ID}="0781", ENV{ID_MODEL_ID}="5583", ENV{ID_SERIAL_SHORT}="\$attr{loop/backing_file}"
RULE
# The shipped rule, pointed at this build, this stage's profile and journal.
sed -e "s|/usr/sbin/mamori-agent|$BIN/mamori-agent|g" \
    -e "s|--journal /var/lib/mamori/journal --keys /var/lib/mamori/keys|--profile $WORK/profile.yaml $GRANT_OPTIONS --journal $WORK/journal --keys $WORK/keys|g" \
    "$SHIPPED_RULE" >"$RULES_DIR/72-mamori-media.rules"
grep -q "$BIN/mamori-agent media-guard" "$RULES_DIR/72-mamori-media.rules" || fail "could not adapt $SHIPPED_RULE"
start_udevd

# --- 1. attach: disk and partitions read-only, writes fail, a later mount is read-only --------
attach "$WORK/blocked.img"; loop="$LOOP"
settle
for device in "$loop" "${loop}p1" "${loop}p2"; do expect_ro "$device" 1 "attach of a protected stick"; done
pass "BLKROSET on $loop and both partitions at attach"
if dd if=/dev/zero of="${loop}p1" bs=4096 count=1 oflag=direct conv=notrunc status=none 2>/dev/null; then
  fail "a direct write to ${loop}p1 succeeded"
fi
if dd if=/dev/zero of="$loop" bs=4096 count=1 seek=100 oflag=direct conv=notrunc status=none 2>/dev/null; then
  fail "a direct write to $loop succeeded"
fi
pass "direct writes to the disk and a partition fail"
mount "${loop}p1" "$WORK/mnt1" 2>/dev/null || true
[ "$(mount_options "$WORK/mnt1")" = "ro" ] || fail "a mount after enforcement is not read-only"
if touch "$WORK/mnt1/written" 2>/dev/null; then fail "wrote a file on a protected mount"; fi
umount "$WORK/mnt1"
pass "a later mount comes up read-only"
"$BIN/mamori-agent" media scan --profile "$WORK/profile.yaml" --format json >"$WORK/scan.json"
grep -q "\"device\":\"$loop\",\"devtype\":\"disk\",\"event\":\"scan\"" "$WORK/scan.json" || fail "media scan does not list $loop"
grep -o "{[^{}]*\"device\":\"$loop\"[^{}]*}" "$WORK/scan.json" | grep -q '"read_only_now":true' \
  || fail "media scan does not show $loop as read-only now"
"$BIN/mamori-agent" media scan --profile "$WORK/profile.yaml" >"$WORK/scan.txt"
grep -q "^$loop .*usb-storage .*read-only .*default:usb-storage .*yes$" "$WORK/scan.txt" \
  || fail "media scan's table does not show $loop's decision"
pass "media scan lists the stick, its decision, rule and current read-only state"
detach "$loop"
settle

# --- 2. the race: mounted writable before enforcement, remediated by the helper --------------
stop_udevd
attach "$WORK/blocked.img"; loop="$LOOP"
# Setup: a writable device (a helper run for the previous detach may have left the flag set).
for device in "$loop" "${loop}p1" "${loop}p2"; do blockdev --setrw "$device"; done
mount -o rw "${loop}p1" "$WORK/mnt2"
[ "$(mount_options "$WORK/mnt2")" = "rw" ] || fail "setup: the race mount is not writable"
echo before >"$WORK/mnt2/before-enforcement"
start_udevd
udevadm trigger --action=change "$loop"
settle
expect_ro "${loop}p1" 1 "race"
[ "$(mount_options "$WORK/mnt2")" = "ro" ] || fail "the writable mount made before enforcement is still $(mount_options "$WORK/mnt2")"
if touch "$WORK/mnt2/after" 2>/dev/null; then fail "wrote a file after remediation"; fi
pass "a writable mount made before enforcement is remounted read-only"
umount "$WORK/mnt2"
detach "$loop"
settle

# Tests 1 and 2 ran with no agent at all: layer 1 (udevd + the helper) held on its own.

# --- 3. layer 2 alone: the agent's monitor reconciles a device present at start, then enforces
#        on a new attach (the shipped rule is taken out, so the helper does not run) -------------
mv "$RULES_DIR/72-mamori-media.rules" "$WORK/72-mamori-media.rules.off"
udevadm control --reload
attach "$WORK/blocked.img"; present="$LOOP"
settle
for device in "$present" "${present}p1" "${present}p2"; do blockdev --setrw "$device"; done
expect_ro "${present}p1" 0 "layer 1 taken out"
"$BIN/mamori-agent" media watch --format json --profile "$WORK/profile.yaml" --journal "$WORK/journal2" --keys "$WORK/keys2" \
  >"$WORK/watch.out" 2>"$WORK/watch.err" 9>&- &
WATCH_PID=$!
for _ in $(seq 100); do grep -q '^ready$' "$WORK/watch.out" && break; sleep 0.1; done
grep -q '^ready$' "$WORK/watch.out" || fail "media watch did not become ready: $(cat "$WORK/watch.err")"
for device in "$present" "${present}p1" "${present}p2"; do expect_ro "$device" 1 "reconcile at start"; done
pass "the agent's monitor reconciles a device present at start"
cp "$WORK/blocked.img" "$WORK/second.img"
next="$(losetup -f)"
blockdev --setrw "$next" 2>/dev/null || true
expect_ro "$next" 0 "setup: the next loop device"
attach "$WORK/second.img"; second="$LOOP"
for _ in $(seq 50); do [ "$(blockdev --getro "${second}p1")" = 1 ] && break; sleep 0.1; done
for device in "$second" "${second}p1" "${second}p2"; do expect_ro "$device" 1 "monitor on attach"; done
pass "the agent's monitor enforces on attach with layer 1 out"
kill "$WATCH_PID"; wait "$WATCH_PID" 2>/dev/null || true; WATCH_PID=""
grep -q '"event":"reconcile"' "$WORK/watch.out" || fail "the watcher did not record the reconcile"
detach "$second"
detach "$present"
settle

# --- 3b. --root is isolation: an agent rooted elsewhere decides and journals, but changes no
#         device of this machine unless told so (--enforce-media-on-host) -----------------------
attach "$WORK/blocked.img"; present="$LOOP"
settle
for device in "$present" "${present}p1" "${present}p2"; do blockdev --setrw "$device"; done
rooted_agent() { # DIR [flags]: starts `mamori-agent run --root DIR --only media`, waits until it watches
  local dir=$1; shift
  mkdir -p "$dir"
  "$BIN/mamori-agent" run --root "$dir" --only media "$@" >"$dir.log" 2>&1 9>&- &
  WATCH_PID=$!
  for _ in $(seq 150); do grep -q "media: watching" "$dir.log" && return 0; sleep 0.1; done
  fail "the agent rooted at $dir did not start watching: $(cat "$dir.log")"
}
stop_rooted_agent() { kill "$WATCH_PID"; wait "$WATCH_PID" 2>/dev/null || true; WATCH_PID=""; }
rooted_agent "$WORK/rooted"
grep -q "no device of this machine is changed" "$WORK/rooted.log" || fail "the rooted agent did not say at start that it changes no device"
sleep 1
for device in "$present" "${present}p1" "${present}p2"; do expect_ro "$device" 0 "an agent with --root (no --enforce-media-on-host)"; done
stop_rooted_agent
"$BIN/mamorictl" journal show "$WORK/rooted/var/lib/mamori/journal" --format json >"$WORK/rooted.journal"
grep "\"device\":\"$present\"" "$WORK/rooted.journal" | grep -q "not applied (agent root is not /): BLKROSET $present" \
  || fail "the rooted agent's journal does not record the decision it did not apply: $(grep -c media.decision "$WORK/rooted.journal") decisions"
grep -q '"media_touches_devices":false' "$WORK/rooted.journal" || fail "agent.started does not say media_touches_devices=false"
pass "an agent with --root decides $present (journalled, not applied) and leaves it writable"
rooted_agent "$WORK/rooted-enforcing" --enforce-media-on-host
for _ in $(seq 50); do [ "$(blockdev --getro "${present}p1")" = 1 ] && break; sleep 0.1; done
for device in "$present" "${present}p1" "${present}p2"; do expect_ro "$device" 1 "an agent with --root --enforce-media-on-host"; done
stop_rooted_agent
pass "the same agent with --enforce-media-on-host makes $present read-only"
detach "$present"
settle
mv "$WORK/72-mamori-media.rules.off" "$RULES_DIR/72-mamori-media.rules"
udevadm control --reload

# --- 4. the allow-listed stick stays writable --------------------------------------------------
attach "$WORK/allowed.img"; loop="$LOOP"
settle
for device in "$loop" "${loop}p1" "${loop}p2"; do expect_ro "$device" 0 "allow-listed stick"; done
mount "${loop}p1" "$WORK/mnt3"
[ "$(mount_options "$WORK/mnt3")" = "rw" ] || fail "the allow-listed stick mounted $(mount_options "$WORK/mnt3")"
echo data >"$WORK/mnt3/written" || fail "could not write to the allow-listed stick"
umount "$WORK/mnt3"
pass "the allow-listed stick stays writable"
detach "$loop"
settle

# --- 5. fail closed: an unreadable profile makes even the allow-listed stick read-only --------
mv "$WORK/profile.yaml" "$WORK/profile.yaml.off"
attach "$WORK/allowed.img"; loop="$LOOP"
settle
expect_ro "${loop}p1" 1 "fail closed"
pass "with no readable profile the allow-listed stick is read-only (fail closed)"
detach "$loop"
settle
mv "$WORK/profile.yaml.off" "$WORK/profile.yaml"

# --- 7. one-off grants (持ち出し申請) on real block devices ----------------------------------------
# 7a. A grant for another host does nothing: the stick is read-only at attach.
cp "$WORK/grant-other.json" "$WORK/grants.jsonl"
attach "$WORK/grant.img"; loop="$LOOP"
settle
for device in "$loop" "${loop}p1" "${loop}p2"; do expect_ro "$device" 1 "a grant for another host"; done
pass "a grant for another host leaves the stick read-only"
# 7b. The agent's monitor takes a grant that arrived after the attach: the stick becomes writable
#     (BLKROSET 0 on disk and partitions) and, when the grant ends, read-only again by itself.
sign_grant "$WORK/grant-short.json" hst-kernel 1m "$(date -u -d '-45 seconds' +%Y-%m-%dT%H:%M:%SZ)"
cat "$WORK/grant-other.json" "$WORK/grant-short.json" >"$WORK/grants.jsonl"
"$BIN/mamori-agent" media watch --format json --profile "$WORK/profile.yaml" $GRANT_OPTIONS --journal "$WORK/journal2" --keys "$WORK/keys2" \
  >"$WORK/watch-grant.out" 2>"$WORK/watch-grant.err" 9>&- &
WATCH_PID=$!
for _ in $(seq 100); do grep -q '^ready$' "$WORK/watch-grant.out" && break; sleep 0.1; done
grep -q '^ready$' "$WORK/watch-grant.out" || fail "media watch did not become ready: $(cat "$WORK/watch-grant.err")"
for device in "$loop" "${loop}p1" "${loop}p2"; do expect_ro "$device" 0 "a grant taken by the agent's monitor"; done
grep -q "\"applied\":\[\"BLKROSET 0 $loop\"" "$WORK/watch-grant.out" || fail "the monitor did not record BLKROSET 0 on $loop"
pass "a grant taken by the agent's monitor makes the attached stick writable"
for _ in $(seq 300); do [ "$(blockdev --getro "${loop}p1")" = 1 ] && break; sleep 0.1; done
for device in "$loop" "${loop}p1" "${loop}p2"; do expect_ro "$device" 1 "after the grant expired"; done
pass "when the grant expires the stick is read-only again, with no collector involved"
kill "$WATCH_PID"; wait "$WATCH_PID" 2>/dev/null || true; WATCH_PID=""
detach "$loop"
settle
# 7c. The udev helper honours a valid grant at attach: the stick mounts writable.
cp "$WORK/grant-long.json" "$WORK/grants.jsonl"
attach "$WORK/grant.img"; loop="$LOOP"
settle
for device in "$loop" "${loop}p1" "${loop}p2"; do expect_ro "$device" 0 "a granted stick at attach"; done
mount "${loop}p1" "$WORK/mnt3"
[ "$(mount_options "$WORK/mnt3")" = "rw" ] || fail "the granted stick mounted $(mount_options "$WORK/mnt3")"
echo taken-out >"$WORK/mnt3/granted" || fail "could not write to the granted stick"
umount "$WORK/mnt3"
pass "the udev helper honours a valid grant: the stick is writable at attach"
detach "$loop"
settle
rm -f "$WORK/grants.jsonl"

# --- 6. the journal names every decision and verifies ----------------------------------------
"$BIN/mamorictl" journal verify "$WORK/journal" --k0 "$WORK/keys/k0" --host-key "$WORK/keys/host.pub" >/dev/null \
  || fail "the journal does not verify"
"$BIN/mamorictl" journal show "$WORK/journal" --format json >"$WORK/journal.json"
grep -q '"kind":"media.decision"' "$WORK/journal.json" || fail "no media.decision record"
grep -q '"rule":"media.allow\[0\]"' "$WORK/journal.json" || fail "no record names the allow-list entry"
grep -q '"rule":"default:usb-storage"' "$WORK/journal.json" || fail "no record names the default"
grep -q '"rule":"fail-closed:usb-storage"' "$WORK/journal.json" || fail "no record names the fail-closed default"
grep -q '"kind":"media.mount-alert"' "$WORK/journal.json" || fail "no media.mount-alert record for the race"
grep -q '"rule":"grant:grt-' "$WORK/journal.json" || fail "no record names the grant that allowed the stick"
grep -q '"remediation":"remounted read-only"' "$WORK/journal.json" || fail "the alert does not say the mount was remounted read-only"
"$BIN/mamorictl" journal verify "$WORK/journal2" --k0 "$WORK/keys2/k0" --host-key "$WORK/keys2/host.pub" >/dev/null \
  || fail "the watcher's journal does not verify"
# Into a file, not a pipe: with pipefail, grep -q leaving early would SIGPIPE a long listing and fail.
"$BIN/mamorictl" journal show "$WORK/journal2" --format json >"$WORK/journal2.json" || fail "journal show failed on the watcher's journal"
grep -q '"event":"add"' "$WORK/journal2.json" || fail "the watcher journalled no add event"
pass "the journals verify and name each decision, rule and the mount alert"

echo "media-kernel-stage: all $passed checks passed"
