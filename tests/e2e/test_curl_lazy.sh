#!/usr/bin/env bash
# test_curl_lazy.sh — libcurl is loaded at the first download, not at start:
# no binary or library of ours names it; commands that download nothing run
# without mapping it; an update loads it; a libcurl that cannot be loaded is
# a clear error that leaves the installed version alone.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/fixtures.sh"
cd "$TMP" || exit 1

for f in "$BUILD/patchcast" "$BUILD/libpatchcast.so"; do
    if readelf -d "$f" | grep NEEDED | grep -q libcurl; then
        fail "$(basename "$f")_does_not_link_libcurl" "readelf lists libcurl as NEEDED"
    else
        pass "$(basename "$f")_does_not_link_libcurl"
    fi
done

make_releases rel
"$PCGEN" keygen -W -p k.pub -s k.key >/dev/null
echo '{"product": "demo"}' >cfg.json
"$PCGEN" build -q rel -o site -s k.key --config cfg.json >/dev/null
"$PC" init --root r --repo "file://$TMP/site" -p k.pub >/dev/null

# Which shared objects a command maps: the dynamic linker's own trace.
maps_curl() { local t; t=$(LD_DEBUG=files "$@" 2>&1 >/dev/null); grep -q 'file=libcurl' <<<"$t"; }

if maps_curl "$PC" update --root r --to 1.1.0; then pass update_loads_libcurl
else fail update_loads_libcurl "no libcurl in LD_DEBUG=files of an update"; fi
same_tree rel/1.1.0/ r/current/ && pass update_installs || fail update_installs "tree differs from rel/1.1.0"

head -c 5000 /dev/urandom >old && { cat old; echo more; } >new
"$PCGEN" diff old new p.pcz >/dev/null
for cmd in "status --root r" "apply old p.pcz out" "sha256 old" "verify -p k.pub -m site/repo.json"; do
    name=$(echo "$cmd" | cut -d' ' -f1)_does_not_load_libcurl
    # shellcheck disable=SC2086
    if ! "$PC" $cmd >/dev/null 2>&1; then fail "$name" "patchcast $cmd failed"
    elif maps_curl "$PC" $cmd; then fail "$name" "libcurl mapped"
    else pass "$name"; fi
done

check_fails missing_libcurl_is_a_clear_error "cannot load libcurl \(/nonexistent/libcurl.so.4\)" \
    env PATCHCAST_LIBCURL=/nonexistent/libcurl.so.4 "$PC" update --root r --to 1.2.0
same_tree rel/1.1.0/ r/current/ && pass missing_libcurl_leaves_version_intact ||
    fail missing_libcurl_leaves_version_intact "current changed"
check_fails not_a_libcurl_is_a_clear_error "no curl_global_init" \
    env PATCHCAST_LIBCURL=libz.so.1 "$PC" update --root r --to 1.2.0
# A libcurl older than 7.85 would ignore the protocol restriction: refused.
cat >oldcurl.c <<'EOF'
/* Only the fields read, in curl_version_info_data's order (curl/curl.h). */
struct vi { int age; const char *version; unsigned version_num; };
static struct vi v = {10, "7.66.0", 0x074200};
struct vi *curl_version_info(int t) { (void)t; return &v; }
#define STUB(n) void n(void) {}
STUB(curl_global_init) STUB(curl_easy_init) STUB(curl_easy_setopt) STUB(curl_easy_getinfo)
STUB(curl_easy_perform) STUB(curl_easy_cleanup) STUB(curl_easy_strerror) STUB(curl_multi_init)
STUB(curl_multi_setopt) STUB(curl_multi_add_handle) STUB(curl_multi_remove_handle)
STUB(curl_multi_perform) STUB(curl_multi_poll) STUB(curl_multi_info_read) STUB(curl_multi_cleanup)
STUB(curl_multi_strerror)
EOF
if cc -shared -fPIC -o oldcurl.so oldcurl.c 2>cc.err; then
    check_fails old_libcurl_refused "libcurl 7.66.0 is too old: 7.85.0 or later" \
        env PATCHCAST_LIBCURL="$TMP/oldcurl.so" "$PC" update --root r --to 1.2.0
    same_tree rel/1.1.0/ r/current/ && pass old_libcurl_leaves_version_intact ||
        fail old_libcurl_leaves_version_intact "current changed"
else fail old_libcurl_refused "cc: $(cat cc.err)"; fi
check update_after_all_that "$PC" update --root r --to 1.2.0
finish
