#!/usr/bin/env bash
# Inside the real-terminal guest (a booted Debian 12 with systemd, run by mamori-guest-run at boot):
# installs the three packages as an administrator would and runs the scenarios named in
# $SHARE/scenarios, each check a named pass/fail line in $SHARE/results. What the guest cannot do
# itself (plug and unplug USB devices, send a key) it asks the host for through $SHARE/requests,
# and waits for $SHARE/replies. Never stops at a failed check: every scenario runs and reports.
set -uo pipefail

SHARE=/mnt/share
RESULTS="$SHARE/results"
: >"$RESULTS"
request_number=0
export LC_ALL=C.UTF-8 PATH=/usr/sbin:/usr/bin:/sbin:/bin

note() { echo "guest: $*"; }
ok() { echo "ok $1" >>"$RESULTS"; note "ok $1"; }
bad() { echo "FAIL $1: $2" >>"$RESULTS"; note "FAIL $1: $2"; }
# check NAME COMMAND...: ok when the command succeeds, FAIL with its output otherwise.
check() {
  local name=$1; shift
  local output
  if output=$("$@" 2>&1); then ok "$name"; else bad "$name" "$(echo "$output" | tail -n 3 | tr '\n' ' ')"; fi
}
# ask ACTION ARGS...: the host does it (QMP); prints its reply, fails with its status.
ask() {
  request_number=$((request_number + 1))
  local id
  id=$(printf '%03d' "$request_number")
  echo "$*" >"$SHARE/requests/.$id"
  mv "$SHARE/requests/.$id" "$SHARE/requests/$id"
  for _ in $(seq 1200); do
    if [ -f "$SHARE/replies/$id" ]; then
      cat "$SHARE/replies/$id.out" 2>/dev/null
      return "$(cat "$SHARE/replies/$id")"
    fi
    sleep 0.1
  done
  note "the host did not answer request $id ($*)"
  return 1
}
# eventually SECONDS COMMAND...: polls until the command succeeds.
eventually() {
  local seconds=$1; shift
  local end=$((SECONDS + seconds))
  while [ "$SECONDS" -lt "$end" ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  "$@"
}

# The disk the host plugged with SERIAL (by-id link), once udev has finished with it.
disk_for_serial() {
  local link
  for _ in $(seq 150); do
    link=$(ls /dev/disk/by-id/usb-*"$1"* 2>/dev/null | grep -v -- '-part' | head -n 1)
    if [ -n "$link" ]; then udevadm settle --timeout=30; readlink -f "$link"; return 0; fi
    sleep 0.2
  done
  return 1
}
all_read_only() { # DISK: the disk and each partition have ro=1
  local disk=$1 name
  [ "$(blockdev --getro "$disk")" = 1 ] || return 1
  for name in $(lsblk -rno NAME "$disk" | tail -n +2); do [ "$(blockdev --getro "/dev/$name")" = 1 ] || return 1; done
  [ -n "$(lsblk -rno NAME "$disk" | tail -n +2)" ]
}
raw_write_fails() { ! dd if=/dev/zero of="$1" bs=4096 count=1 seek=64 oflag=direct conv=notrunc status=none 2>/dev/null; }
journal_json() { mamorictl journal show /var/lib/mamori/journal --format json 2>/dev/null; }
journal_has() { journal_json | grep -q -- "$1"; }

# --- install, collector, enrolment -------------------------------------------------------------
install_and_enrol() {
  note "installing the packages"
  check "install: apt-get install ./mamori-agent ./mamori-collector ./mamorictl (offline)" \
    apt-get install -y -o Dpkg::Options::=--force-confnew "$SHARE"/debs/mamori-agent_*.deb \
    "$SHARE"/debs/mamori-collector_*.deb "$SHARE"/debs/mamorictl_*.deb
  command -v mamori-agent >/dev/null || { note "nothing installed: no scenario can run"; exit 1; }
  mamorictl keys init --dir /root/mamori-keys >/dev/null
  install -m 0644 /root/mamori-keys/root.pub /var/lib/mamori-collector/root.pub.import
  runuser -u mamori-collector -- mamori-collector init --data /var/lib/mamori-collector --server-name 127.0.0.1 \
    --profile-root /var/lib/mamori-collector/root.pub.import >/root/collector-init.out 2>&1
  rm -f /var/lib/mamori-collector/root.pub.import
  tail -n 1 /root/collector-init.out >/root/admin.token
  chmod 0600 /root/admin.token
  echo 'MAMORI_COLLECTOR_OPTIONS="--listen 127.0.0.1:8443 --reporting-interval 30 --stale-intervals 4"' >/etc/default/mamori-collector
  systemctl enable --now mamori-collector >/dev/null 2>&1
  cp /var/lib/mamori-collector/tls/ca.pem /root/collector-ca.pem
  export MAMORI_SERVER=https://127.0.0.1:8443 MAMORI_CA=/root/collector-ca.pem
  check "collector: active under its shipped unit, /healthz ok" \
    eventually 60 python3 -c 'import ssl, urllib.request; context = ssl.create_default_context(cafile="/root/collector-ca.pem"); assert b"ok" in urllib.request.urlopen("https://127.0.0.1:8443/healthz", context=context, timeout=5).read()'
  cat >/root/profile.yaml <<'PROFILE'
name: terminal-stage
version: 1
expires: 2099-01-01
scope:
  organisation: mayor
  host_groups: [mynumber-terminals]
media:
  mode: enforce
mfa:
  services: [sshd, sudo, login]
reporting:
  interval: 60s
PROFILE
  mamorictl profile sign /root/profile.yaml --key /root/mamori-keys/signing.key --out /root/profile.signed >/dev/null
  check "collector: the signed profile is pushed" mamorictl profile push /root/profile.signed --token-file /root/admin.token
  mamorictl enroll-token create --org mayor --group mynumber-terminals --token-file /root/admin.token >/root/terminal.token
  check "agent: enrolled with the in-guest collector (mamori-agent enroll)" \
    mamori-agent enroll --server https://127.0.0.1:8443 --token-file /root/terminal.token --ca /root/collector-ca.pem \
    --profile-root /root/mamori-keys/root.pub
  systemctl start mamori-agent
  check "agent: active under its shipped unit (Type=notify: active only after READY=1)" \
    eventually 60 sh -c '[ "$(systemctl show -p Type --value mamori-agent)" = notify ] && systemctl is-active --quiet mamori-agent'
  check "agent: applied the pushed profile" eventually 60 journal_has '"kind":"profile.applied"'
}

# --- 1. units for real --------------------------------------------------------------------------
scenario_units() {
  local score
  for unit in mamori-agent mamori-collector; do
    score=$(systemd-analyze security "$unit" 2>/dev/null | awk '/Overall exposure level/ {print $(NF-2), $(NF-1)}')
    echo "$unit ${score:-?}" >>"$SHARE/security-scores"
    if [ -n "$score" ]; then ok "units: systemd-analyze security $unit: exposure $score"; else bad "units: systemd-analyze security $unit" "no score"; fi
  done
  check "units: the PAM socket exists under the hardened unit" test -S /run/mamori/pam.sock
  check "units: posture ran under the hardened unit (posture.report journalled)" eventually 90 journal_has '"kind":"posture.report"'
  check "units: the egress check ran nft under the hardened unit" eventually 90 sh -c \
    "mamori-agent status --format json | grep -q '\"id\":\"network.egress-zone-only\"'"
  check "units: the journal reached the in-guest collector" eventually 90 sh -c \
    "mamorictl fleet host \"\$(hostname)\" --format json --token-file /root/admin.token | grep -q '\"checks\":\[{'"
  # The watchdog: a stopped agent stops pinging; systemd kills and restarts it (test drop-in: 20 s).
  mkdir -p /etc/systemd/system/mamori-agent.service.d
  printf '[Service]\nWatchdogSec=20\n' >/etc/systemd/system/mamori-agent.service.d/watchdog-test.conf
  systemctl daemon-reload
  systemctl restart mamori-agent
  eventually 60 systemctl is-active --quiet mamori-agent
  local before after
  before=$(systemctl show -p MainPID --value mamori-agent)
  kill -STOP "$before"
  if eventually 60 sh -c "p=\$(systemctl show -p MainPID --value mamori-agent); [ \"\$p\" != 0 ] && [ \"\$p\" != $before ] && systemctl is-active --quiet mamori-agent"; then
    after=$(systemctl show -p MainPID --value mamori-agent)
    ok "units: a stopped (SIGSTOP) agent is killed by the watchdog and restarted (pid $before -> $after)"
  else
    bad "units: watchdog" "pid $before still main or not active: $(systemctl status mamori-agent 2>&1 | head -n 5 | tr '\n' ' ')"
    kill -CONT "$before" 2>/dev/null
  fi
  rm -f /etc/systemd/system/mamori-agent.service.d/watchdog-test.conf
  systemctl daemon-reload
  systemctl restart mamori-agent
  eventually 60 systemctl is-active --quiet mamori-agent
}

# --- 2. an unknown stick ------------------------------------------------------------------------
scenario_unknown_stick() {
  ask plug stick1 MAMORI-UNKNOWN-01 >/dev/null || { bad "unknown stick: plugged" "the host could not plug it"; return; }
  local disk
  disk=$(disk_for_serial MAMORI-UNKNOWN-01) || { bad "unknown stick: appears" "no /dev/disk/by-id link"; return; }
  check "unknown stick: $disk and its partitions are read-only after the hot-plug" eventually 10 all_read_only "$disk"
  check "unknown stick: raw writes to the disk fail" raw_write_fails "$disk"
  check "unknown stick: raw writes to a partition fail" raw_write_fails "${disk}1"
  # As a desktop's automounter does: ask udisks2 over D-Bus (once it has seen the device).
  systemctl start udisks2 >/dev/null 2>&1
  local mounted=""
  for _ in $(seq 30); do
    mounted=$(udisksctl mount --no-user-interaction -b "${disk}1" 2>&1) && break
    sleep 1
  done
  local point
  point=$(findmnt -rn -o TARGET "${disk}1" | head -n 1)
  check "unknown stick: udisks2 mounts it read-only ($mounted)" sh -c "[ -n '$point' ] && findmnt -rn -o OPTIONS '${disk}1' | grep -qE '(^|,)ro(,|$)'"
  check "unknown stick: writing a file on the udisks mount fails" sh -c "! touch '$point/written' 2>/dev/null"
  udisksctl unmount --no-user-interaction -b "${disk}1" >/dev/null 2>&1
  check "unknown stick: the decision is journalled (default:usb-storage)" \
    eventually 10 sh -c "mamorictl journal show /var/lib/mamori/journal --format json | grep '\"device\":\"$disk\"' | grep -q 'default:usb-storage'"
  ask unplug stick1 >/dev/null
  # The race: udev's rule runs late (its queue held), the stick is mounted writable first; the
  # helper, when the queue runs, remounts it read-only and raises an alert.
  local before node=""
  before=$(ls /sys/block)
  udevadm control --stop-exec-queue
  ask plug stick2 MAMORI-RACE-02 >/dev/null
  # With udev's queue held there are no by-id links: the kernel's own nodes (devtmpfs) it is.
  for _ in $(seq 150); do
    node=$(comm -13 <(echo "$before" | sort) <(ls /sys/block | sort) | grep '^sd' | head -n 1)
    [ -n "$node" ] && [ -b "/dev/${node}1" ] && break
    sleep 0.2
  done
  local raced="$node"
  mkdir -p /mnt/race
  if [ -n "$node" ] && blockdev --setrw "/dev/$node" "/dev/${node}1" 2>/dev/null && mount -o rw "/dev/${node}1" /mnt/race; then
    udevadm control --start-exec-queue
    udevadm settle --timeout=30
    check "unknown stick: a writable mount made before enforcement is remounted read-only" \
      eventually 15 sh -c "findmnt -rn -o OPTIONS /mnt/race | grep -qE '(^|,)ro(,|$)'"
    check "unknown stick: the remount is journalled as media.mount-alert" eventually 10 journal_has '"kind":"media.mount-alert"'
    umount /mnt/race 2>/dev/null
  else
    udevadm control --start-exec-queue
    bad "unknown stick: race setup" "could not mount /dev/${node:-?}1 writable before the rule ran ($raced)"
  fi
  ask unplug stick2 >/dev/null
}

# --- 4. a keyboard and a stick behind one hub --------------------------------------------------
scenario_hub() {
  ask plug-hub hub1 >/dev/null || { bad "hub: plugged" "the host could not plug the hub"; return; }
  ask plug-keyboard kbd1 hub1 >/dev/null
  ask plug stick3 MAMORI-HUB-03 hub1 >/dev/null
  local disk
  disk=$(disk_for_serial MAMORI-HUB-03) || { bad "hub: the stick behind the hub appears" "no by-id link"; return; }
  check "hub: the stick behind the hub is read-only" eventually 10 all_read_only "$disk"
  udevadm settle --timeout=30
  sleep 2
  local unauthorised
  unauthorised=$(for f in /sys/bus/usb/devices/*/authorized; do [ "$(cat "$f")" = 1 ] || echo "$f"; done)
  check "hub: every USB device stays authorised (root hub, hub, keyboard, stick)" test -z "$unauthorised"
  local event
  event=$(grep -l -i "keyboard" /sys/class/input/input*/name 2>/dev/null | while read -r f; do d=$(dirname "$f"); readlink -f "$d" | grep -q usb && ls "$d" | grep -m1 '^event'; done | head -n 1)
  if [ -z "$event" ]; then bad "hub: the keyboard's input device exists" "no USB keyboard event device"; return; fi
  ok "hub: the keyboard's input device exists (/dev/input/$event)"
  # Read one key event while the host types `a` on the USB keyboard through QMP.
  python3 - "/dev/input/$event" >/tmp/key.out 2>&1 <<'PY' &
import struct, sys, select
with open(sys.argv[1], "rb") as device:
    ready, _, _ = select.select([device], [], [], 20)
    while ready:
        data = device.read(24)
        seconds, micros, kind, code, value = struct.unpack("llHHi", data)
        if kind == 1 and code == 30:
            print("KEY_A", value)
            sys.exit(0)
        ready, _, _ = select.select([device], [], [], 20)
sys.exit(1)
PY
  local reader=$!
  sleep 1
  ask send-key kbd1 a >/dev/null
  if wait "$reader"; then ok "hub: a key sent to the keyboard behind the hub arrives ($(cat /tmp/key.out))"; else bad "hub: the key arrives" "$(cat /tmp/key.out)"; fi
  check "hub: the keyboard is journalled as always allowed (the hub is not media: not governed, not journalled)" \
    sh -c "mamorictl journal show /var/lib/mamori/journal --format json | grep -q 'builtin:hid-always-allowed'"
  ask unplug stick3 >/dev/null; ask unplug kbd1 >/dev/null; ask unplug hub1 >/dev/null
}

# --- 5. fail closed -----------------------------------------------------------------------------
scenario_fail_closed() {
  systemctl stop mamori-agent
  ask plug stick4 MAMORI-STOPPED-04 >/dev/null
  local disk
  disk=$(disk_for_serial MAMORI-STOPPED-04) || { bad "fail closed: stick appears" "no by-id link"; systemctl start mamori-agent; return; }
  check "fail closed: with the agent stopped, a new stick is read-only (the static rule alone)" eventually 10 all_read_only "$disk"
  ask unplug stick4 >/dev/null
  systemctl start mamori-agent
  eventually 60 systemctl is-active --quiet mamori-agent
  local pid
  pid=$(systemctl show -p MainPID --value mamori-agent)
  kill -9 "$pid"
  ask plug stick5 MAMORI-KILLED-05 >/dev/null
  disk=$(disk_for_serial MAMORI-KILLED-05) || { bad "fail closed: stick after kill -9 appears" "no by-id link"; return; }
  check "fail closed: right after kill -9 of the agent, a new stick is read-only" eventually 10 all_read_only "$disk"
  check "fail closed: systemd restarts the killed agent" eventually 60 sh -c \
    "p=\$(systemctl show -p MainPID --value mamori-agent); [ \"\$p\" != 0 ] && [ \"\$p\" != $pid ] && systemctl is-active --quiet mamori-agent"
  ask unplug stick5 >/dev/null
}

mkdir -p "$SHARE/requests" "$SHARE/replies"
# The run's own SSH key (made by the host for this run only): root may log in with it through the
# forwarded port, for debugging a held guest.
if [ -f "$SHARE/ssh.pub" ]; then install -d -m 0700 /root/.ssh; install -m 0600 "$SHARE/ssh.pub" /root/.ssh/authorized_keys; fi
note "kernel $(uname -r), systemd $(systemctl --version | head -n 1 | cut -d" " -f2), state $(systemctl is-system-running 2>/dev/null)"
install_and_enrol
for scenario in $(cat "$SHARE/scenarios"); do
  note "scenario $scenario"
  "scenario_$scenario"
done
if [ -f "$SHARE/hold" ]; then
  note "held for debugging: touch $SHARE/release on the host to power off"
  while [ ! -f "$SHARE/release" ]; do sleep 1; done
fi
systemctl stop mamori-agent mamori-collector
note "done"
