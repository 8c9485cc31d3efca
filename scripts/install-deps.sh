#!/usr/bin/env bash
# Installs the Debian packages Mamori's build, tests, demo and benchmarks need.
# Idempotent: does nothing when everything is present; otherwise runs apt-get update first.
set -euo pipefail

packages=(
  python3              # the independent journal-vector check
  python3-cryptography # Ed25519 for that check
  coreutils            # sha256sum, the benchmark's reference
  util-linux           # lscpu for the benchmark report
  bc                   # arithmetic in the benchmark script
  git
  make
  pkg-config           # finds libudev for the CUdev module
  libudev-dev          # the media guard's udev enumeration and monitor
  umockdev             # umockdev-run: the media guard's fake-device test stage
  gir1.2-umockdev-1.0  # the umockdev stage's BLKROSET ioctl handler (scripts/umockdev_blkroset.py)
  python3-gi           # GObject bindings for that handler
  udev                 # systemd-udevd and udevadm: the media guard's kernel test stage
  fdisk                # sfdisk: partition tables on the kernel stage's loop devices
  e2fsprogs            # mkfs.ext4 for the kernel stage
  mount                # mount/umount for the kernel stage
  libpam0g-dev         # PAM headers for CPAM (pam_mamori.so)
  libpam-wrapper       # pam_wrapper: the real PAM stack in tests without touching /etc/pam.d
  pamtester            # drives that stack from the integration tests
  libfaketime          # clock skew between token and agent in those tests
  libqrencode-dev      # QR codes for `mamorictl mfa enroll`
  binutils             # nm, for the module's exported-symbol check
  gcc                  # C harnesses: the PAM benchmark and the module's valgrind load/unload cycle
  libc6-dev            # their C headers
  valgrind             # memcheck over the module's load/unload cycle (make test)
  libpam-oath          # pam_oath, compared in the second-factor benchmark (make bench)
  libpam-google-authenticator  # pam_google_authenticator, compared in the same benchmark
  curl                 # the collector CLI test checks /healthz and /metrics over HTTPS
  postgresql           # the collector's second engine: scripts/pg-test-server.sh runs a throwaway cluster
  usbguard             # usbguard-daemon, measured beside the idle agent (scripts/agent-bench.sh, make bench)
  nftables             # nft: the egress posture check reads `nft -j list ruleset`; tests build rulesets in `unshare -n`
  systemd              # systemd-analyze: the units' offline security assessment (PackagingTests)
  dpkg-dev             # dpkg-buildpackage, dpkg-architecture: `make deb`
  debhelper            # dh, compat 13: packaging/debian/rules
  help2man             # the packages' manual pages, from each program's --help
  lintian              # `make deb` fails on any lintian error or warning not overridden with a reason
  debootstrap          # the packages' install test: a fresh Debian 12 root (scripts/deb-install-test.sh)
  qemu-system-x86      # the real-terminal stage boots a Debian 12 guest (scripts/terminal-test.sh)
  qemu-utils           # qemu-img: that stage's throw-away overlay over the cached image
  openssh-client       # ssh-keygen: that stage's per-run key for a guest held up for debugging
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} Debian packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages (${missing[*]}) and not root: install them or run as root" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
