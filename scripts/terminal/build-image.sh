#!/usr/bin/env bash
# The real-terminal stage's guest image (scripts/terminal-test.sh): a Debian 12 root made by
# debootstrap with a stock kernel, systemd, udev, udisks2, sshd, sudo and nftables — everything the
# three Mamori packages depend on, because the guest has no network to fetch anything — written
# into an ext4 image without mounting it (mke2fs -d), with the kernel and initrd beside it.
# Cached under build/terminal/, keyed by this script and the guest runner: an unchanged key reuses
# the image. Prints the image directory. Needs root (debootstrap, file ownership in the image).
#
#   MAMORI_DEBIAN_MIRROR  the Debian mirror (default http://deb.debian.org/debian)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
HERE="$ROOT/scripts/terminal"
MIRROR="${MAMORI_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
fail() { echo "terminal-image: FAIL: $*" >&2; exit 1; }
log() { echo "terminal-image: $*" >&2; }

[ "$(id -u)" -eq 0 ] || fail "needs root (debootstrap)"
for tool in debootstrap mke2fs sha256sum; do command -v "$tool" >/dev/null || fail "$tool missing: run scripts/install-deps.sh"; done

# What the guest needs: a bootable system, what the packages depend on (libudev1, libpam,
# libqrencode4, libxml2, adduser), what the scenarios use (udisks2, sshd, sudo, nft, python3 for
# reading input events, evtest-free), and nothing that starts network services of its own.
PACKAGES=linux-image-amd64,systemd-sysv,udev,kmod,initramfs-tools,openssh-server,sudo,udisks2,nftables,iproute2,procps,\
util-linux,e2fsprogs,fdisk,mount,libpam-runtime,libpam-modules,adduser,libqrencode4,libxml2,zlib1g,python3,ca-certificates,\
dbus,less,psmisc

KEY="$(cat "$0" "$HERE/mamori-guest-run" | sha256sum | cut -c1-16)"
# One build at a time: make test starts one in the background early (it needs the network and
# little CPU), and the stage's own call waits for it and then finds the image made.
mkdir -p "$ROOT/build/terminal"
exec 8>"$ROOT/build/terminal/image.lock"
flock -w 1800 8 || fail "another image build has held build/terminal/image.lock for 30 minutes"
OUT="$ROOT/build/terminal/image-$KEY"
if [ -f "$OUT/.complete" ]; then echo "$OUT"; exit 0; fi

rm -rf "$ROOT"/build/terminal/image-* "$ROOT/build/terminal/rootfs"
mkdir -p "$OUT"
TREE="$ROOT/build/terminal/rootfs"
log "debootstrap bookworm with a kernel ($MIRROR); about 3 minutes"
debootstrap --variant=minbase --include="$PACKAGES" bookworm "$TREE" "$MIRROR" >"$OUT/debootstrap.log" 2>&1 \
  || { tail -n 20 "$OUT/debootstrap.log" >&2; fail "debootstrap failed (log: $OUT/debootstrap.log)"; }

echo mamori-terminal >"$TREE/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 mamori-terminal\n' >"$TREE/etc/hosts"
printf '/dev/vda / ext4 rw,errors=remount-ro 0 1\n' >"$TREE/etc/fstab"
# No network beyond loopback and the user-mode NIC (restricted: it reaches only the host's forward).
mkdir -p "$TREE/etc/systemd/network"
printf '[Match]\nName=en* eth*\n[Network]\nAddress=10.0.2.15/24\n' >"$TREE/etc/systemd/network/10-user.network"
chroot "$TREE" systemctl enable systemd-networkd.service >/dev/null 2>&1 || true
# Nothing in the guest waits on a network that is not there, or runs apt in the background.
chroot "$TREE" systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer \
  systemd-networkd-wait-online.service >/dev/null 2>&1 || true
# The runner: mounts the share, runs the stage's guest script, powers off.
install -m 0755 "$HERE/mamori-guest-run" "$TREE/usr/local/sbin/mamori-guest-run"
cat >"$TREE/etc/systemd/system/mamori-guest-run.service" <<'UNIT'
[Unit]
Description=Mamori real-terminal stage (guest side)
After=multi-user.target
Wants=multi-user.target
ConditionKernelCommandLine=mamori.test=1

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/mamori-guest-run
StandardOutput=journal+console
StandardError=journal+console
TimeoutStartSec=infinity

[Install]
WantedBy=multi-user.target
UNIT
chroot "$TREE" systemctl enable mamori-guest-run.service >/dev/null 2>&1
# The serial console logs in nobody; sshd keys are made at first boot of each run's overlay.
rm -f "$TREE"/etc/ssh/ssh_host_*
chroot "$TREE" passwd -l root >/dev/null
cp "$TREE"/boot/vmlinuz-* "$OUT/vmlinuz"
cp "$TREE"/boot/initrd.img-* "$OUT/initrd.img"
log "writing the ext4 image"
mke2fs -q -t ext4 -L mamori-root -d "$TREE" "$OUT/root.img" 3G >&2 || fail "mke2fs -d failed"
rm -rf "$TREE"
touch "$OUT/.complete"
echo "$OUT"
