#!/usr/bin/env bash
# `make deb`: the three Debian packages (mamori-agent, mamori-collector, mamorictl) into dist/,
# built by dpkg-buildpackage from packaging/debian (debhelper compat 13), then checked by lintian:
# no errors and no warnings (each tag kept is overridden in packaging/debian/*.lintian-overrides
# with its reason). dpkg-buildpackage runs in a staging copy of packaging/debian under build/deb,
# so its by-products (.changes, .buildinfo, debian/tmp) stay out of the source tree; debian/rules
# calls `make release pam` here, which builds the binaries (a no-op when they are up to date).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
STAGE_PARENT="$ROOT/build/deb"
STAGE="$STAGE_PARENT/mamori"
DIST="$ROOT/dist"

fail() { echo "build-deb: FAIL: $*" >&2; exit 1; }
log() { echo "build-deb: $*" >&2; }

rm -rf "$STAGE_PARENT"
mkdir -p "$STAGE"
# -L: the unit files are symlinks to packaging/systemd, the one copy the tests read.
cp -rL "$ROOT/packaging/debian" "$STAGE/debian"

version=$(dpkg-parsechangelog -l "$STAGE/debian/changelog" -S Version)
source_version=$(sed -n 's/.*static let current = "\(.*\)".*/\1/p' "$ROOT/Sources/MamoriCore/Support/MamoriVersion.swift")
[ "$version" = "$source_version" ] || fail "debian/changelog says $version but MamoriVersion.current is $source_version"

log "dpkg-buildpackage (version $version)"
(cd "$STAGE" && MAMORI_SRC="$ROOT" dpkg-buildpackage -b --no-sign) > "$STAGE_PARENT/dpkg-buildpackage.log" 2>&1 \
  || { tail -n 60 "$STAGE_PARENT/dpkg-buildpackage.log" >&2; fail "dpkg-buildpackage (log: $STAGE_PARENT/dpkg-buildpackage.log)"; }

mkdir -p "$DIST"
rm -f "$DIST"/*.deb
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
for package in mamori-agent mamori-collector mamorictl; do
  deb="$STAGE_PARENT/${package}_${version}_${arch}.deb"
  [ -f "$deb" ] || fail "$deb was not built"
  mv "$deb" "$DIST/"
done
ls "$STAGE_PARENT"/*.deb >/dev/null 2>&1 && fail "unexpected packages: $(ls "$STAGE_PARENT"/*.deb)"

log "lintian"
# (--show-overrides would make overridden tags count towards --fail-on: they are listed afterwards.)
lintian --fail-on error,warning --info "$DIST"/*.deb > "$STAGE_PARENT/lintian.log" 2>&1 \
  || { cat "$STAGE_PARENT/lintian.log" >&2; fail "lintian reported errors or warnings"; }
grep -E '^[EWIP]: ' "$STAGE_PARENT/lintian.log" >&2 || true
lintian --show-overrides --no-tag-display-limit "$DIST"/*.deb 2>/dev/null | grep '^O: ' > "$STAGE_PARENT/lintian-overrides.log" || true
log "lintian: no errors, no warnings; $(wc -l < "$STAGE_PARENT/lintian-overrides.log") tags overridden with reasons (packaging/debian/*.lintian-overrides)"
for deb in "$DIST"/*.deb; do
  printf 'build-deb: %s  %s\n' "$(du -h "$deb" | cut -f1)" "$(basename "$deb")" >&2
done
