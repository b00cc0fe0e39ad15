#!/usr/bin/env bash
# deb.sh — `make deb`: a Debian package of what `make install` installs,
# into /usr (libraries in Debian's multiarch folder). Depends are computed by
# dpkg-shlibdeps from the binaries' needed libraries.
#   BUILD=build VERSION=0.1.0 scripts/deb.sh OUT.deb
set -euo pipefail
OUT=$1
: "${BUILD:?}" "${VERSION:?}" "${MAKE:=make}"
cd "$(dirname "$0")/.."

ARCH=$(dpkg --print-architecture)
MULTIARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
WORK=$BUILD/deb
ROOT=$WORK/debian/patchcast # dpkg-shlibdeps wants the package's files here
rm -rf "$WORK"
mkdir -p "$ROOT"

$MAKE --no-print-directory -s install BUILD="$BUILD" DESTDIR="$ROOT" PREFIX=/usr \
    LIBDIR="/usr/lib/$MULTIARCH" >/dev/null

# Debian's habits: stripped binaries (debug info stays in the build tree),
# compressed man pages, a doc folder.
strip --strip-unneeded --remove-section=.comment --remove-section=.note \
    "$ROOT/usr/bin/patchcast" "$ROOT/usr/bin/patchcast-gen" "$ROOT/usr/lib/$MULTIARCH/libpatchcast.so.$VERSION"
strip --strip-debug "$ROOT/usr/lib/$MULTIARCH/libpatchcast.a"
gzip -9n "$ROOT"/usr/share/man/man1/*.1
mkdir -p "$ROOT/usr/share/doc/patchcast"
cp README.md docs/guide.md docs/format.md docs/threat-model.md "$ROOT/usr/share/doc/patchcast/"

# Runtime dependencies, from the libraries the binaries need.
mkdir -p "$WORK/debian"
printf 'Source: patchcast\n\nPackage: patchcast\nArchitecture: any\n' >"$WORK/debian/control"
depends=$(cd "$WORK" && dpkg-shlibdeps -O -e "debian/patchcast/usr/bin/patchcast" \
    -e "debian/patchcast/usr/bin/patchcast-gen" \
    -e "debian/patchcast/usr/lib/$MULTIARCH/libpatchcast.so.$VERSION" 2>/dev/null |
    sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "deb.sh: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
# libcurl is loaded at the first download (client/net/curlapi.c), so no binary
# names it: the package depends on it by hand.
depends="$depends, libcurl4 (>= 7.66)"

mkdir -p "$ROOT/DEBIAN"
size=$(du -sk --exclude=DEBIAN "$ROOT" | cut -f1)
cat >"$ROOT/DEBIAN/control" <<EOF
Package: patchcast
Version: $VERSION
Architecture: $ARCH
Maintainer: patchcast developers <patchcast@localhost>
Installed-Size: $size
Depends: $depends
Suggests: libsodium-dev, libcjson-dev, libcurl4-openssl-dev, libzstd-dev, liblzma-dev, libmbedtls-dev, libbz2-dev, rsync, python3, python3-pyqt5
Section: utils
Priority: optional
Description: server-less incremental software updates
 patchcast-gen turns a folder of release trees into a static site (a
 minisign-signed repo.json, content-addressed manifests and compressed
 files, precomputed binary patches) that any CDN, bucket, web server or USB
 stick can host. libpatchcast and the patchcast command verify the
 signature, pick the cheapest patch chain, download, apply, verify every
 SHA-256 and switch versions atomically, with rollback.
 .
 This package holds both commands, the library (shared and static), its
 header and pkg-config file (building against it also needs the -dev
 packages listed in Suggests), man pages, the publishing scripts in
 /usr/share/patchcast/ci, and the Python package patchcast (a ctypes
 binding; patchcast.qt needs python3-pyqt5).
EOF
echo "activate-noawait ldconfig" >"$ROOT/DEBIAN/triggers"
(cd "$ROOT" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z |
    xargs -0 md5sum) >"$ROOT/DEBIAN/md5sums"

dpkg-deb --root-owner-group -Zxz --build "$ROOT" "$OUT" >/dev/null
echo "wrote $OUT"
