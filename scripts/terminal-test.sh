#!/usr/bin/env bash
# The real-terminal stage (make terminal-test, called by make test after make deb): boots a Debian 12
# guest with systemd under QEMU (KVM when a probe boots a stock kernel, else TCG: said in the
# output), installs the three .debs inside it and runs scripts/terminal/guest-test.sh there. The host
# side plugs and unplugs USB devices through QMP on a qemu-xhci controller when the guest asks.
# The guest talks to nothing: its NIC is user-mode with restrict=on. Each check is a named line;
# the last line is `N passed, N failed`. A missing tool or a guest that does not boot is a failure.
#
#   scripts/terminal-test.sh [SCENARIO...]   units unknown_stick allowed_stick hub fail_closed logins
#                                           compliance latency reboot upgrade_purge (default: all, in
#                                           this order whatever the order given)
#   MAMORI_TERMINAL_KEEP=1                  keep the work folder (overlay, console log, share)
#   MAMORI_TERMINAL_HOLD=1                  leave the guest up after the scenarios (ssh in; see the log)
#   MAMORI_TERMINAL_ACCEL=tcg|kvm           skip the probe
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
HERE="$ROOT/scripts/terminal"
DIST="$ROOT/dist"
ALL_SCENARIOS=(units unknown_stick allowed_stick hub fail_closed logins compliance latency reboot upgrade_purge)
REQUESTED=("$@")
[ ${#REQUESTED[@]} -gt 0 ] || REQUESTED=("${ALL_SCENARIOS[@]}")
LIMIT_SECONDS=${MAMORI_TERMINAL_LIMIT:-1200}

SUMMARY_PRINTED=0
fail() { echo "terminal-test: FAIL: $*" >&2; echo "0 passed, 1 failed"; SUMMARY_PRINTED=1; exit 1; }
log() { echo "terminal-test: $*" >&2; }

[ "$(id -u)" -eq 0 ] || fail "needs root (debootstrap for the image)"
for tool in qemu-system-x86_64 qemu-img truncate sfdisk mkfs.ext4 ssh-keygen /usr/bin/python3; do
  command -v "$tool" >/dev/null || fail "$tool missing: run scripts/install-deps.sh"
done
for scenario in "${REQUESTED[@]}"; do
  [[ " ${ALL_SCENARIOS[*]} " == *" $scenario "* ]] || fail "unknown scenario $scenario (one of ${ALL_SCENARIOS[*]})"
done
# In the stage's own order: upgrade_purge removes everything, so it is always last.
SCENARIOS=()
for scenario in "${ALL_SCENARIOS[@]}"; do [[ " ${REQUESTED[*]} " == *" $scenario "* ]] && SCENARIOS+=("$scenario"); done
ls "$DIST"/mamori-agent_*.deb "$DIST"/mamori-collector_*.deb "$DIST"/mamorictl_*.deb >/dev/null 2>&1 || fail "no packages in dist/ (make deb)"

IMAGE="$(bash "$HERE/build-image.sh")" || fail "the guest image could not be built"
WORK="$(mktemp -d "$ROOT/build/terminal/run-XXXXXX")"
SHARE="$WORK/share"
QMP="$WORK/qmp.sock"
QEMU_PID=""
cleanup() {
  set +e
  [ "$SUMMARY_PRINTED" = 1 ] || echo "0 passed, 1 failed (the stage stopped early)"
  if [ -n "$QEMU_PID" ] && kill -0 "$QEMU_PID" 2>/dev/null; then kill "$QEMU_PID"; wait "$QEMU_PID" 2>/dev/null; fi
  if [ "${MAMORI_TERMINAL_KEEP:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
mkdir -p "$SHARE/debs" "$SHARE/requests" "$SHARE/replies" "$WORK/sticks"
cp "$DIST"/mamori-agent_*.deb "$DIST"/mamori-collector_*.deb "$DIST"/mamorictl_*.deb "$SHARE/debs/"
# upgrade_purge: the guest first installs "the previous build" and upgrades to these packages. A
# second release build would double the stage's build time, so the previous build is these very
# packages repacked with a lower version (VERSION~previous): dpkg runs every maintainer script of a
# real upgrade (prerm upgrade, postinst configure OLD-VERSION, the units restarted by systemd).
# Uncompressed (-Znone): unpacking xz under emulation is what makes an install slow.
if [[ " ${SCENARIOS[*]} " == *" upgrade_purge "* ]]; then
  mkdir -p "$SHARE/previous"
  for deb in "$SHARE"/debs/*.deb; do
    rm -rf "$WORK/repack"
    dpkg-deb -R "$deb" "$WORK/repack"
    version=$(sed -n 's/^Version: //p' "$WORK/repack/DEBIAN/control")
    sed -i "s/^Version: .*/Version: ${version}~previous/" "$WORK/repack/DEBIAN/control"
    dpkg-deb -Znone -b "$WORK/repack" "$SHARE/previous/$(basename "$deb" | sed "s/_${version}_/_${version}~previous_/")" >/dev/null \
      || fail "could not repack $deb as the previous build"
  done
  rm -rf "$WORK/repack"
fi
cp "$HERE/guest-test.sh" "$SHARE/guest-test.sh"
printf '%s\n' "${SCENARIOS[@]}" >"$SHARE/scenarios"
ssh-keygen -q -t ed25519 -N "" -C mamori-terminal-test -f "$WORK/ssh-key"
cp "$WORK/ssh-key.pub" "$SHARE/ssh.pub"
if [ "${MAMORI_TERMINAL_HOLD:-0}" = 1 ]; then touch "$SHARE/hold"; LIMIT_SECONDS=86400; MAMORI_TERMINAL_KEEP=1; fi
qemu-img create -q -f qcow2 -b "$IMAGE/root.img" -F raw "$WORK/overlay.qcow2"

# A stick image: a DOS table and one ext4 partition, made in the file (no loop device, no udev).
# Kept for the run: a stick plugged again (the latency scenario) reuses its image.
make_stick() {
  [ -f "$1" ] && return 0
  truncate -s 64M "$1"
  printf 'label: dos\nstart=2048,size=126976,type=83\n' | sfdisk -q "$1"
  mkfs.ext4 -q -F -E offset=1048576 "$1" 62M
}

# The accelerator: KVM only if a stock kernel boots under it here (a nested, paravirtual KVM
# stops with an emulation failure, or hangs: 20 s, where a working KVM panics in a few); a kernel
# panic on init=/bin/false is the sign it ran.
ACCEL=${MAMORI_TERMINAL_ACCEL:-}
if [ -z "$ACCEL" ]; then
  ACCEL=tcg
  if [ -e /dev/kvm ]; then
    timeout 20 qemu-system-x86_64 -accel kvm -m 512 -display none -no-reboot -serial file:"$WORK/probe.log" \
      -kernel "$IMAGE/vmlinuz" -append "console=ttyS0 panic=-1 init=/bin/false" >/dev/null 2>&1 || true
    grep -q "Attempted to kill init\|Kernel panic" "$WORK/probe.log" 2>/dev/null && ACCEL=kvm
  fi
fi
log "booting the guest ($ACCEL$([ "$ACCEL" = tcg ] && echo ': software emulation, no usable KVM here'))"
PORT=$((20000 + RANDOM % 20000))
# No -no-reboot: the reboot scenario restarts the guest with its stick still plugged; a poweroff
# ends QEMU. The second serial port carries a getty for the console-login check.
qemu-system-x86_64 -machine q35 -accel "$ACCEL" -m 2048 -smp 2 -display none \
  -kernel "$IMAGE/vmlinuz" -initrd "$IMAGE/initrd.img" \
  -append "root=/dev/vda rw console=ttyS0 mamori.test=1 systemd.show_status=0 quiet" \
  -drive file="$WORK/overlay.qcow2",if=virtio,format=qcow2 \
  -virtfs local,path="$SHARE",mount_tag=share,security_model=none,id=share \
  -nic user,restrict=on,hostfwd=tcp:127.0.0.1:$PORT-:22 \
  -device qemu-xhci,id=xhci \
  -qmp unix:"$QMP",server=on,wait=off \
  -serial file:"$WORK/console.log" -serial unix:"$WORK/ttyS1.sock",server=on,wait=off &
QEMU_PID=$!

qmp() { /usr/bin/python3 "$HERE/qmp.py" "$QMP" "$@"; }
plugged_port=0
# handle ACTION ARGS: what the guest asked for.
handle() {
  case "$1" in
    plug) # ID SERIAL [HUB]
      local image="$WORK/sticks/$2.img"
      make_stick "$image"
      qmp blockdev-add "{\"driver\":\"raw\",\"node-name\":\"$2-node\",\"file\":{\"driver\":\"file\",\"filename\":\"$image\"}}" >/dev/null || return 1
      local where="\"bus\":\"xhci.0\""
      if [ -n "${4:-}" ]; then plugged_port=$((plugged_port + 1)); where="\"bus\":\"xhci.0\",\"port\":\"1.$plugged_port\""; fi
      qmp device_add "{\"driver\":\"usb-storage\",\"id\":\"$2\",\"drive\":\"$2-node\",\"serial\":\"$3\",\"removable\":true,$where}" ;;
    plug-mtp) # ID: a phone-like MTP device (QEMU's usb-mtp, read-only share of a small folder)
      mkdir -p "$WORK/mtp" && echo photo >"$WORK/mtp/IMG_0001.txt"
      qmp device_add "{\"driver\":\"usb-mtp\",\"id\":\"$2\",\"rootdir\":\"$WORK/mtp\",\"desc\":\"Mamori test phone\",\"bus\":\"xhci.0\"}" ;;
    plug-hub) qmp device_add "{\"driver\":\"usb-hub\",\"id\":\"$2\",\"bus\":\"xhci.0\",\"port\":\"1\"}" ;;
    plug-keyboard)
      plugged_port=$((plugged_port + 1))
      qmp device_add "{\"driver\":\"usb-kbd\",\"id\":\"$2\",\"bus\":\"xhci.0\",\"port\":\"1.$plugged_port\"}" ;;
    send-key) # ID KEY: with no display, events go to the keyboard the guest activated last (the USB one)
      qmp send-key "{\"keys\":[{\"type\":\"qcode\",\"data\":\"$3\"}],\"hold-time\":200}" ;;
    unplug) # ID
      qmp device_del "{\"id\":\"$2\"}" >/dev/null || return 1
      for _ in $(seq 50); do
        qmp blockdev-del "{\"node-name\":\"$2-node\"}" >/dev/null 2>&1 && return 0
        # not a stick (hub, keyboard): nothing to delete
        qmp query-named-block-nodes | grep -q "\"$2-node\"" || return 0
        sleep 0.2
      done
      return 1 ;;
    ssh-login) # USER PASSWORD CODE: keyboard-interactive through the forwarded port, as a user would
      ssh_login "$2" "$3" "$4" ;;
    console-login) # USER PASSWORD CODE: the serial getty on the guest's ttyS1
      /usr/bin/python3 "$HERE/console_login.py" "$WORK/ttyS1.sock" "$2" "$3" "$4" ;;
    *) echo "unknown request $1"; return 1 ;;
  esac
}

