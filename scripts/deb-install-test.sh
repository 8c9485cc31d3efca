#!/usr/bin/env bash
# The packages' install test (run by `make test` after `make deb`; root): in a fresh Debian 12 root
# made by debootstrap, install dist/*.deb with apt-get as an administrator would, check what they
# put in place, upgrade, remove, purge, and check that the PAM stack is back to what it was and
# nothing of Mamori is left. Fails (never skips) when it cannot run: no root, no mirror, no debs.
#
#   MAMORI_DEBIAN_MIRROR  the Debian mirror for debootstrap and apt (default http://deb.debian.org/debian)
#
# The minbase root is made once per build folder (build/debootstrap-bookworm) and copied for each run.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIST="$ROOT/dist"
PRISTINE="$ROOT/build/debootstrap-bookworm"
WORK="$ROOT/build/deb-install-root"
STATE="$ROOT/build/deb-install-state"
MIRROR="${MAMORI_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

checks=0
fail() { echo "deb-install-test: FAIL: $*" >&2; exit 1; }
log() { echo "deb-install-test: $*" >&2; }
ok() { checks=$((checks + 1)); echo "deb-install-test: ok $checks - $*" >&2; }
# inroot CMD...: run inside the test root with a clean environment.
inroot() { chroot "$WORK" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }

[ "$(id -u)" -eq 0 ] || fail "needs root (debootstrap, chroot)"
for tool in debootstrap dpkg-deb dpkg-parsechangelog gcc readelf; do command -v "$tool" >/dev/null || fail "$tool missing (make deps)"; done
version=$(dpkg-parsechangelog -l "$ROOT/packaging/debian/changelog" -S Version)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
for package in mamori-agent mamori-collector mamorictl; do
  [ -f "$DIST/${package}_${version}_${arch}.deb" ] || fail "$DIST/${package}_${version}_${arch}.deb missing (make deb)"
done

cleanup() {
  mountpoint -q "$WORK/proc" && umount "$WORK/proc" || true
}
trap cleanup EXIT

if [ ! -f "$PRISTINE/.mamori-complete" ]; then
  log "debootstrap --variant=minbase bookworm ($MIRROR)"
  rm -rf "$PRISTINE"
  mkdir -p "$(dirname "$PRISTINE")"
  debootstrap --variant=minbase bookworm "$PRISTINE" "$MIRROR" > "$ROOT/build/debootstrap.log" 2>&1 \
    || { tail -n 20 "$ROOT/build/debootstrap.log" >&2; fail "debootstrap failed (log: build/debootstrap.log)"; }
  touch "$PRISTINE/.mamori-complete"
fi
rm -rf "$WORK" "$STATE"
mkdir -p "$STATE"
cp -a "$PRISTINE" "$WORK"
rm -f "$WORK/.mamori-complete"
cp /etc/resolv.conf "$WORK/etc/resolv.conf"
mount -t proc proc "$WORK/proc"

# What the administrator's system looked like before Mamori.
cp -a "$WORK/etc/pam.d" "$STATE/pam.d.before"
cp -a "$WORK/var/lib/pam" "$STATE/pam-state.before"
grep -q pam_unix "$WORK/etc/pam.d/common-auth" || fail "the fresh root has no pam_unix in common-auth"

