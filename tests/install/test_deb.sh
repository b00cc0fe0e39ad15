#!/usr/bin/env bash
# test_deb.sh — `make deb`: the package's control fields and contents, and,
# as root, dpkg -i: the commands run from /usr/bin, a program builds with
# pkg-config against the installed library and runs without
# LD_LIBRARY_PATH (ldconfig ran), the man pages are found; then dpkg -r
# removes it all.
source "$(dirname "$0")/../lib.sh"
cd "$TMP" || exit 1
VERSION=$("$PC" --version | cut -d' ' -f2)
ARCH=$(dpkg --print-architecture)
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
DEB=$BUILD/patchcast_${VERSION}_$ARCH.deb

rm -f "$DEB"
if make -s -C "$TOP" deb BUILD="$BUILD" >deb.out 2>&1 && [ -f "$DEB" ]; then
    pass make_deb
else
    fail make_deb "$(tail -3 deb.out | tr '\n' ' ')"
    finish
fi

info=$(dpkg-deb -I "$DEB")
field() { echo "$info" | sed -n "s/^ $1: //p"; }
[ "$(field Package)" = patchcast ] && [ "$(field Version)" = "$VERSION" ] &&
    [ "$(field Architecture)" = "$ARCH" ] && pass control_package_version_arch ||
    fail control_package_version_arch "$(field Package) $(field Version) $(field Architecture)"
depends=$(field Depends)
missing=""
for p in libsodium23 libcjson1 libcurl4 libzstd1 liblzma5 libmbedcrypto7 libbz2-1.0 libdivsufsort3 libc6; do
    [[ ", $depends," == *", $p"[\ ,]* ]] || missing="$missing $p"
done
[ -z "$missing" ] && pass depends_on_runtime_libraries || fail depends_on_runtime_libraries "missing$missing in: $depends"
# Each Depends package really owns a library the binaries load.
wrong=""
for p in $(echo "$depends" | tr ',' '\n' | sed 's/(.*//; s/ //g'); do
    dpkg -L "$p" 2>/dev/null | grep -q '\.so' || wrong="$wrong $p"
done
[ -z "$wrong" ] && pass depends_are_library_packages || fail depends_are_library_packages "$wrong"

list=$(dpkg-deb -c "$DEB")
missing=""
for f in ./usr/bin/patchcast ./usr/bin/patchcast-gen ./usr/include/patchcast.h \
    "./usr/lib/$MA/libpatchcast.a" "./usr/lib/$MA/libpatchcast.so.$VERSION" \
    "./usr/lib/$MA/libpatchcast.so.0 -> libpatchcast.so.$VERSION" \
    "./usr/lib/$MA/libpatchcast.so -> libpatchcast.so.0" "./usr/lib/$MA/pkgconfig/patchcast.pc" \
    ./usr/share/man/man1/patchcast.1.gz ./usr/share/man/man1/patchcast-gen.1.gz \
    ./usr/share/patchcast/ci/publish-rsync ./usr/share/patchcast/ci/publish-s3 \
    ./usr/share/doc/patchcast/guide.md ./usr/lib/python3/dist-packages/patchcast/__init__.py \
    ./usr/lib/python3/dist-packages/patchcast/qt/updater.py ./usr/lib/python3/dist-packages/patchcast/reload.py; do
    echo "$list" | grep -qF " $f" || missing="$missing $f"
done
[ -z "$missing" ] && pass package_contents || fail package_contents "missing:$missing"
echo "$list" | awk '{print $2}' | grep -qv '^root/root$' &&
    fail files_owned_by_root "$(echo "$list" | awk '$2 != "root/root"' | head -1)" || pass files_owned_by_root
echo "$list" | grep -q 'usr/local' && fail installs_into_usr "usr/local in the package" || pass installs_into_usr

if [ "$(id -u)" -ne 0 ]; then
    echo "NOTE test_deb: dpkg -i / dpkg -r not run (needs root)"
    finish
