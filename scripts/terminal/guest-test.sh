#!/usr/bin/env bash
# Inside the real-terminal guest (a booted Debian 12 with systemd, run by mamori-guest-run at boot):
# installs the three packages as an administrator would and runs the scenarios named in
# $SHARE/scenarios, each check a named pass/fail line in $SHARE/results. What the guest cannot do
# itself (plug and unplug USB devices, send a key) it asks the host for through $SHARE/requests,
# and waits for $SHARE/replies. Never stops at a failed check: every scenario runs and reports.
set -uo pipefail

SHARE=/mnt/share
RESULTS="$SHARE/results"
# After the reboot scenario's restart the stage goes on where it was: results, requests and the
# scenarios done are kept.
if [ ! -f "$SHARE/reboot-pending" ]; then
  : >"$RESULTS"
  : >"$SHARE/done"
  echo 0 >"$SHARE/request-number"
fi
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
# The request counter lives in the share, not in a variable: ask often runs in a subshell
# ($(ask ...)), and across the reboot.
ask() {
  local request_number id
  request_number=$(( $(cat "$SHARE/request-number") + 1 ))
  echo "$request_number" >"$SHARE/request-number"
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
# Through a file, not a pipe: under pipefail grep -q leaving early would SIGPIPE a long listing.
journal_has() { journal_json >/tmp/journal-has.json; grep -q -- "$1" /tmp/journal-has.json; }

# The profile the collector serves: version N+1 of the stage's profile, with PROFILE_MEDIA_ALLOW
# (YAML list items under media.allow) and PROFILE_POSTURE (a posture block) when set. Prints nothing;
# fails when signing or pushing fails.
profile_version=0
PROFILE_MEDIA_ALLOW=""
PROFILE_POSTURE=""
push_profile() {
  profile_version=$((profile_version + 1))
  {
    printf 'name: terminal-stage\nversion: %s\nexpires: 2099-01-01\n' "$profile_version"
    printf 'scope:\n  organisation: mayor\n  host_groups: [mynumber-terminals]\n'
    printf 'media:\n  mode: enforce\n'
    if [ -n "$PROFILE_MEDIA_ALLOW" ]; then printf '  allow:\n%s\n' "$PROFILE_MEDIA_ALLOW"; fi
    printf 'mfa:\n  services: [sshd, sudo, login]\n'
    printf 'reporting:\n  interval: 60s\n'
    if [ -n "$PROFILE_POSTURE" ]; then printf '%s\n' "$PROFILE_POSTURE"; fi
  } >/root/profile.yaml
  mamorictl profile sign /root/profile.yaml --key /root/mamori-keys/signing.key --out /root/profile.signed >/dev/null \
    && mamorictl profile push /root/profile.signed --token-file /root/admin.token >/dev/null
}
# pushed NAME: push_profile in this shell (check runs its command in a subshell, which would lose
# the version counter), reported as one check.
pushed() {
  if push_profile >/tmp/push.out 2>&1; then ok "$1 (version $profile_version)"
  else bad "$1" "version $profile_version: $(tail -n 3 /tmp/push.out | tr '\n' ' ')"; fi
}
# The agent has applied profile version N (its status).
# (status exits 3 while the terminal is not compliant: its output is read, its exit status is not.)
profile_applied() { mamori-agent status --format json >/tmp/status.json 2>/dev/null; grep -q "\"version\":$1[,}]" /tmp/status.json; }

# --- install, collector, enrolment -------------------------------------------------------------
install_and_enrol() {
  # The PAM stack and units before Mamori: upgrade_purge compares what purge leaves with them.
  cp -a /etc/pam.d /root/pam.d.before
  local debs="$SHARE/debs" which="these packages"
  if grep -qx upgrade_purge "$SHARE/scenarios"; then debs="$SHARE/previous"; which="the previous build (upgrade_purge upgrades it)"; fi
  note "installing the packages: $which"
  check "install: apt-get install ./mamori-agent ./mamori-collector ./mamorictl (offline; $which)" \
    apt-get install -y -o Dpkg::Options::=--force-confnew "$debs"/mamori-agent_*.deb \
    "$debs"/mamori-collector_*.deb "$debs"/mamorictl_*.deb
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
  check "collector: active under its shipped Type=notify unit (READY=1 once listening)" sh -c \
    '[ "$(systemctl show -p Type --value mamori-collector)" = notify ] && systemctl is-active --quiet mamori-collector && systemctl show -p StatusText --value mamori-collector | grep -q "listening on"'
  check "collector: /healthz ok" \
    eventually 60 python3 -c 'import ssl, urllib.request; context = ssl.create_default_context(cafile="/root/collector-ca.pem"); assert b"ok" in urllib.request.urlopen("https://127.0.0.1:8443/healthz", context=context, timeout=5).read()'
  pushed "collector: the signed profile is pushed"
  mamorictl enroll-token create --org mayor --group mynumber-terminals --token-file /root/admin.token >/root/terminal.token
  check "agent: enrolled with the in-guest collector (mamori-agent enroll)" \
    mamori-agent enroll --server https://127.0.0.1:8443 --token-file /root/terminal.token --ca /root/collector-ca.pem \
    --profile-root /root/mamori-keys/root.pub
  # The stage's pace (agent.yaml, as an administrator may set it): a pushed profile is fetched
  # within 5 s, posture runs every 10 s and the journal ships every 5 s.
  printf 'profile_poll: 5s\nship_interval: 5s\nposture_interval: 10s\n' >>/etc/mamori/agent.yaml
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
  # Layer 2 alone, under the hardened unit: with the static udev rule masked only the agent's own
  # monitor enforces, so BLKROSET and authorized=0 below are the hardened agent's writes.
  ln -sf /dev/null /etc/udev/rules.d/72-mamori-media.rules
  udevadm control --reload
  ask plug stick0 MAMORI-LAYER2-00 >/dev/null
  local disk
  if disk=$(disk_for_serial MAMORI-LAYER2-00); then
    check "units: with the udev rule masked, the hardened agent makes a new stick read-only (BLKROSET)" eventually 20 all_read_only "$disk"
  else bad "units: layer 2 stick" "no by-id link"; fi
  ask unplug stick0 >/dev/null
  local before phone=""
  before=$(ls /sys/bus/usb/devices | grep -v :)
  ask plug-mtp phone1 >/dev/null
  for _ in $(seq 100); do
    phone=$(comm -13 <(echo "$before" | sort) <(ls /sys/bus/usb/devices | grep -v : | sort) | head -n 1)
    [ -n "$phone" ] && break
    sleep 0.2
  done
  if [ -n "$phone" ]; then
    check "units: with the udev rule masked, the hardened agent deauthorises a phone (usb-mtp $phone: authorized=0)" \
      eventually 20 grep -qx 0 "/sys/bus/usb/devices/$phone/authorized"
    check "units: the phone's block is journalled (mtp-ptp)" eventually 10 journal_has '"class":"mtp-ptp"'
  else bad "units: layer 2 phone" "no new USB device after plugging usb-mtp"; fi
  ask unplug phone1 >/dev/null
  rm -f /etc/udev/rules.d/72-mamori-media.rules
  udevadm control --reload
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

# --- 3. an allow-listed stick ------------------------------------------------------------------
# QEMU's usb-storage is 46f4:0001 with the serial it is given: the pushed profile allows that serial
# read-write; it stays writable while the entry is in force and loses it when a newer profile
# without the entry arrives (the agent re-reconciles the devices present on every profile change).
scenario_allowed_stick() {
  PROFILE_MEDIA_ALLOW='    - {vendor: "46f4", product: "0001", serial: "MAMORI-ALLOWED-06", mode: read-write, reason: "terminal stage: 持ち出し申請 TS-6"}'
  pushed "allowed stick: a profile allowing serial MAMORI-ALLOWED-06 read-write is pushed"
  local allowing=$profile_version
  check "allowed stick: the agent applies it (version $allowing)" eventually 60 profile_applied "$allowing"
  ask plug stick6 MAMORI-ALLOWED-06 >/dev/null || { bad "allowed stick: plugged" "the host could not plug it"; return; }
  local disk
  disk=$(disk_for_serial MAMORI-ALLOWED-06) || { bad "allowed stick: appears" "no /dev/disk/by-id link"; return; }
  sleep 2
  check "allowed stick: $disk and ${disk}1 stay writable" sh -c "[ \"\$(blockdev --getro $disk)\" = 0 ] && [ \"\$(blockdev --getro ${disk}1)\" = 0 ]"
  systemctl start udisks2 >/dev/null 2>&1
  local point=""
  for _ in $(seq 30); do udisksctl mount --no-user-interaction -b "${disk}1" >/dev/null 2>&1 && break; sleep 1; done
  point=$(findmnt -rn -o TARGET "${disk}1" | head -n 1)
  check "allowed stick: udisks2 mounts it read-write and a file can be written" \
    sh -c "[ -n '$point' ] && findmnt -rn -o OPTIONS '${disk}1' | grep -qE '(^|,)rw(,|$)' && echo taken-out >'$point/allowed.txt' && sync"
  check "allowed stick: the decision names the allow-list entry (media.allow[0])" \
    eventually 10 sh -c "mamorictl journal show /var/lib/mamori/journal --format json | grep '\"device\":\"$disk\"' | grep -q 'media.allow\[0\]'"
  udisksctl unmount --no-user-interaction -b "${disk}1" >/dev/null 2>&1
  PROFILE_MEDIA_ALLOW=""
  pushed "allowed stick: a newer profile without the entry is pushed"
  check "allowed stick: the agent applies it (version $profile_version)" eventually 60 profile_applied "$profile_version"
  check "allowed stick: once the entry is gone the attached stick is read-only (disk and partition)" eventually 30 all_read_only "$disk"
  check "allowed stick: raw writes now fail" raw_write_fails "${disk}1"
  ask unplug stick6 >/dev/null
}

# --- 6. logins with the second factor ---------------------------------------------------------
# A person's account (alice, uid 1000, a password) enrolled with `mamorictl mfa enroll`; the codes
# are computed here from the enrolment's secret (RFC 6238), each from a step not used before.
LOGIN_PASSWORD="Terminal-stage-$RANDOM$RANDOM"
totp() { # SECRET STEP
  python3 - "$1" "$2" <<'PY'
import base64, hashlib, hmac, struct, sys
secret = base64.b32decode(sys.argv[1] + "=" * (-len(sys.argv[1]) % 8))
digest = hmac.new(secret, struct.pack(">Q", int(sys.argv[2])), hashlib.sha1).digest()
offset = digest[-1] & 15
print("%06d" % ((struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7fffffff) % 1000000))
PY
}
last_step=0
# fresh_code: a code for a step the agent has not seen used (now, or the next one, which the
# profile's window of 1 accepts; waits for time to move on when both are used). Sets CODE.
fresh_code() {
  local now step
  while :; do
    now=$(( $(date +%s) / 30 ))
    step=$(( last_step + 1 > now ? last_step + 1 : now ))
    [ "$step" -le $((now + 1)) ] && break
    sleep 2
  done
  last_step=$step
  CODE=$(totp "$ALICE_SECRET" "$step")
}
scenario_logins() {
  useradd -m -u 1000 -s /bin/bash alice 2>/dev/null
  echo "alice:$LOGIN_PASSWORD" | chpasswd
  echo 'alice ALL=(ALL) ALL' >/etc/sudoers.d/alice && chmod 0440 /etc/sudoers.d/alice
  local enrolment
  enrolment=$(mamorictl mfa enroll alice --format json 2>&1) || { bad "logins: alice enrolled" "$enrolment"; return; }
  ALICE_SECRET=$(echo "$enrolment" | python3 -c 'import json, sys; print(json.load(sys.stdin)["secret"])')
  ok "logins: alice enrolled (mamorictl mfa enroll)"
  # sshd asks through PAM (keyboard-interactive), as a terminal set up for password + code would.
  printf 'KbdInteractiveAuthentication yes\nUsePAM yes\n' >/etc/ssh/sshd_config.d/mamori-terminal-stage.conf
  systemctl reload ssh 2>/dev/null || systemctl restart ssh
  local reply
  fresh_code; local used=$CODE
  reply=$(ask ssh-login alice "$LOGIN_PASSWORD" "$CODE")
  if [ "$reply" = accepted ]; then ok "logins: sshd, password and the right code: accepted"; else bad "logins: sshd with the right code" "$reply"; fi
  reply=$(ask ssh-login alice "$LOGIN_PASSWORD" "$used")
  if [[ "$reply" == refused* ]]; then ok "logins: sshd, the same code again: refused"; else bad "logins: sshd replay" "$reply"; fi
  fresh_code; local wrong
  wrong=$(printf '%06d' $(( (10#$CODE + 500000) % 1000000 )))
  reply=$(ask ssh-login alice "$LOGIN_PASSWORD" "$wrong")
  if [[ "$reply" == refused* ]]; then ok "logins: sshd, a wrong code: refused"; else bad "logins: sshd wrong code" "$reply"; fi
  systemctl stop mamori-agent
  reply=$(ask ssh-login alice "$LOGIN_PASSWORD" "$CODE")
  if [[ "$reply" == refused* ]]; then ok "logins: sshd with the agent stopped, the right code: refused (fail closed)"; else bad "logins: sshd with the agent stopped" "$reply"; fi
  systemctl start mamori-agent
  eventually 60 sh -c 'systemctl is-active --quiet mamori-agent && test -S /run/mamori/pam.sock'
  # sudo asks for the password and then the code (read from stdin with -S).
  fresh_code
  local out
  # No -p: sudo shows its own prompt for the password and PAM's for the code.
  out=$(printf '%s\n%s\n' "$LOGIN_PASSWORD" "$CODE" | runuser -u alice -- sudo -S -k true 2>&1)
  if [ $? = 0 ] && [[ "$out" == *"Verification code"* ]]; then ok "logins: sudo asks for the second factor and accepts the right code"; else bad "logins: sudo with the right code" "$(echo "$out" | tr '\n' ' ')"; fi
  out=$(printf '%s\n%s\n' "$LOGIN_PASSWORD" "000000" | runuser -u alice -- sudo -S -k true 2>&1)
  if [ $? != 0 ]; then ok "logins: sudo with a wrong code is refused"; else bad "logins: sudo with a wrong code" "accepted: $out"; fi
  # The serial console: getty and login(1) on ttyS1, driven by the host.
  systemctl start serial-getty@ttyS1.service
  fresh_code
  reply=$(ask console-login alice "$LOGIN_PASSWORD" "$CODE")
  if [ "$reply" = accepted ]; then ok "logins: a console login (getty on ttyS1) asks for the code and accepts it"; else bad "logins: console login" "$reply"; fi
  check "logins: the refusals are journalled (auth.replay, auth.failure, auth.success)" sh -c \
    "mamorictl journal show /var/lib/mamori/journal --format json > /tmp/auth.json; grep -q '\"kind\":\"auth.replay\"' /tmp/auth.json && grep -q '\"kind\":\"auth.failure\"' /tmp/auth.json && grep -q '\"kind\":\"auth.success\"' /tmp/auth.json"
  check "logins: the refusals reach the collector (it holds the records past the last auth.failure)" eventually 60 failures_shipped
  rm -f /etc/ssh/sshd_config.d/mamori-terminal-stage.conf
}

# The collector has stored this terminal's journal past its last auth.failure record: its
# next_seq (GET /v1/admin/hosts) is beyond that record's seq.
failures_shipped() {
  mamorictl journal show /var/lib/mamori/journal --format json >/tmp/shipped.json 2>/dev/null
  python3 - "$(cat /root/admin.token)" <<'PY'
import json, ssl, sys, urllib.request
last = max(json.loads(line)["seq"] for line in open("/tmp/shipped.json") if '"kind":"auth.failure"' in line)
context = ssl.create_default_context(cafile="/root/collector-ca.pem")
request = urllib.request.Request("https://127.0.0.1:8443/v1/admin/hosts", headers={"Authorization": "Bearer " + sys.argv[1]})
hosts = json.load(urllib.request.urlopen(request, context=context, timeout=10))["hosts"]
held = max(host["next_seq"] for host in hosts)
print("last auth.failure seq", last, "collector next_seq", held)
sys.exit(0 if held > last else 1)
PY
}

# --- 7. compliance end to end ------------------------------------------------------------------
# A terminal set up as the zone requires: egress limited by nftables (loopback and replies only).
# The guest has no time source, so its kernel clock is never synchronised: the stage's profile
# leaves system.clock-synced out (it is tested in the unit suites) and runs every other check.
fleet_state() { mamorictl fleet host "$(hostname)" --format json --token-file /root/admin.token 2>/dev/null; }
host_compliant() { [ "$(host_field state)" = compliant ]; }
# fleet_summary_line: the host's state and each check's status, on one line (for a failed check).
fleet_summary_line() {
  fleet_state | python3 -c 'import json, sys; d = json.load(sys.stdin); print(d.get("host", {}).get("state"), "; ".join("%s %s: %s" % (c.get("id"), c.get("status"), c.get("evidence", "")[:120]) for c in d.get("checks", [])))'
}
# host_field NAME: the host's field at the collector (fleet host: state, last_seen_at, ...).
host_field() {
  fleet_state | python3 -c 'import json, sys; print(json.load(sys.stdin).get("host", {}).get(sys.argv[1], "?"))' "$1"
}
# check_status ID: that check's status at the collector (fleet host), or "?".
check_status() {
  fleet_state | python3 -c 'import json, sys; d = json.load(sys.stdin); print(next((c["status"] for c in d.get("checks", []) if c.get("id") == sys.argv[1]), "?"))' "$1"
}
pam_stack_failing() { [ "$(host_field state)" = non-compliant ] && [ "$(check_status auth.pam-stack)" = fail ]; }
scenario_compliance() {
  nft -f - <<'NFT'
table inet mamori_zone {
  chain output {
    type filter hook output priority 0; policy drop;
    oifname "lo" accept
    ct state established,related accept
  }
}
NFT
  PROFILE_POSTURE='posture:
  interval: 1m
  builtin: [media.rules-enforcing, media.no-writable-removable-mounts, auth.pam-stack, auth.users-enrolled, network.no-wireless, network.egress-zone-only, agent.files-unmodified, profile.current, journal.healthy]'
  if push_profile && eventually 60 profile_applied "$profile_version"; then ok "compliance: the zone's profile (version $profile_version) is pushed and applied"
  else bad "compliance: the zone's profile" "version $profile_version not applied"; fi
  if eventually 120 host_compliant; then ok "compliance: mamorictl fleet host shows the terminal compliant"
  else bad "compliance: compliant" "$(fleet_summary_line)"; fi
  cp /etc/pam.d/common-auth /root/common-auth.good
  sed -i -E 's/^auth[[:space:]]+required[[:space:]]+pam_mamori\.so/auth\toptional\tpam_mamori.so/' /etc/pam.d/common-auth
  local broken=$SECONDS
  if eventually 60 pam_stack_failing; then ok "compliance: pam_mamori made optional shows as non-compliant with auth.pam-stack failing ($((SECONDS - broken)) s; reporting interval 60 s)"
  else bad "compliance: the broken stack" "$(fleet_summary_line)"; fi
  cp /root/common-auth.good /etc/pam.d/common-auth
  if eventually 90 host_compliant; then ok "compliance: compliant again after the repair"
  else bad "compliance: repaired" "$(fleet_summary_line)"; fi
  nft delete table inet mamori_zone
}

# --- 2b. attach → BLKROSET latency on this kernel ------------------------------------------------
# At least 30 hot-plugs of one stick: from the kernel's add uevent for the disk (udevadm monitor)
# until /sys/block/sdX/ro reads 1, polled every millisecond. Results in $SHARE/latency.json.
scenario_latency() {
  local trials=${MAMORI_TERMINAL_PLUGS:-30}
  cat >/tmp/latency.py <<'PY'
import json, os, re, subprocess, sys, threading, time
share, trials, first_request = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
request = first_request
def ask(*words):
    global request
    request += 1
    name = "%03d" % request
    open(os.path.join(share, "request-number"), "w").write(str(request))
    with open(os.path.join(share, "requests", "." + name), "w") as f:
        f.write(" ".join(words) + "\n")
    os.rename(os.path.join(share, "requests", "." + name), os.path.join(share, "requests", name))
    reply = os.path.join(share, "replies", name)
    for _ in range(1200):
        if os.path.exists(reply):
            return int(open(reply).read().strip() or 1)
        time.sleep(0.05)
    return 1
latencies, failures = [], []
for trial in range(trials):
    monitor = subprocess.Popen(["udevadm", "monitor", "--kernel", "--subsystem-match=block"], stdout=subprocess.PIPE, text=True)
    watchdog = threading.Timer(60, monitor.kill)
    watchdog.start()
    time.sleep(0.3)
    if ask("plug", "latency", "MAMORI-LATENCY-30") != 0:
        failures.append("plug %d" % trial); monitor.kill(); break
    disk, stamp = None, None
    deadline = time.monotonic() + 60
    for line in monitor.stdout:
        match = re.match(r"KERNEL\[(\d+\.\d+)\] add\s+(\S+/block/(sd[a-z]+)) \(block\)", line)
        if match:
            stamp, disk = float(match.group(1)), match.group(3)
            break
        if time.monotonic() > deadline:
            break
    if disk is None:
        failures.append("no add uevent %d" % trial); monitor.kill(); ask("unplug", "latency"); continue
    ro = "/sys/block/%s/ro" % disk
    end = time.monotonic() + 20
    value = None
    while time.monotonic() < end:
        try:
            value = open(ro).read().strip()
        except OSError:
            value = None
        if value == "1":
            latencies.append((time.monotonic() - stamp) * 1000)
            break
        time.sleep(0.001)
    if value != "1":
        failures.append("%s not read-only %d" % (disk, trial))
    watchdog.cancel()
    monitor.kill()
    monitor.wait()
    ask("unplug", "latency")
    for _ in range(200):
        if not os.path.exists("/sys/block/" + disk):
            break
        time.sleep(0.05)
json.dump({"latencies_ms": latencies, "failures": failures, "kernel": os.uname().release}, open(os.path.join(share, "latency.json"), "w"))
print(len(latencies), len(failures), request)
PY
  local result measured failures
  result=$(python3 /tmp/latency.py "$SHARE" "$trials" "$(cat "$SHARE/request-number")")
  measured=$(echo "$result" | cut -d' ' -f1); failures=$(echo "$result" | cut -d' ' -f2)
  if [ "${measured:-0}" -ge "$trials" ] && [ "${failures:-1}" = 0 ]; then
    ok "latency: $measured hot-plugs, each read-only ($(python3 -c 'import json, statistics, sys; v = json.load(open(sys.argv[1]))["latencies_ms"]; print("p50 %.1f ms, max %.1f ms" % (statistics.median(v), max(v)))' "$SHARE/latency.json"))"
  else
    bad "latency: $trials hot-plugs" "$result: $(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["failures"][:5])' "$SHARE/latency.json" 2>&1)"
  fi
}

# --- 5b. a reboot with a stick plugged in -------------------------------------------------------
# The agent's unit is disabled for the boot: the stick plugged across the reboot must be read-only
# from the static udev rule at coldplug, before (here: without) the agent. Then the agent comes back.
scenario_reboot() {
  ask plug stick7 MAMORI-REBOOT-07 >/dev/null || { bad "reboot: plugged" "the host could not plug it"; return; }
  disk_for_serial MAMORI-REBOOT-07 >/dev/null || { bad "reboot: stick appears" "no by-id link"; return; }
  systemctl disable mamori-agent >/dev/null 2>&1
  echo "$profile_version" >/root/profile-version
  touch "$SHARE/reboot-pending"
  note "rebooting with MAMORI-REBOOT-07 plugged in"
  sync
  systemctl reboot --no-block
  sleep infinity
}
scenario_reboot_after() {
  rm -f "$SHARE/reboot-pending"
  local disk
  disk=$(disk_for_serial MAMORI-REBOOT-07) || { bad "reboot: the stick is there after the reboot" "no by-id link"; return; }
  check "reboot: the agent's unit has not run this boot" sh -c "! systemctl is-active --quiet mamori-agent && [ \"\$(systemctl show -p ExecMainStartTimestampMonotonic --value mamori-agent)\" = 0 ]"
  check "reboot: the stick plugged across the reboot is read-only before the agent starts (static rule at coldplug)" all_read_only "$disk"
  check "reboot: raw writes to it fail" raw_write_fails "${disk}1"
  systemctl enable --now mamori-agent >/dev/null 2>&1
  check "reboot: the agent starts again" eventually 60 systemctl is-active --quiet mamori-agent
  sleep 2
  check "reboot: with the agent running the stick stays read-only" all_read_only "$disk"
  ask unplug stick7 >/dev/null
}

# --- 8. upgrade and purge under systemd ---------------------------------------------------------
# The host is compliant or non-compliant (not tampered, not stale) and was seen after SEEN_BEFORE.
shipping_since_upgrade() {
  local state
  state=$(host_field state)
  [ "$state" = compliant ] || [ "$state" = non-compliant ] || return 1
  [ "$(host_field last_seen_at)" != "$SEEN_BEFORE" ]
}
scenario_upgrade_purge() {
  local before_agent before_collector
  before_agent=$(systemctl show -p MainPID --value mamori-agent)
  before_collector=$(systemctl show -p MainPID --value mamori-collector)
  check "upgrade: the previous build is what is installed" sh -c "dpkg-query -W -f='\${Version}' mamori-agent | grep -q '~previous\$'"
  check "upgrade: apt-get install ./these packages over the previous build" \
    apt-get install -y -o Dpkg::Options::=--force-confold "$SHARE"/debs/mamori-agent_*.deb \
    "$SHARE"/debs/mamori-collector_*.deb "$SHARE"/debs/mamorictl_*.deb
  check "upgrade: the new version is installed" sh -c "! dpkg-query -W -f='\${Version}' mamori-agent mamori-collector mamorictl | grep -q '~previous'"
  check "upgrade: both units active again, restarted by the upgrade" eventually 60 sh -c \
    "systemctl is-active --quiet mamori-agent && systemctl is-active --quiet mamori-collector && [ \"\$(systemctl show -p MainPID --value mamori-agent)\" != $before_agent ] && [ \"\$(systemctl show -p MainPID --value mamori-collector)\" != $before_collector ]"
  SEEN_BEFORE=$(host_field last_seen_at)
  check "upgrade: the upgraded agent still ships to the collector, whose chain check accepts it (not tampered)" \
    eventually 90 shipping_since_upgrade
  check "upgrade: the PAM stack holds pam_mamori once" sh -c "[ \"\$(grep -c pam_mamori.so /etc/pam.d/common-auth)\" = 1 ]"
  check "upgrade: the administrator's agent.yaml is kept" grep -q '^profile_poll: 5s' /etc/mamori/agent.yaml
  check "purge: apt-get purge of the three packages" apt-get purge -y mamori-agent mamori-collector mamorictl
  check "purge: both units stopped and gone" sh -c \
    "! systemctl is-active --quiet mamori-agent && ! systemctl is-active --quiet mamori-collector && [ \"\$(systemctl show -p LoadState --value mamori-agent)\" = not-found ] && [ \"\$(systemctl show -p LoadState --value mamori-collector)\" = not-found ]"
  check "purge: the PAM stack is as before the install" diff -r /root/pam.d.before /etc/pam.d
  check "purge: nothing of Mamori is left (files, state, user, udev rule, PAM module, socket)" sh -c \
    "for p in mamori-agent mamori-collector mamorictl; do case \"\$(dpkg-query -W -f='\${Status}' \$p 2>/dev/null)\" in ''|*not-installed) ;; *) exit 1 ;; esac; done && ! ls -d /etc/mamori /var/lib/mamori /var/lib/mamori-collector /usr/lib/mamori /run/mamori /usr/lib/udev/rules.d/72-mamori-media.rules /usr/lib/x86_64-linux-gnu/security/pam_mamori.so /usr/sbin/mamori-agent /usr/bin/mamorictl 2>/dev/null | grep -q . && ! getent passwd mamori-collector >/dev/null"
}

mkdir -p "$SHARE/requests" "$SHARE/replies"
# The run's own SSH key (made by the host for this run only): root may log in with it through the
# forwarded port, for debugging a held guest.
if [ -f "$SHARE/ssh.pub" ]; then install -d -m 0700 /root/.ssh; install -m 0600 "$SHARE/ssh.pub" /root/.ssh/authorized_keys; fi
note "kernel $(uname -r), systemd $(systemctl --version | head -n 1 | cut -d" " -f2), state $(systemctl is-system-running 2>/dev/null)"
export MAMORI_SERVER=https://127.0.0.1:8443 MAMORI_CA=/root/collector-ca.pem
if [ -f "$SHARE/reboot-pending" ]; then
  note "after the reboot scenario's restart"
  profile_version=$(cat /root/profile-version 2>/dev/null || echo 1)
  scenario_reboot_after
  echo reboot >>"$SHARE/done"
else
  install_and_enrol
fi
for scenario in $(cat "$SHARE/scenarios"); do
  grep -qx "$scenario" "$SHARE/done" && continue
  note "scenario $scenario"
  # Marked done first: the reboot scenario does not come back here.
  echo "$scenario" >>"$SHARE/done"
  "scenario_$scenario"
done
if [ -f "$SHARE/hold" ]; then
  note "held for debugging: touch $SHARE/release on the host to power off"
  while [ ! -f "$SHARE/release" ]; do sleep 1; done
fi
systemctl stop mamori-agent mamori-collector
note "done"