# ssh_login USER PASSWORD CODE: OpenSSH's own client answers each keyboard-interactive prompt
# through SSH_ASKPASS (the password, then pam_mamori's "Verification code: "); prints "accepted" with
# the remote command's output, or "refused" and the client's last words. Always returns 0.
ssh_login() {
  local askpass="$WORK/askpass-$RANDOM"
  cat >"$askpass" <<ASKPASS
#!/bin/sh
case "\$1" in
  *[Pp]assword*) echo '$2' ;;
  *"Verification code"*) echo '$3' ;;
  *) echo "unexpected prompt: \$1" >&2; exit 1 ;;
esac
ASKPASS
  chmod 0700 "$askpass"
  local out status=0
  out=$(SSH_ASKPASS="$askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=none timeout 60 setsid ssh -n -p "$PORT" \
    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=no \
    -o PreferredAuthentications=keyboard-interactive -o PubkeyAuthentication=no -o NumberOfPasswordPrompts=1 \
    -o ConnectTimeout=30 "$1@127.0.0.1" 'echo MAMORI-SSH-$((6 * 7))' 2>&1 </dev/null) || status=$?
  rm -f "$askpass"
  if [ "$status" = 0 ] && [[ "$out" == *MAMORI-SSH-42* ]]; then echo "accepted"; else echo "refused (exit $status): $(echo "$out" | tail -n 2 | tr '\n' ' ')"; fi
}

