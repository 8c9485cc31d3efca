#!/usr/bin/env bash
# Media guard benchmark (root; run by `make bench` after scripts/bench.sh, or alone). Starts its
# own systemd-udevd with the shipped rule (adapted to this build) and a test-only rule giving the
# benchmark's loop devices a USB-stick identity, then measures:
#  1. latency from attaching a protected disk to BLKROSET done (BLKROGET=1), over N attaches;
#  2. the race: attach and mount read-write immediately, M times; how many mounts stayed writable
#     after the guard's remediation, and how long remediation took.
# Prints a Markdown section on stdout (progress on stderr). Always detaches and unmounts.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${MAMORI_BIN_DIR:-$ROOT/.build/release}"
ATTACHES="${MEDIA_BENCH_ATTACHES:-200}"
RACES="${MEDIA_BENCH_RACES:-100}"
UDEVD=/lib/systemd/systemd-udevd
RULES_DIR=/run/udev/rules.d
RULES=("$RULES_DIR/71-mamori-bench-loop-identity.rules" "$RULES_DIR/72-mamori-media.rules")

fail() { echo "media-bench: FAIL: $*" >&2; exit 1; }
log() { echo "media-bench: $*" >&2; }
[ "$(id -u)" -eq 0 ] || fail "needs root"
for tool in flock losetup mkfs.ext4 mount umount findmnt blockdev udevadm; do command -v "$tool" >/dev/null || fail "$tool missing"; done
[ -x "$UDEVD" ] && [ -x "$BIN/mamori-agent" ] || fail "$UDEVD or $BIN/mamori-agent missing"
# One media stage at a time on this machine (worktrees share it): they start udevd and share
# /run/udev/rules.d. Wait for the other one rather than fail.
mkdir -p /run/lock
exec 9>/run/lock/mamori-media-stage.lock
flock -w 900 9 || fail "another media stage has held /run/lock/mamori-media-stage.lock for 15 minutes"
if pgrep -x systemd-udevd >/dev/null; then fail "a systemd-udevd is already running"; fi