log "apt-get update"
inroot apt-get update -q > "$STATE/apt-update.log" 2>&1 || { tail "$STATE/apt-update.log" >&2; fail "apt-get update in the test root"; }
mkdir -p "$WORK/tmp/debs"
cp "$DIST"/*_"${version}"_"${arch}".deb "$WORK/tmp/debs/"
gcc -O2 -Wall -o "$WORK/tmp/dlopen-check" "$ROOT/scripts/deb/dlopen_check.c" -ldl

log "apt-get install ./mamori-agent ./mamori-collector ./mamorictl"
inroot sh -c "cd /tmp/debs && apt-get install -y -q ./mamori-agent_${version}_${arch}.deb ./mamori-collector_${version}_${arch}.deb ./mamorictl_${version}_${arch}.deb" \
  > "$STATE/install.log" 2>&1 || { tail -n 40 "$STATE/install.log" >&2; fail "apt-get install of the three packages"; }
for package in mamori-agent mamori-collector mamorictl; do
  [ "$(inroot dpkg-query -W -f='${Status} ${Version}' "$package")" = "install ok installed $version" ] || fail "$package is not installed at $version"
done
ok "apt-get install ./dist/*.deb installed the three packages at $version"
grep -q "pam_mamori is now in common-auth and fails closed" "$STATE/install.log" || fail "the agent's first install did not print its lockout notice"
ok "the first install tells the administrator that logins now need the agent (lockout notice)"

# The PAM stack: pam_mamori required in common-auth after the primary module, nowhere else.
auth="$WORK/etc/pam.d/common-auth"
mamori_line=$(grep -n 'pam_mamori\.so' "$auth" | cut -d: -f1)
unix_line=$(grep -n 'pam_unix\.so' "$auth" | head -n 1 | cut -d: -f1)
[ "$(grep -c 'pam_mamori\.so' "$auth")" -eq 1 ] || { cat "$auth" >&2; fail "common-auth must hold pam_mamori exactly once"; }
grep -Eq '^auth[[:space:]]+required[[:space:]]+pam_mamori\.so' "$auth" || { cat "$auth" >&2; fail "pam_mamori is not 'auth required' in common-auth"; }
[ "$mamori_line" -gt "$unix_line" ] || { cat "$auth" >&2; fail "pam_mamori comes before pam_unix in common-auth"; }
others=$(grep -l 'pam_mamori' "$WORK"/etc/pam.d/* | grep -v '/common-auth$' || true)
[ -z "$others" ] || fail "pam_mamori also appears in $others"
ok "common-auth: 'auth required pam_mamori.so' after pam_unix (line $mamori_line > $unix_line), in no other PAM file"

cmp -s "$WORK/usr/lib/udev/rules.d/72-mamori-media.rules" "$ROOT/packaging/udev/72-mamori-media.rules" || fail "the udev rule is missing or differs"
ok "udev rule /usr/lib/udev/rules.d/72-mamori-media.rules in place"

for unit in mamori-agent mamori-collector; do
  installed=""
  for dir in lib/systemd/system usr/lib/systemd/system; do [ -f "$WORK/$dir/$unit.service" ] && installed="$WORK/$dir/$unit.service"; done
  [ -n "$installed" ] || fail "$unit.service is not installed"
  cmp -s "$installed" "$ROOT/packaging/systemd/$unit.service" || fail "$unit.service differs from packaging/systemd"
  [ -L "$WORK/etc/systemd/system/multi-user.target.wants/$unit.service" ] || fail "$unit.service is not enabled"
done
ok "units mamori-agent.service and mamori-collector.service installed and enabled"

for tool in /usr/sbin/mamori-agent /usr/sbin/mamori-collector /usr/bin/mamorictl; do
  got=$(inroot "$tool" --version) || fail "$tool --version failed in the test root"
  [ "$got" = "$version" ] || fail "$tool --version says '$got', the package $version"
  libs=$(inroot ldd "$tool") || fail "ldd $tool"
  if echo "$libs" | grep -Eq 'not found|swift|/opt/'; then echo "$libs" >&2; fail "$tool needs libraries the packages do not bring"; fi
  ! readelf -d "$WORK$tool" | grep -Eq 'RPATH|RUNPATH' || fail "$tool carries a run path"
done
ok "mamori-agent, mamori-collector, mamorictl --version print $version; no Swift runtime, no run path"

module="/usr/lib/$multiarch/security/pam_mamori.so"
inroot /tmp/dlopen-check "$module" >&2 || fail "$module does not load"
! readelf -d "$WORK$module" | grep -Eq 'RPATH|RUNPATH' || fail "$module carries a run path"
ok "pam_mamori.so loads with dlopen(RTLD_NOW) in the test root and exports its entry points"

inroot sha256sum --check --quiet /usr/lib/mamori/files.sha256 || fail "the agent's file manifest does not match the installed files"
for listed in /usr/sbin/mamori-agent "$module" /usr/lib/udev/rules.d/72-mamori-media.rules /usr/share/pam-configs/mamori; do
  grep -q "  $listed\$" "$WORK/usr/lib/mamori/files.sha256" || fail "files.sha256 does not list $listed"
done
ok "/usr/lib/mamori/files.sha256 lists the agent's files and matches them ($(wc -l < "$WORK/usr/lib/mamori/files.sha256") files)"

inroot getent passwd mamori-collector >/dev/null || fail "no mamori-collector user"
[ "$(inroot stat -c '%U:%G %a' /var/lib/mamori-collector)" = "mamori-collector:mamori-collector 700" ] || fail "/var/lib/mamori-collector: $(inroot stat -c '%U:%G %a' /var/lib/mamori-collector)"
[ "$(inroot stat -c '%U %a' /etc/default/mamori-collector)" = "root 600" ] || fail "/etc/default/mamori-collector must be root 0600"
[ "$(inroot stat -c '%U %a' /var/lib/mamori)" = "root 700" ] || fail "/var/lib/mamori must be root 0700"
ok "service user mamori-collector, its data directory 0700, /etc/default/mamori-collector 0600, /var/lib/mamori 0700"

# The static executables do real work here: the collector's CA, keys and SQLite database.
inroot runuser -u mamori-collector -- /usr/sbin/mamori-collector init --data /var/lib/mamori-collector --server-name collector.test \
  > "$STATE/collector-init.log" 2>&1 || { cat "$STATE/collector-init.log" >&2; fail "mamori-collector init as the service user"; }
[ -f "$WORK/var/lib/mamori-collector/tls/server.pem" ] || fail "init made no tls/server.pem (the unit's start condition)"
inroot mamorictl keys init --dir /root/mamori-keys > "$STATE/keys-init.log" 2>&1 || { cat "$STATE/keys-init.log" >&2; fail "mamorictl keys init"; }
ok "mamori-collector init (as mamori-collector) and mamorictl keys init work in the test root"

# Upgrade: a newer version of each package keeps enrolment, journal, spool and second factors.
log "upgrade to $version+upgradetest"
mkdir -p "$WORK/var/lib/mamori/journal" "$WORK/var/lib/mamori/mfa" "$WORK/var/lib/mamori/shipper"
echo '{"test":"enrolment"}' > "$WORK/var/lib/mamori/enrolment.json"
head -c 4096 /dev/urandom > "$WORK/var/lib/mamori/journal/00000000.seg"
echo '{"test":"receipt"}' > "$WORK/var/lib/mamori/shipper/receipt.json"
echo 'secret' > "$WORK/var/lib/mamori/mfa/alice"
echo 'collector_url: https://collector.test:8443' >> "$WORK/etc/mamori/agent.yaml"
state_before=$(cd "$WORK/var/lib" && find mamori mamori-collector -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
for package in mamori-agent mamori-collector mamorictl; do
  rm -rf "$STATE/repack"
  dpkg-deb -R "$DIST/${package}_${version}_${arch}.deb" "$STATE/repack"
  sed -i "s/^Version: .*/Version: ${version}+upgradetest/" "$STATE/repack/DEBIAN/control"
  dpkg-deb -b "$STATE/repack" "$WORK/tmp/debs/${package}_${version}+upgradetest_${arch}.deb" >/dev/null