if [ "${MAMORI_TERMINAL_HOLD:-0}" = 1 ]; then
  log "the guest stays up after its scenarios: ssh -i $WORK/ssh-key -p $PORT -o StrictHostKeyChecking=no root@127.0.0.1"
  log "guest log: $SHARE/guest.log; to finish: touch $SHARE/release"
fi
started=$SECONDS
while kill -0 "$QEMU_PID" 2>/dev/null; do
  for request in "$SHARE"/requests/[0-9]*; do
    [ -f "$request" ] || continue
    id=$(basename "$request")
    [ -f "$SHARE/replies/$id" ] && continue
    read -r -a words <"$request"
    status=0
    handle "${words[@]}" >"$SHARE/replies/$id.out" 2>&1 || status=$?
    [ "$status" = 0 ] || log "request $id (${words[*]}) failed: $(cat "$SHARE/replies/$id.out")"
    echo "$status" >"$SHARE/replies/$id"
  done
  if [ $((SECONDS - started)) -gt "$LIMIT_SECONDS" ]; then
    log "the guest ran past ${LIMIT_SECONDS}s: stopping it"
    kill "$QEMU_PID"
    break
  fi
  sleep 0.2
done
wait "$QEMU_PID" 2>/dev/null || true
QEMU_PID=""
elapsed=$((SECONDS - started))