WORK="$(mktemp -d /tmp/mamori-bench-XXXXXX)"
LOOP=""
UDEVD_PID=""
cleanup() {
  set +e
  for mountpoint in $(findmnt -rn -o TARGET | grep "^$WORK/" | sort -r); do umount "$mountpoint" 2>/dev/null || umount -l "$mountpoint"; done
  if [ -n "$LOOP" ]; then blockdev --setrw "$LOOP"; losetup -d "$LOOP" 2>/dev/null; fi
  if [ -n "$UDEVD_PID" ]; then kill "$UDEVD_PID"; wait "$UDEVD_PID" 2>/dev/null; fi
  rm -f "${RULES[@]}"
  [ -n "${USED:-}" ] && blockdev --setrw "$USED" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

now_ns() { date +%s%N; }
percentile() { # p < file of numbers
  sort -n "$2" | awk -v p="$1" '{a[NR]=$1} END {i=int((p/100)*NR+0.999999); if (i<1) i=1; if (i>NR) i=NR; print a[i]}'
}

# A 64 MiB disk with ext4 on the whole device (no partition table: this VM's kernel does not scan
# loop partition tables at attach, and the race needs nothing between attach and mount).
truncate -s 64M "$WORK/stick.img"
mkfs.ext4 -q -F "$WORK/stick.img"
mkdir -p "$WORK/mnt" "$RULES_DIR"
cat >"$RULES_DIR/71-mamori-bench-loop-identity.rules" <<RULE
SUBSYSTEM=="block", KERNEL=="loop*", ATTRS{loop/backing_file}=="$WORK/*", ENV{ID_BUS}="usb", ENV{ID_VENDOR_ID}="0781", ENV{ID_MODEL_ID}="5583", ENV{ID_SERIAL_SHORT}="bench"
RULE
sed -e "s|/usr/sbin/mamori-agent|$BIN/mamori-agent|g" \
    -e "s|--journal /var/lib/mamori/journal --keys /var/lib/mamori/keys|--profile $WORK/none.yaml|g" \
    "$ROOT/packaging/udev/72-mamori-media.rules" >"$RULES_DIR/72-mamori-media.rules"
"$UDEVD" --resolve-names=never >"$WORK/udevd.log" 2>&1 9>&- &
UDEVD_PID=$!
for _ in $(seq 50); do udevadm control --ping 2>/dev/null && break; sleep 0.1; done
udevadm control --ping 2>/dev/null || fail "systemd-udevd did not start"

detach() { # unmount, detach, wait for udev, and clear the flag any late helper run left
  umount "$WORK/mnt" 2>/dev/null || true
  blockdev --setrw "$LOOP"
  losetup -d "$LOOP"
  udevadm settle --timeout=30
  blockdev --setrw "$LOOP"
  USED="$LOOP"; LOOP=""
}

# --- 1. attach -> BLKROSET latency -------------------------------------------------------------
log "latency: $ATTACHES attaches"
: >"$WORK/latency.us"
for i in $(seq "$ATTACHES"); do
  t0=$(now_ns)
  LOOP="$(losetup -f --show "$WORK/stick.img")"
  until [ "$(blockdev --getro "$LOOP")" = 1 ]; do
    [ $(( $(now_ns) - t0 )) -lt 10000000000 ] || fail "attach $i: no BLKROSET within 10 s"
  done
  echo $(( ($(now_ns) - t0) / 1000 )) >>"$WORK/latency.us"
  detach
done
p50=$(percentile 50 "$WORK/latency.us"); p99=$(percentile 99 "$WORK/latency.us"); pmax=$(percentile 100 "$WORK/latency.us")

# --- 2. the race: attach and mount read-write at once ------------------------------------------
log "race: $RACES trials"
: >"$WORK/remediation.us"
won_by_layer1=0; remediated=0; writable=0; mount_failed=0
for i in $(seq "$RACES"); do
  LOOP="$(losetup -f --show "$WORK/stick.img")"
  if ! mount -o rw "$LOOP" "$WORK/mnt" 2>/dev/null; then mount_failed=$((mount_failed + 1)); detach; continue; fi
  t0=$(now_ns)
  if [ "$(findmnt -rn -o OPTIONS --target "$WORK/mnt" | cut -d, -f1)" = ro ]; then
    won_by_layer1=$((won_by_layer1 + 1))
  else
    until [ "$(findmnt -rn -o OPTIONS --target "$WORK/mnt" | cut -d, -f1)" = ro ] || [ $(( $(now_ns) - t0 )) -ge 5000000000 ]; do :; done
    if [ "$(findmnt -rn -o OPTIONS --target "$WORK/mnt" | cut -d, -f1)" = ro ]; then
      remediated=$((remediated + 1)); echo $(( ($(now_ns) - t0) / 1000 )) >>"$WORK/remediation.us"
    fi
  fi
  udevadm settle --timeout=30
  [ "$(findmnt -rn -o OPTIONS --target "$WORK/mnt" | cut -d, -f1)" = rw ] && writable=$((writable + 1))
  detach
done
if [ -s "$WORK/remediation.us" ]; then
  r50=$(percentile 50 "$WORK/remediation.us"); r99=$(percentile 99 "$WORK/remediation.us"); rmax=$(percentile 100 "$WORK/remediation.us")
else
  r50="—"; r99="—"; rmax="—"
fi

ms() { [ "$1" = "—" ] && echo "—" || awk -v v="$1" 'BEGIN {printf "%.1f", v/1000}'; }
cat <<MD

## Removable media: attach → BLKROSET, and the mount race

Measured by \`scripts/media-bench.sh\` with its own \`systemd-udevd\`, the shipped rule
(\`packaging/udev/72-mamori-media.rules\`) running the $(basename "$BIN") build of \`mamori-agent media-guard\`, and a
64 MiB loop device with ext4 given a USB-stick identity by a test-only rule (no profile file: the
fail-closed default, read-only, applies). Loop attach raises a \`change\` event, not \`add\`; the
rule handles both. Times are taken by polling (\`blockdev --getro\`, \`findmnt\`; about 1–3 ms
per poll), so they include up to one poll interval. Remediation is timed from the return of
\`mount\`.

| measure | trials | p50 (ms) | p99 (ms) | max (ms) |
|---|---|---|---|---|
| attach call → BLKROGET reads 1 (udev event, rule, helper start, profile read, BLKROSET) | $ATTACHES | $(ms "$p50") | $(ms "$p99") | $(ms "$pmax") |
| race: writable mount → remounted read-only by the helper | $remediated | $(ms "$r50") | $(ms "$r99") | $(ms "$rmax") |

Race, $RACES trials of "attach, then \`mount -o rw\` at once": the mount came up read-only
(BLKROSET first) $won_by_layer1 times, came up writable and was remounted read-only $remediated times,
the mount failed $mount_failed times, and **$writable** ended with a writable mount after the guard
settled (goal: 0). Remediation goal: under 1 s (Gooroom GRAC polls the mount table for 60 s;
USBGuard has no read-only mode).
MD
