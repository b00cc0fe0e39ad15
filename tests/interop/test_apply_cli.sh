#!/usr/bin/env bash
# test_apply_cli.sh — `patchcast apply` as a bspatch replacement: applies
# Debian bsdiff's patches and its own pcz ones, with and without --no-sync;
# a wrong --sha256 or --size leaves NEW absent; bad usage exits 2.
source "$(dirname "$0")/../lib.sh"

head -c 300000 /dev/urandom >"$TMP/old"
{ head -c 100000 "$TMP/old"; printf 'inserted bytes'; tail -c +100001 "$TMP/old" | head -c 150000; head -c 4000 /dev/urandom; } >"$TMP/new"
bsdiff "$TMP/old" "$TMP/new" "$TMP/p.bsdiff"
"$PCGEN" diff --format pcz "$TMP/old" "$TMP/new" "$TMP/p.pcz" >/dev/null
sha=$(sha256sum "$TMP/new" | cut -d' ' -f1)
size=$(stat -c %s "$TMP/new")

for p in bsdiff pcz; do
    for sync in "" --no-sync; do
        name=${p}_applies${sync:+_no_sync}
        rm -f "$TMP/out"
        if "$PC" apply $sync "$TMP/old" "$TMP/p.$p" "$TMP/out" && cmp -s "$TMP/out" "$TMP/new"; then
            pass "$name"
        else
            fail "$name" "result differs from NEW"
        fi
    done
done
check checked_result_accepted "$PC" apply --no-sync --sha256 "$sha" --size "$size" "$TMP/old" "$TMP/p.pcz" "$TMP/out2"

rm -f "$TMP/out3"
check_fails wrong_sha256_refused "differs|mismatch|SHA-256" "$PC" apply --sha256 "$(printf '0%.0s' $(seq 64))" "$TMP/old" "$TMP/p.bsdiff" "$TMP/out3"
check_fails wrong_size_refused "size|bytes" "$PC" apply --no-sync --size 12 "$TMP/old" "$TMP/p.pcz" "$TMP/out3"
if [ -e "$TMP/out3" ] || ls "$TMP"/out3.tmp-* >/dev/null 2>&1; then
    fail refused_result_leaves_nothing "NEW or its temporary file was left behind"
else
    pass refused_result_leaves_nothing
fi
"$PC" apply --sha256 "$(printf '0%.0s' $(seq 64))" "$TMP/old" "$TMP/p.bsdiff" "$TMP/out3" 2>/dev/null
rc=$?
[ "$rc" = 3 ] && pass wrong_sha256_exits_3 || fail wrong_sha256_exits_3 "exit $rc"
# pcz carries its result's hash in its header: refused before decoding, as
# a hash mismatch (exit 3) naming both hashes, not as a corrupt patch.
out=$("$PC" apply --sha256 "$(printf '0%.0s' $(seq 64))" "$TMP/old" "$TMP/p.pcz" "$TMP/out3" 2>&1)
rc=$?
[ "$rc" = 3 ] && echo "$out" | grep -q "expected 0000" && [ ! -e "$TMP/out3" ] && pass wrong_sha256_on_pcz_exits_3 ||
    fail wrong_sha256_on_pcz_exits_3 "exit $rc: $out"
check_fails missing_argument_is_usage "expected OLD PATCH NEW" "$PC" apply "$TMP/old" "$TMP/p.pcz"
if "$PC" apply --help | grep -q -- --no-sync; then pass help_names_no_sync; else fail help_names_no_sync "--help does not name --no-sync"; fi
finish
