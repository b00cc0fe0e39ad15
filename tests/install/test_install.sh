#!/usr/bin/env bash
# test_install.sh — `make install PREFIX=/usr DESTDIR=…` from the existing
# build: every file in place; a C program built with pkg-config against the
# installed header and library (shared, then static with --static) runs and
# hashes correctly; the Python package imports and loads the installed
# library; both man pages render; the installed publish scripts
# work from there; `make uninstall` removes everything.
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/e2e/fixtures.sh"
cd "$TMP" || exit 1
unset PATCHCAST_PASSWORD
R=$TMP/root
VERSION=$("$PC" --version | cut -d' ' -f2)

if make -s -C "$TOP" install BUILD="$BUILD" PREFIX=/usr DESTDIR="$R" >install.out 2>&1; then
    pass make_install
else
    fail make_install "$(tail -3 install.out | tr '\n' ' ')"
    finish
fi

want="usr/bin/patchcast
usr/bin/patchcast-gen
usr/include/patchcast.h
usr/include/patchcast_module.h
usr/lib/libpatchcast.a
usr/lib/libpatchcast.so -> libpatchcast.so.0
usr/lib/libpatchcast.so.0 -> libpatchcast.so.$VERSION
usr/lib/libpatchcast.so.$VERSION
usr/lib/pkgconfig/patchcast.pc
usr/lib/python3/dist-packages/patchcast/__init__.py
usr/lib/python3/dist-packages/patchcast/_lib.py
usr/lib/python3/dist-packages/patchcast/client.py
usr/lib/python3/dist-packages/patchcast/errors.py
usr/lib/python3/dist-packages/patchcast/qt/__init__.py
usr/lib/python3/dist-packages/patchcast/qt/text.py
usr/lib/python3/dist-packages/patchcast/qt/updater.py
usr/lib/python3/dist-packages/patchcast/qt/widgets.py
usr/lib/python3/dist-packages/patchcast/reload.py
usr/share/man/man1/patchcast-gen.1
usr/share/man/man1/patchcast.1
usr/share/patchcast/ci/github-actions.yml
usr/share/patchcast/ci/gitlab-ci.yml
usr/share/patchcast/ci/publish-rsync
usr/share/patchcast/ci/publish-s3
usr/share/patchcast/ci/site-refs.sh"
got=$(cd "$R" && find . \( -type f -o -type l \) -printf '%P%l\n' | sed 's/\(libpatchcast.so[.0]*\)\(libpatchcast\)/\1 -> \2/' | LC_ALL=C sort)
[ "$got" = "$want" ] && pass installed_files ||
    fail installed_files "$(diff <(echo "$want") <(echo "$got") | grep '^[<>]' | head -4 | tr '\n' ' ')"
[ "$(stat -c %a "$R/usr/bin/patchcast")" = 755 ] && [ "$(stat -c %a "$R/usr/include/patchcast.h")" = 644 ] &&
    [ "$(stat -c %a "$R/usr/lib/pkgconfig/patchcast.pc")" = 644 ] && pass installed_modes ||
    fail installed_modes "unexpected file modes"
soname=$(readelf -d "$R/usr/lib/libpatchcast.so.$VERSION" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libpatchcast.so.0 ] && pass shared_library_soname || fail shared_library_soname "$soname"
[ "$("$R/usr/bin/patchcast" --version)" = "patchcast $VERSION" ] &&
    [ "$("$R/usr/bin/patchcast-gen" --version)" = "patchcast-gen $VERSION" ] &&
    pass installed_commands_run || fail installed_commands_run "--version"

# A program against the installed library, through pkg-config only.
cat >t.c <<'EOF'
#include <patchcast.h>
#include <patchcast_module.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    uint8_t d[PC_SHA256_LEN];
    char hex[PC_SHA256_HEX_LEN + 1];
    pc_sha256("abc", 3, d);
    pc_sha256_to_hex(d, hex);
    pc_client *c = NULL;
    if (pc_client_new(&c) != PC_OK)
        return 2;
    pc_client_free(c);
    pc_host *h = NULL;
    if (pc_host_new(&h) != PC_OK)
        return 3;
    pc_host_free(h);
    printf("%s %s\n", pc_version(), hex);
    return strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") != 0;
}
EOF
export PKG_CONFIG_SYSROOT_DIR=$R PKG_CONFIG_PATH=$R/usr/lib/pkgconfig
# A sanitizer build's library needs the sanitizer runtime in the program too.
SAN=""
nm "$R/usr/lib/libpatchcast.a" 2>/dev/null | grep -q __asan_ && SAN="-fsanitize=address,undefined"
[ "$(pkg-config --modversion patchcast)" = "$VERSION" ] && pass pkg_config_finds_patchcast ||
    fail pkg_config_finds_patchcast "$(pkg-config --modversion patchcast 2>&1)"
cflags=$(pkg-config --cflags patchcast)
[[ " $cflags " == *" -I$R/usr/include "* ]] && pass pkg_config_cflags_point_into_destdir ||
    fail pkg_config_cflags_point_into_destdir "$cflags"