passed=0
failed=0
if [ -f "$SHARE/results" ]; then
  while IFS= read -r line; do
    echo "terminal-test: $line"
    case "$line" in ok*) passed=$((passed + 1)) ;; *) failed=$((failed + 1)) ;; esac
  done <"$SHARE/results"
fi
[ -f "$SHARE/security-scores" ] && cp "$SHARE/security-scores" "$ROOT/build/terminal/security-scores"
# The attach → BLKROSET figure on this real kernel path (latency scenario): a docs/benchmarks.md
# section, spliced in by scripts/bench.sh.
if [ -f "$SHARE/latency.json" ]; then
  /usr/bin/python3 "$HERE/latency_section.py" "$SHARE/latency.json" "$ACCEL" >"$ROOT/build/terminal/attach-latency.md" \
    && log "attach → BLKROSET on the guest's kernel: $(grep -m1 '^| hot-plug' "$ROOT/build/terminal/attach-latency.md")"
fi
if [ ! -f "$SHARE/guest.rc" ]; then
  log "the guest did not finish (console: last lines below)"
  tail -n 30 "$WORK/console.log" >&2 || true
  [ -f "$SHARE/guest.log" ] && tail -n 30 "$SHARE/guest.log" >&2
  failed=$((failed + 1))
elif [ "$passed" -eq 0 ]; then
  tail -n 40 "$SHARE/guest.log" >&2 || true
  failed=$((failed + 1))
fi
log "guest ran ${elapsed}s ($ACCEL)"
echo "$passed passed, $failed failed"
SUMMARY_PRINTED=1
[ "$failed" -eq 0 ]