done
inroot sh -c "cd /tmp/debs && apt-get install -y -q -o Dpkg::Options::=--force-confold ./mamori-agent_${version}+upgradetest_${arch}.deb ./mamori-collector_${version}+upgradetest_${arch}.deb ./mamorictl_${version}+upgradetest_${arch}.deb" \
  > "$STATE/upgrade.log" 2>&1 || { tail -n 40 "$STATE/upgrade.log" >&2; fail "the upgrade"; }
[ "$(inroot dpkg-query -W -f='${Version}' mamori-agent)" = "${version}+upgradetest" ] || fail "mamori-agent was not upgraded"
state_after=$(cd "$WORK/var/lib" && find mamori mamori-collector -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
[ "$state_before" = "$state_after" ] || { diff <(echo "$state_before") <(echo "$state_after") >&2; fail "the upgrade changed the agent's or the collector's state"; }
grep -q 'collector_url: https://collector.test:8443' "$WORK/etc/mamori/agent.yaml" || fail "the upgrade lost the administrator's agent.yaml change"
[ "$(grep -c 'pam_mamori\.so' "$auth")" -eq 1 ] || fail "after the upgrade common-auth holds pam_mamori $(grep -c 'pam_mamori\.so' "$auth") times"
! grep -q "fails closed" "$STATE/upgrade.log" || fail "the upgrade repeated the first-install notice"
ok "upgrade: enrolment, journal, receipt, second factors, collector data and the edited agent.yaml kept; pam_mamori still once"

# Remove (not purge): pam_mamori leaves the stack, the state stays.
inroot apt-get remove -y -q mamori-agent > "$STATE/remove.log" 2>&1 || { tail -n 40 "$STATE/remove.log" >&2; fail "apt-get remove mamori-agent"; }
! grep -rq 'pam_mamori' "$WORK/etc/pam.d" || fail "pam_mamori is still in the PAM stack after remove"
[ ! -e "$WORK$module" ] || fail "$module still present after remove"
[ -f "$WORK/var/lib/mamori/enrolment.json" ] || fail "remove deleted the agent's state (only purge may)"
ok "remove: pam_mamori out of the PAM stack, the module gone, the agent's state kept"

# Purge: the system is back to what it was.
inroot apt-get purge -y -q mamori-agent mamori-collector mamorictl > "$STATE/purge.log" 2>&1 || { tail -n 40 "$STATE/purge.log" >&2; fail "apt-get purge"; }
diff -r "$STATE/pam.d.before" "$WORK/etc/pam.d" >&2 || fail "the PAM stack differs from before the install"
diff -r "$STATE/pam-state.before" "$WORK/var/lib/pam" >&2 || fail "pam-auth-update's state differs from before the install"
ok "purge: /etc/pam.d and /var/lib/pam identical to before the install"
# (Dependencies such as udev add their own groups, so the files are searched rather than compared.)
for file in passwd group shadow gshadow; do
  ! grep -q '^mamori' "$WORK/etc/$file" || fail "/etc/$file still holds $(grep '^mamori' "$WORK/etc/$file")"
done
left=$(find "$WORK" -xdev \( -path "$WORK/tmp" -o -path "$WORK/proc" -o -path "$WORK/root/mamori-keys" \) -prune -o -iname '*mamori*' -print)
[ -z "$left" ] || fail "left after purge: $left"
# Left out: dpkg's and apt's own records, and /etc/passwd- and friends, the shadow tools' copies of
# the files as they were before the last change (deluser's), which the next change rewrites.
left=$(grep -rIl 'mamori' "$WORK/etc" "$WORK/usr" "$WORK/lib" "$WORK/var/lib" 2>/dev/null \
  | grep -Ev "^$WORK/var/lib/(dpkg|apt)/|^$WORK/etc/(passwd|group|shadow|gshadow)-\$" || true)
[ -z "$left" ] || fail "files still naming mamori after purge: $left"
for package in mamori-agent mamori-collector mamorictl; do
  status=$(inroot dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [ -z "$status" ] || [ "$status" = "unknown ok not-installed" ] || fail "$package: dpkg still records '$status'"
done
ok "purge: no file, user, group, unit, rule or configuration of Mamori left"

cleanup
rm -rf "$WORK"
echo "deb-install-test: $checks/$checks checks passed (Debian 12 minbase, apt-get install ./dist/*.deb, upgrade, remove, purge)"
