#!/usr/bin/env bash
# The fleet part of `make demo`: a collector on the embedded SQLite default; three simulated
# terminals from two organisations (two of 区長部局, one of 区議会), each a real mamori-agent in its
# own root directory, enrolled with one-time tokens; on terminal 1 two USB sticks plugged in (one
# blocked for writing, one allow-listed), and a real login through libpam with pam_mamori asking
# for the second factor; terminal 2's compliance broken (a wireless interface comes up); then
# `mamorictl fleet summary` and `fleet hosts`. Leaves nothing running; says where its data is.
#
# The terminals are simulated on this machine: their devices come from umockdev, their /etc and
# /sys/class/net live in their root directories. Checks that can only read this machine itself
# (egress firewall, clock) are left out of the demo profiles, which say so.
set -euo pipefail
cd "$(dirname "$0")/.."
demo=${1:-build/demo}/fleet
bin=.build/debug
ctl=$bin/mamorictl
agent=$bin/mamori-agent
module=$PWD/build/pam_mamori.so
fixtures=Tests/Fixtures/umockdev
rm -rf "$demo"
mkdir -p "$demo"
demo=$(cd "$demo" && pwd)

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
step() { printf '\n== %s\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }
wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...: poll until COMMAND succeeds
  local seconds=$1 what=$2; shift 2
  for _ in $(seq $((seconds * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  die "timed out waiting for $what"
}
for tool in "$ctl" "$agent" "$bin/mamori-collector"; do [ -x "$tool" ] || die "$tool missing: run make build"; done
[ -f "$module" ] || die "$module missing: run make pam"

step "F1. The ward's collector starts on the embedded SQLite default, with its own CA"
$ctl keys init --dir "$demo/keys" >/dev/null
$bin/mamori-collector init --data "$demo/collector" --profile-root "$demo/keys/root.pub" 2>/dev/null | tail -n 1 > "$demo/admin.token"
$bin/mamori-collector serve --data "$demo/collector" --listen 127.0.0.1:0 > "$demo/collector.log" 2>&1 &
pids+=($!)
port=""
for _ in $(seq 200); do
  port=$(grep -o 'address=127.0.0.1:[0-9]*' "$demo/collector.log" | head -n 1 | cut -d: -f2 || true)
  [ -n "$port" ] && break
  sleep 0.05
done
[ -n "$port" ] || { cat "$demo/collector.log" >&2; die "the collector did not start"; }
export MAMORI_SERVER="https://127.0.0.1:$port" MAMORI_CA="$demo/collector/tls/ca.pem" MAMORI_TOKEN
MAMORI_TOKEN=$(cat "$demo/admin.token")
echo "collector at $MAMORI_SERVER (data in $demo/collector)"

step "F2. Profiles for 区長部局 and 区議会 are signed and pushed (the stick 0781:5583 serial 4C530001 is registered)"
demo_profile() {  # demo_profile ORG GROUP
  cat <<YAML
# Demo profile for simulated terminals. The egress and clock checks read this machine itself,
# not the simulated terminal, so the demo leaves them out; a real terminal's profile lists them.
schema: 1
name: demo-$1
version: 1
expires: 2099-03-31
scope:
  organisation: $1
  host_groups: [$2]
media:
  mode: enforce
  allow:
    - vendor: "0781"
      product: "5583"
      serial: "4C530001"
      mode: read-write
      reason: registered transfer stick (demo)
mfa:
  services: [login, sshd]
posture:
  interval: 60s
  builtin: [media.rules-enforcing, media.no-writable-removable-mounts, auth.pam-stack, auth.users-enrolled,
            network.no-wireless, agent.files-unmodified, profile.current, journal.healthy]
reporting:
  interval: 60s
YAML
}
demo_profile mayor terminals > "$demo/mayor.yaml"
demo_profile assembly members > "$demo/assembly.yaml"
for org in mayor assembly; do
  $ctl profile sign "$demo/$org.yaml" --key "$demo/keys/signing.key" --out "$demo/$org.signed" >/dev/null
  $ctl profile push "$demo/$org.signed"
done

# A simulated terminal's root: its PAM stack requiring pam_mamori, one user, the media rule, a
# manifest of the agent's files, its network interfaces and its system disk.
make_terminal() {  # make_terminal NAME
  local root=$demo/terminals/$1
  mkdir -p "$root/etc/pam.d" "$root/etc/mamori" "$root/usr/lib/udev/rules.d" "$root/usr/lib/mamori" "$root/usr/sbin" \
    "$root/sys/class/net/lo" "$root/sys/class/net/eth0"
  printf 'auth required pam_unix.so\nauth required %s\n' "$module" > "$root/etc/pam.d/login"
  printf 'auth required %s\n' "$module" > "$root/etc/pam.d/sshd"
  printf 'root:x:0:0:root:/root:/bin/bash\ntanaka:x:1001:1001:Tanaka:/home/tanaka:/bin/bash\n' > "$root/etc/passwd"
  cp packaging/udev/72-mamori-media.rules "$root/usr/lib/udev/rules.d/"
  cp "$agent" "$root/usr/sbin/mamori-agent"
  (cd "$root" && sha256sum usr/sbin/mamori-agent usr/lib/udev/rules.d/72-mamori-media.rules | sed 's#  #  /#') > "$root/usr/lib/mamori/files.sha256"
  # Its system disk: one virtio disk mounted at / (what the mount check classifies).
  mkdir -p "$root/proc/self" "$root/sys/devices/pci0000:00/virtio1/block/vda" "$root/sys/dev/block"
  echo '1 0 254:0 / / rw,relatime - ext4 /dev/vda rw' > "$root/proc/self/mountinfo"
  echo 0 > "$root/sys/devices/pci0000:00/virtio1/block/vda/removable"
  echo 'DEVNAME=vda' > "$root/sys/devices/pci0000:00/virtio1/block/vda/uevent"
  ln -s ../../devices/pci0000:00/virtio1/block/vda "$root/sys/dev/block/254:0"
  echo 0x9 > "$root/sys/class/net/lo/flags"; echo unknown > "$root/sys/class/net/lo/operstate"
  echo 0x1003 > "$root/sys/class/net/eth0/flags"; echo up > "$root/sys/class/net/eth0/operstate"
  printf 'ship_interval: 2s\nposture_interval: 2s\nprofile_poll: 2s\nretry_initial: 1s\nretry_max: 5s\n' > "$root/etc/mamori/agent.yaml"
}

step "F3. Three terminals enrol with one-time tokens: two of 区長部局, one of 区議会"
enrol() {  # enrol NAME ORG GROUP
  make_terminal "$1"
  local token
  token=$($ctl enroll-token create --org "$2" --group "$3" --expires 1h)
  $agent enroll --root "$demo/terminals/$1" --server "$MAMORI_SERVER" --token "$token" --ca "$MAMORI_CA" --hostname "$1"
  $ctl mfa enroll tanaka --root "$demo/terminals/$1" --format json > "$demo/terminals/$1/tanaka.enrolment.json"
}
enrol mayor-pc-01 区長部局 terminals
enrol mayor-pc-02 区長部局 terminals
enrol gikai-pc-01 区議会 members

step "F4. The agents start (all services); on mayor-pc-01 two USB sticks are plugged in.
    Until the profile arrives the fail-closed defaults make both read-only; under the fetched
    profile the registered stick is read-write and the other stays read-only (writes blocked)"
start_agent() {  # start_agent NAME FIXTURE...
  local name=$1; shift
  local args=()
  for fixture in "$@"; do args+=(-d "$fixtures/$fixture.umockdev"); done
  umockdev-run "${args[@]}" -- "$agent" run --root "$demo/terminals/$name" --enforce-media-on-host > "$demo/terminals/$name/agent.log" 2>&1 &
  pids+=($!)
}
start_agent mayor-pc-01 usb-stick usb-disk-fixed
start_agent mayor-pc-02 nvme-system
start_agent gikai-pc-01 nvme-system
for name in mayor-pc-01 mayor-pc-02 gikai-pc-01; do
  wait_for 30 "$name's profile" grep -q '"kind":"profile.applied"' "$demo/terminals/$name/var/lib/mamori/journal/"*.log
done
wait_for 30 "the media decisions" grep -q '"decision":"read-write"' "$demo/terminals/mayor-pc-01/var/lib/mamori/journal/"*.log
$ctl journal show "$demo/terminals/mayor-pc-01/var/lib/mamori/journal" --format json \
  | /usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    p = r["payload"]
    if r["kind"] == "media.decision" and p.get("subsystem") == "block" and not p["device"][-1].isdigit():
        print("%s %s:%s serial %s -> %s (%s)" % (p["device"], p.get("usb_vendor"), p.get("usb_product"), p.get("usb_serial"), p["decision"], p["rule"]))'

step "F5. tanaka logs in on mayor-pc-01: password stack, then pam_mamori asks the agent for the one-time code"
secret=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["secret"])' "$demo/terminals/mayor-pc-01/tanaka.enrolment.json")
code=$(/usr/bin/python3 - "$secret" <<'PY'
import base64, hmac, hashlib, struct, sys, time
key = base64.b32decode(sys.argv[1] + "=" * (-len(sys.argv[1]) % 8))
step = int(time.time()) // 30
digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
offset = digest[-1] & 15
print("%06d" % ((struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1000000))
PY
)
mkdir -p "$demo/pam.d"
printf 'auth required %s socket=%s\n' "$module" "$demo/terminals/mayor-pc-01/run/mamori/pam.sock" > "$demo/pam.d/mamori-demo"
echo "$code" | LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libpam_wrapper.so PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$demo/pam.d" \
  pamtester -v mamori-demo tanaka authenticate
echo "(a second try with the same code is a replay:)"
set +e
echo "$code" | LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libpam_wrapper.so PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$demo/pam.d" \
  pamtester mamori-demo tanaka authenticate
[ $? -ne 0 ] || die "a replayed code was accepted"
set -e

step "F6. Someone brings up a wireless interface on mayor-pc-02 (the national guideline forbids wireless LAN here)"
wlan=$demo/terminals/mayor-pc-02/sys/class/net/wlan0
mkdir -p "$wlan/wireless"; echo 0x1003 > "$wlan/flags"; echo up > "$wlan/operstate"
wait_for 30 "the posture change" grep -q '"status":"fail","title":"No wireless interface up"' "$demo/terminals/mayor-pc-02/var/lib/mamori/journal/"*.log
sleep 4   # one more shipment
$agent status --root "$demo/terminals/mayor-pc-02" || true

step "F7. The ward's view: mamorictl fleet summary (区議会's detail stays with 区議会's own tokens)"
set +e
$ctl fleet summary; echo "(exit $?: 3 means something is not compliant)"
step "F8. mamorictl fleet hosts"
$ctl fleet hosts; echo "(exit $?)"
step "F9. mamorictl fleet host mayor-pc-02: the failing check, its evidence and since when"
$ctl fleet host mayor-pc-02 | head -n 16; echo "(exit ${PIPESTATUS[0]})"
set -e

for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
wait 2>/dev/null || true
pids=()
step "Fleet demo complete. Nothing is left running. Data: $demo (collector/, terminals/NAME/var/lib/mamori/, agent logs in terminals/NAME/agent.log)"