fi
if dpkg-query -W -f='${Status}' patchcast 2>/dev/null | grep -q "install ok installed"; then
    fail dpkg_install "a patchcast package is already installed here; not replacing it"
    finish
fi

# dpkg, waiting for the lock if another apt/dpkg runs (shared machine).
dpkg_locked() {
    local i out
    for i in $(seq 1 60); do
        if out=$(dpkg "$@" 2>&1); then return 0; fi
        echo "$out" | grep -q 'lock' || { echo "$out"; return 1; }
        sleep 5
    done
    echo "$out"
    return 1
}
trap 'dpkg_locked -r patchcast >/dev/null 2>&1; rm -rf "$TMP"' EXIT

if out=$(dpkg_locked -i "$DEB"); then
    pass dpkg_install
else
    fail dpkg_install "$(echo "$out" | tail -2 | tr '\n' ' ')"
    finish
fi
[ "$(/usr/bin/patchcast --version)" = "patchcast $VERSION" ] &&
    [ "$(/usr/bin/patchcast-gen --version)" = "patchcast-gen $VERSION" ] &&
    pass installed_commands_run || fail installed_commands_run "$(/usr/bin/patchcast --version 2>&1)"
man -w patchcast 2>/dev/null | grep -q '^/usr/share/man/man1/patchcast.1.gz$' &&
    man -w patchcast-gen 2>/dev/null | grep -q '^/usr/share/man/man1/patchcast-gen.1.gz$' &&
    pass man_pages_found || fail man_pages_found "$(man -w patchcast 2>&1)"

cat >t.c <<'EOF'
#include <patchcast.h>
#include <stdio.h>
int main(void)
{
    uint8_t d[PC_SHA256_LEN];
    char hex[PC_SHA256_HEX_LEN + 1];
    pc_sha256("abc", 3, d);
    pc_sha256_to_hex(d, hex);
    printf("%s %s\n", pc_version(), hex);
    return 0;
}
EOF
# A sanitizer build's library needs the sanitizer runtime in the program too.
SAN=""
nm "$BUILD/libpatchcast.a" 2>/dev/null | grep -q __asan_ && SAN="-fsanitize=address,undefined"
# shellcheck disable=SC2046
cc -std=c11 $SAN t.c -o t $(pkg-config --cflags --libs patchcast) >cc.out 2>&1 &&
    out=$(env -u LD_LIBRARY_PATH ./t) &&
    [ "$out" = "$VERSION ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" ] &&
    ldd t | grep -qE "libpatchcast.so.0 => (/usr)?/lib/$MA/libpatchcast.so.0" &&
    pass program_links_installed_library || fail program_links_installed_library "$(cat cc.out) $out"

# The Python package from Debian's python3, with the library ldconfig knows.
out=$(cd / && env -u PATCHCAST_LIBRARY -u PYTHONPATH -u LD_LIBRARY_PATH /usr/bin/python3 -c \
    'import patchcast; print(patchcast.__file__, patchcast.version())' 2>&1)
[ "$out" = "/usr/lib/python3/dist-packages/patchcast/__init__.py $VERSION" ] &&
    pass python_package_installed || fail python_package_installed "$out"

if out=$(dpkg_locked -r patchcast); then
    pass dpkg_remove
else
    fail dpkg_remove "$(echo "$out" | tail -2 | tr '\n' ' ')"
fi
left=""
for f in /usr/bin/patchcast /usr/bin/patchcast-gen "/usr/lib/$MA/libpatchcast.so.0" /usr/include/patchcast.h \
    "/usr/lib/$MA/pkgconfig/patchcast.pc" /usr/share/man/man1/patchcast.1.gz /usr/share/patchcast \
    /usr/lib/python3/dist-packages/patchcast; do
    [ -e "$f" ] && left="$left $f"
done
[ -z "$left" ] && pass dpkg_remove_removes_files || fail dpkg_remove_removes_files "left:$left"
ldconfig -p | grep -q libpatchcast && fail ldconfig_cache_cleared "libpatchcast still in ld.so.cache" ||
    pass ldconfig_cache_cleared

finish