# shellcheck disable=SC2046
if cc -std=c11 $SAN t.c -o t_shared $(pkg-config --cflags --libs patchcast) >cc1.out 2>&1; then
    pass compile_against_shared_library
else
    fail compile_against_shared_library "$(head -3 cc1.out | tr '\n' ' ')"
fi
out=$(LD_LIBRARY_PATH=$R/usr/lib ./t_shared 2>&1)
[ "$out" = "$VERSION ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" ] &&
    pass shared_program_hashes_abc || fail shared_program_hashes_abc "$out"
LD_LIBRARY_PATH=$R/usr/lib ldd t_shared | grep -q "libpatchcast.so.0 => $R/usr/lib/libpatchcast.so.0" &&
    pass shared_program_uses_installed_library ||
    fail shared_program_uses_installed_library "$(LD_LIBRARY_PATH=$R/usr/lib ldd t_shared | grep patchcast)"

# Static: libpatchcast.a plus what --static lists for its dependencies (an
# incomplete Requires.private/Libs.private fails here with undefined symbols).
# shellcheck disable=SC2046
if cc -std=c11 $SAN t.c -o t_static $(pkg-config --static --cflags patchcast) \
    $(pkg-config --static --libs patchcast | sed 's/-lpatchcast\b/-l:libpatchcast.a/') >cc2.out 2>&1; then
    pass compile_static_with_pkg_config_static
else
    fail compile_static_with_pkg_config_static "$(grep -m2 -E 'undefined|error' cc2.out | tr '\n' ' ')"
fi
readelf -d t_static 2>/dev/null | grep -q 'NEEDED.*libpatchcast' &&
    fail static_program_needs_no_libpatchcast "it needs libpatchcast.so" ||
    pass static_program_needs_no_libpatchcast
out=$(./t_static 2>&1)
[ "$out" = "$VERSION ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" ] &&
    pass static_program_hashes_abc || fail static_program_hashes_abc "$out"
unset PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_PATH

# The Python package: Debian's python3 imports it from the installed
# dist-packages and finds the installed library by its soname, without
# PATCHCAST_LIBRARY.
out=$(cd / && env -u PATCHCAST_LIBRARY PYTHONPATH=$R/usr/lib/python3/dist-packages LD_LIBRARY_PATH=$R/usr/lib \
    /usr/bin/python3 -c 'import patchcast, patchcast.reload, sys
print(patchcast.__file__, patchcast.version())
try:
    patchcast.Client("/nonexistent/root")
except patchcast.Error as e:
    print(e.status, e.code)' 2>&1)
[ "$out" = "$R/usr/lib/python3/dist-packages/patchcast/__init__.py $VERSION
24 not_initialised" ] && pass python_package_uses_installed_library || fail python_package_uses_installed_library "$out"

# Man pages: the generated ones (docs/*.1.md is the source), rendered by man
# from the file and found by name.
for p in patchcast patchcast-gen; do
    cmp -s "$R/usr/share/man/man1/$p.1" "$BUILD/man/man1/$p.1" && pass "man_is_generated_page_$p" ||
        fail "man_is_generated_page_$p" "usr/share/man/man1/$p.1 is not $BUILD/man/man1/$p.1"
    out=$(MANWIDTH=80 man -l "$R/usr/share/man/man1/$p.1" 2>&1)
    echo "$out" | grep -q "^NAME" && echo "$out" | grep -q "$p - " && echo "$out" | grep -q "EXIT STATUS" &&
        pass "man_renders_$p" || fail "man_renders_$p" "$(echo "$out" | head -2 | tr '\n' ' ')"
    warn=$(groff -man -Tutf8 -ww -z "$R/usr/share/man/man1/$p.1" 2>&1)
    [ -z "$warn" ] && pass "man_no_groff_warnings_$p" || fail "man_no_groff_warnings_$p" "$warn"
    MANPATH=$R/usr/share/man man -w "$p" 2>/dev/null | grep -q "^$R/usr/share/man/man1/$p.1" &&
        pass "man_found_by_name_$p" || fail "man_found_by_name_$p" "$(MANPATH=$R/usr/share/man man -w "$p" 2>&1)"
done

# The installed publish script finds its helper beside it.
mkdir -p rel/1.0.0 && echo one >rel/1.0.0/a.txt
"$PCGEN" keygen -W -p k.pub -s k.key >/dev/null && "$PCGEN" build rel -o site -s k.key -q >/dev/null &&
    "$R/usr/share/patchcast/ci/publish-rsync" site pub >pub.out 2>&1 && diff -r site pub >/dev/null &&
    pass installed_publish_rsync_runs || fail installed_publish_rsync_runs "$(tail -2 pub.out)"

# uninstall removes every file install wrote.
make -s -C "$TOP" uninstall BUILD="$BUILD" PREFIX=/usr DESTDIR="$R" >uninstall.out 2>&1
left=$(cd "$R" && find . \( -type f -o -type l \) -printf '%P\n')
[ -z "$left" ] && pass make_uninstall_removes_everything ||
    fail make_uninstall_removes_everything "left: $(echo "$left" | head -3 | tr '\n' ' ')"

finish
